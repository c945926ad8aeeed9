"""Derived model folders (ONNX export, static model): built once, checked, rebuilt when damaged."""

import json

import pytest

from criteria_nlp.embed.derived import derived_problems, ensure_derived
from criteria_nlp.embed.e5_convert import MANIFEST
from criteria_nlp.errors import ModelError

EXPECTED = {"format": 1, "source": "e5-folder"}
REQUIRED = ("weights.bin", "tokenizer.json")


class Builder:
    """A fake build step that counts its calls."""

    def __init__(self, fail: bool = False):
        self.calls = 0
        self.fail = fail

    def __call__(self, folder):
        self.calls += 1
        if self.fail:
            raise RuntimeError("out of memory")
        (folder / "weights.bin").write_bytes(bytes(range(256)) * 1000)
        (folder / "tokenizer.json").write_text('{"vocab": ["a", "b"]}', encoding="utf-8")
        return {"tokens": 2}


def build(dest, builder, expected=EXPECTED):
    return ensure_derived(dest, expected=expected, required=REQUIRED, build=builder, what="test model")


def test_builds_once_with_a_manifest_then_reuses(tmp_path):
    builder = Builder()
    dest = build(tmp_path / "derived", builder)
    assert builder.calls == 1 and (dest / "weights.bin").is_file()
    manifest = json.loads((dest / MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["source"] == "e5-folder" and manifest["tokens"] == 2
    assert set(manifest["files"]) == {"weights.bin", "tokenizer.json"}
    assert derived_problems(dest, EXPECTED, REQUIRED) == []
    build(dest, builder)
    assert builder.calls == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_damaged_or_stale_folder_is_rebuilt(tmp_path):
    builder = Builder()
    dest = build(tmp_path / "derived", builder)
    with open(dest / "weights.bin", "r+b") as f:
        f.truncate(100)
    assert any("weights.bin" in p for p in derived_problems(dest, EXPECTED, REQUIRED))
    build(dest, builder)
    assert builder.calls == 2 and (dest / "weights.bin").stat().st_size == 256_000
    # Built from another source (e.g. a new e5 conversion): rebuilt too.
    build(dest, builder, expected={**EXPECTED, "source": "e5-folder-v2"})
    assert builder.calls == 3


def test_a_failed_build_is_a_model_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ModelError, match=r"^building the test model in .* failed \(out of memory\)"):
        build(tmp_path / "derived", Builder(fail=True))
    assert [p.name for p in tmp_path.iterdir()] == ["derived.lock"]
