"""The example notebook runs from top to bottom on the demo corpus."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_notebook_runs(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # never the user's cache
    notebook = nbformat.read(ROOT / "notebooks" / "demo.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the cell's traceback, not nbclient's
        pytest.fail(f"the notebook failed: {exc}")
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("text", "")) for o in outputs)
    assert "new answers fit a criteria group of the model" in text
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
