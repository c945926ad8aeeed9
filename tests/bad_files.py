"""The catalogue of bad inputs (tests/data/bad) and its generator, make_bad_files.py, loaded once
for the tests that drive the CLI on it (tests/io/test_bad_inputs.py, tests/test_robustness.py)."""

import importlib.util
from pathlib import Path

BAD = Path(__file__).resolve().parent / "data" / "bad"


def _generator():
    spec = importlib.util.spec_from_file_location("make_bad_files", BAD / "make_bad_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
