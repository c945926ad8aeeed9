"""The package's layout holds: stages never import the pipeline or the CLI, the layers of
pyproject.toml's import contract hold, and no two sibling modules import each other."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contract_is_kept(monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(ROOT)
    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def test_importing_the_package_loads_no_heavy_library():
    """`criteria-nlp --help` stays instant: the CLI's import pulls in neither torch, spaCy,
    pandas nor scikit-learn."""
    import subprocess
    import sys

    code = ("import sys, criteria_nlp.cli; heavy = [m for m in ('torch', 'spacy', 'pandas', 'sklearn', "
            "'sentence_transformers') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
