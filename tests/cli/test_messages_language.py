"""Terminal messages follow the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) unless the
command was given --analyst-language."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from criteria_nlp.cli import main
from criteria_nlp.i18n import MESSAGE_LANGUAGE, terminal_language

ROOT = Path(__file__).parents[2]


def plain(text: str) -> str:
    """French messages use non-breaking spaces before : ; ? and inside « »: compare their words."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
def locale_env(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_terminal_language_is_read_as_gettext_reads_it():
    assert terminal_language({"LANG": "fr_FR.UTF-8"}) == "fr"
    assert terminal_language({"LANG": "fr_FR.UTF-8", "LC_MESSAGES": "nl_BE.UTF-8"}) == "nl"
    assert terminal_language({"LANG": "fr_FR.UTF-8", "LC_ALL": "C"}) == "en"
    assert terminal_language({"LANGUAGE": "pt_PT:en", "LANG": "fr_FR.UTF-8"}) == "pt"
    assert terminal_language({}) == "en"


def test_a_missing_input_is_reported_in_french_with_a_french_locale(locale_env, tmp_path, capsys):
    locale_env.setenv("LANG", "fr_FR.UTF-8")
    code = main(["run", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"), "-q"])
    raw = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert raw.startswith("erreur\u00a0:")  # French typography: no line break before the colon
    assert plain(raw) == f"erreur : {tmp_path / 'absent.csv'} : fichier introuvable"


def test_usage_errors_and_missing_columns_speak_french_too(locale_env, tmp_path, capsys):
    locale_env.setenv("LC_ALL", "fr_BE.UTF-8")
    source = tmp_path / "answers.csv"
    source.write_text("id,text\n1,un logement abordable\n", encoding="utf-8")
    assert main(["run", str(source), "-o", str(tmp_path / "out"), "--text-col", "texte", "-q"]) == 2
    assert "erreur : answers.csv : pas de colonne « texte » (--text-col) ; colonnes présentes : 'id', 'text'" in plain(capsys.readouterr().err)
    assert main(["run", str(source), "-o", str(tmp_path / "out"), "--text-col", "Text", "-q"]) == 2
    assert "erreur : answers.csv : pas de colonne « Text » (--text-col) ; vouliez-vous dire « text » ?" in plain(capsys.readouterr().err)
    assert main(["run", "--bogus"]) == 2
    assert plain(capsys.readouterr().err).startswith("erreur : ")


def test_the_analyst_language_option_wins_over_the_locale(locale_env, tmp_path, capsys):
    locale_env.setenv("LANG", "fr_FR.UTF-8")
    assert main(["run", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"), "--analyst-language", "nl", "-q"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"fout: {tmp_path / 'absent.csv'}: bestand niet gevonden")
    # The choice lasts one command: the next one follows the locale again.
    assert MESSAGE_LANGUAGE.get() is None
    assert main(["run", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "fichier introuvable" in capsys.readouterr().err


def test_english_without_a_locale_and_an_unknown_language_is_refused(locale_env, tmp_path, capsys):
    assert main(["run", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert capsys.readouterr().err.strip().endswith("no such file")
    assert main(["run", str(tmp_path / "absent.csv"), "-o", str(tmp_path / "out"), "--analyst-language", "xx", "-q"]) == 2
    assert "error: --analyst-language 'xx' is not supported; choose one of: de, el, en" in capsys.readouterr().err


def test_the_installed_command_speaks_the_locale(tmp_path):
    """The console script as a user starts it, with LANG=fr_FR.UTF-8 (a real process: the
    catalogue is found in the package)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env.update(LANG="fr_FR.UTF-8", PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-m", "criteria_nlp.cli", "report", str(tmp_path / "nowhere")],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert plain(result.stderr).startswith("erreur : ") and "Traceback" not in result.stderr


def _answers_csv(tmp_path) -> Path:
    topics = ["logement trop cher", "bus en retard", "parc propre", "voisins aimables", "travail stable"]
    rows = [f"{i},{topic} {i % 3}" for i, topic in enumerate(topics * 8)]
    path = tmp_path / "answers.csv"
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_cluster_reports_its_groups_in_the_terminal_language(locale_env, tmp_path, capsys):
    source = _answers_csv(tmp_path)
    locale_env.setenv("LANG", "fr_FR.UTF-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "groups.csv"), "--embedder", "tfidf"]) == 0
    lines = plain(capsys.readouterr().err).strip().splitlines()
    assert lines[-2].startswith("groupes de critères : ") and "(nombre choisi automatiquement) ; réponses non regroupées : " in lines[-2]
    assert lines[-2].endswith(f"(maximum autorisé : 10 %) -> {tmp_path / 'groups.csv'}")
    # The graph diagnostic stays English, and says so.
    assert lines[-1].startswith("choix du nombre de groupes (détail technique, en anglais) : K=")
    assert main(["cluster", str(source), "-o", str(tmp_path / "three.csv"), "--embedder", "tfidf", "--n-clusters", "3"]) == 0
    last = plain(capsys.readouterr().err).strip().splitlines()[-1]
    assert last.startswith("groupes de critères : 3 (nombre demandé : 3) ; réponses non regroupées : ")


def test_cluster_speaks_english_without_a_locale(locale_env, tmp_path, capsys):
    source = _answers_csv(tmp_path)
    assert main(["cluster", str(source), "-o", str(tmp_path / "auto.csv"), "--embedder", "tfidf"]) == 0
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("how the number of groups was chosen (technical detail): K=")
    assert main(["cluster", str(source), "-o", str(tmp_path / "groups.csv"), "--embedder", "tfidf", "--n-clusters", "3"]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("criteria groups: 3 (number requested: 3); ungrouped answers: ")
    assert last.endswith(f"(maximum allowed: 10%) -> {tmp_path / 'groups.csv'}")
