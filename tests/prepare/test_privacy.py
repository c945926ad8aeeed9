"""Privacy: --redact masks e-mail addresses, phone numbers, URLs (and names in French answers)
in every output; answer texts never reach the logs or the terminal."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.io.outputs import read_output_csv
from criteria_nlp.prepare.privacy import (
    pseudonym,
    redact_answers,
    redact_names,
    redact_patterns,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("écrivez à jean.dupont@example.fr svp", "écrivez à [email] svp"),
        ("mail: a.b+c@sub.example.co.uk.", "mail: [email]."),
        ("appelez le 06 12 34 56 78", "appelez le [phone]"),
        ("06.12.34.56.78 ou 0612345678", "[phone] ou [phone]"),
        ("+33 (0)6 12 34 56 78", "[phone]"),
        ("bel +32 470 12 34 56", "bel [phone]"),
        ("0032 470/12.34.56", "[phone]"),
        ("+44 20 7946 0958", "[phone]"),
        ("+30 210 1234567", "[phone]"),
        ("tel 020-123-4567", "tel [phone]"),
        ("+371 2123 4567", "[phone]"),
        ("voir https://www.ville.fr/aide?x=1, merci", "voir [url], merci"),
        ("sur www.example.org.", "sur [url]."),
        ("le groupe facebook.com/quartier", "le groupe [url]"),
    ],
)
def test_patterns_are_masked(text, expected):
    assert redact_patterns(text) == expected


@pytest.mark.parametrize(
    "text",
    ["né le 12/03/1985", "en 2019-2020 avec 3 enfants", "100 000 habitants", "de 9h à 17h", "3.5 km", "version 1.2.3", "l'été 2024 à 14:30", "Wi-Fi gratuit", ""],
)
def test_ordinary_numbers_and_words_are_kept(text):
    assert redact_patterns(text) == text


def test_french_person_names_are_masked_but_not_capitalised_verbs():
    texts = ["Je parle avec Marie Dupont le soir", "Parler avec Jean-Pierre le matin", "la solitude des personnes âgées"]
    masked, count = redact_names(texts, "fr")
    assert masked == ["Je parle avec [name] le soir", "Parler avec [name] le matin", "la solitude des personnes âgées"]
    assert count == 2


def test_long_answers_are_masked_whole():
    text = ("la paix " * 4000) + "Je parle avec Marie Dupont. " + ("la santé " * 4000)
    masked, count = redact_names([text], "fr")
    assert count == 1 and "Marie" not in masked[0] and masked[0].startswith("la paix ") and masked[0].endswith("la santé ")


def test_redact_answers_masks_every_text_column_and_pseudonymises_personal_ids():
    answers = pd.DataFrame({
        "id": ["p1", "marie@example.fr"],
        "text": ["Marie Dupont: marie@example.fr", "un logement, voir www.example.org"],
        "language": ["fr", "fr"],
        "contact": ["06 12 34 56 78", ""],
    })
    out, stats = redact_answers(answers)
    assert out["id"].tolist() == ["p1", pseudonym("marie@example.fr")]
    assert out["text"].tolist() == ["[name]: [email]", "un logement, voir [url]"]
    assert out["contact"].tolist() == ["[phone]", ""]
    assert stats == {"email": 1, "ids_pseudonymised": 1, "name": 1, "phone": 1, "url": 1}
    assert answers["text"][0].startswith("Marie")  # the input frame is untouched


PERSONAL = ["jean.dupont@example.fr", "06 12 34 56 78", "+32 470 12 34 56", "https://example.org/moi", "Marie Dupont", "Dupont"]
ROWS = [
    ("m1", "avoir un logement décent, écrivez-moi à jean.dupont@example.fr", "Mulhouse", "06 12 34 56 78"),
    ("m2", "parler avec Marie Dupont le soir", "Mulhouse", ""),
    ("m3", "trouver un travail, voir https://example.org/moi", "Mulhouse", ""),
    ("m4", "la solitude des personnes âgées", "Mulhouse", ""),
    ("b1", "een betaalbare woning, bel +32 470 12 34 56", "Mechelen", ""),
    ("b2", "werk vinden in de buurt", "Mechelen", ""),
    ("b3", "eenzaamheid bij ouderen", "Mechelen", ""),
]


@pytest.fixture()
def personal_input(tmp_path) -> Path:
    path = tmp_path / "answers.csv"
    pd.DataFrame(ROWS, columns=["id", "text", "city", "phone"]).to_csv(path, index=False)
    return path


def _all_output_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))


def test_run_with_redact_leaves_no_personal_data_in_any_output(personal_input, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(personal_input), "-o", str(out), "--embedder", "tfidf", "--redact", "-q"]) == 0
    written = _all_output_text(out)
    for value in PERSONAL:
        assert value not in written, value
    table = read_output_csv(out / "answers.csv").set_index("id")
    assert table.loc["m1", "text"] == "avoir un logement décent, écrivez-moi à [email]"
    assert table.loc["m1", "phone"] == "[phone]"
    assert table.loc["m2", "text"] == "parler avec [name] le soir"
    assert table.loc["b1", "text"] == "een betaalbare woning, bel [phone]"


@pytest.mark.parametrize("command", ["assign", "cluster"])
def test_single_stage_commands_redact_too(personal_input, tmp_path, command):
    output = tmp_path / "out.csv"
    assert main([command, str(personal_input), "-o", str(output), "--embedder", "tfidf", "--redact", "-q"]) == 0
    written = output.read_text(encoding="utf-8")
    assert not any(value in written for value in PERSONAL)


def test_without_redact_answers_are_kept_as_written(personal_input, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(personal_input), "-o", str(out), "--embedder", "tfidf", "-q"]) == 0
    assert read_output_csv(out / "answers.csv")["text"].tolist() == [row[1] for row in ROWS]


def test_answer_texts_never_reach_logs_or_terminal(personal_input, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    assert main(["run", str(personal_input), "-o", str(tmp_path / "out"), "--embedder", "tfidf"]) == 0
    captured = capsys.readouterr()
    shown = captured.out + captured.err + "\n".join(record.getMessage() for record in caplog.records)
    assert "answers" in captured.err  # the summary line is there...
    for _, text, _, _ in ROWS:
        assert text not in shown  # ...but no answer
    for value in PERSONAL:
        assert value not in shown


@pytest.mark.parametrize(
    "content",
    [
        b'id,text\r\nm1,"la solitude des personnes\r\n',  # unclosed quote
        b"id,text,city\r\nm1,la solitude, des personnes,Mulhouse\r\n",  # ragged row
        "id,text\r\nm1,la solitude des personnes\r\nm1,la solitude des personnes\r\n".encode(),  # duplicate ids
        "id;text\n1;la solitude des personnes\n2;caf\xe9 cr\xe8me la solitude des personnes\n".encode("latin-1"),
    ],
)
def test_error_and_warning_messages_never_quote_answers(tmp_path, capsys, content):
    path = tmp_path / "answers.csv"
    path.write_bytes(content)
    main(["run", str(path), "-o", str(tmp_path / "out"), "--embedder", "tfidf"])
    captured = capsys.readouterr()
    assert "solitude" not in captured.out + captured.err
