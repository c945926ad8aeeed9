"""The content cache of small results: persistent, namespaced, bounded, clear errors."""

import pytest

from criteria_nlp.errors import OutputError
from criteria_nlp.io.content_cache import ContentCache
from criteria_nlp.io.paths import analyses_dir, clear_cache, embeddings_dir


def test_values_survive_a_new_process_and_namespaces_do_not_mix(tmp_path):
    cache = ContentCache(tmp_path, "language:v1")
    cache.put_many([("la santé", b"\x01\x02"), ("le travail", b"")])
    cache.close()
    again = ContentCache(tmp_path, "language:v1")
    assert again.get_many(["le travail", "la santé", "absent"]) == {"la santé": b"\x01\x02", "le travail": b""}
    assert len(again) == 2
    other = ContentCache(tmp_path, "language:v2")
    assert other.get_many(["la santé"]) == {} and other.path != again.path


def test_the_oldest_entries_go_first_past_the_bound(tmp_path):
    cache = ContentCache(tmp_path, "ns", max_entries=10)
    for i in range(25):
        cache.put_many([(f"text {i}", str(i).encode())])
    assert len(cache) <= 10
    kept = cache.get_many([f"text {i}" for i in range(25)])
    assert "text 24" in kept and "text 0" not in kept
    # Rewriting an old entry makes it recent again.
    cache.put_many([("text 0", b"0")])
    cache.put_many([(f"new {i}", b"x") for i in range(5)])
    assert "text 0" in cache.get_many(["text 0"])


def test_a_damaged_file_is_a_named_error(tmp_path):
    cache = ContentCache(tmp_path, "ns")
    cache.close()
    cache.path.write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        cache.path.with_name(cache.path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(OutputError, match="cache clear"):
        ContentCache(tmp_path, "ns").get_many(["x"])


def test_clear_cache_empties_vectors_and_analyses_but_keeps_models(tmp_path):
    ContentCache(analyses_dir(tmp_path), "ns").put_many([("a", b"1")])
    (embeddings_dir(tmp_path) / "x.sqlite").write_bytes(b"")
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "keep.bin").write_bytes(b"1")
    removed = clear_cache(tmp_path, ("analyses",))
    assert removed["analyses"] >= 1 and list(embeddings_dir(tmp_path).iterdir())
    assert clear_cache(tmp_path) == {"embeddings": 1, "analyses": 0}
    assert (tmp_path / "models" / "keep.bin").exists()


def test_a_cache_that_cannot_be_written_is_skipped_not_fatal(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    # A file size limit (as when the disk fills up) makes sqlite fail to write: the store stops
    # writing, keeps what it had, and the caller goes on.
    code = (
        "import resource, sys\n"
        "from criteria_nlp.io.content_cache import ContentCache\n"
        "cache = ContentCache(sys.argv[1], 'ns')\n"
        "cache.put_many([('small', b'1')])\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "cache.put_many([(f'big {i}', b'x' * 2000) for i in range(50)])\n"
        "cache.put_many([('after', b'2')])\n"
        "assert cache.write_error, 'no write error recorded'\n"
        "assert cache.get_many(['small', 'after', 'big 0']) == {'small': b'1'}\n"
        "print('ok')\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
