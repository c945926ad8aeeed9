"""The documentation site builds with warnings as errors (broken links, missing pages,
docstrings mkdocstrings cannot render) and covers what the README promises."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_build_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                             "--site-dir", str(tmp_path / "site")], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert "Code new answers with the fitted model" in reference  # Synthesis.transform's docstring
    for page in ("getting-started", "python", "cli", "tasks/spiral", "tasks/learn", "tasks/review", "tasks/compare",
                 "tasks/evaluate"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    # No request to a font or script host from the built pages.
    assert "fonts.googleapis" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_the_readme_links_the_docs_and_shows_python():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mkdocs build" in readme and "docs/" in readme
    assert "from criteria_nlp import Synthesis" in readme
