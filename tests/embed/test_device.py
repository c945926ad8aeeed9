"""--device: auto/cpu/cuda/mps resolution, CPU threads that follow the machine, half precision
only when it agrees with fp32, and the same cache key on every device. GPU tests skip without one."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from criteria_nlp.embed import E5Embedder, get_embedder
from criteria_nlp.embed.device import (
    GPU_BATCH_SIZE,
    cgroup_cpu_limit,
    onnx_providers,
    torch_device,
    usable_cpus,
)
from criteria_nlp.errors import CriteriaNLPError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


needs_cuda = pytest.mark.skipif(not _cuda(), reason="no CUDA GPU visible to torch")


def test_usable_cpus_follow_the_affinity_mask():
    assert 1 <= usable_cpus() <= len(os.sched_getaffinity(0))


def test_cgroup_quota_is_read_from_v2_and_v1_files(tmp_path):
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 3
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_cpu_limit(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cpu_needs_no_torch_and_unknown_devices_are_named_errors(tmp_path):
    code = ("import sys\nfrom criteria_nlp.embed.device import torch_device, onnx_providers\n"
            "assert torch_device('cpu') == 'cpu' and onnx_providers('cpu') == ['CPUExecutionProvider']\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 0, done.stderr
    with pytest.raises(CriteriaNLPError, match="unknown device 'gpu'"):
        get_embedder("e5", cache_dir=tmp_path, device="gpu")


@pytest.mark.skipif(_cuda(), reason="a CUDA GPU is visible")
def test_asking_for_a_missing_gpu_is_a_clear_error_and_auto_falls_back_to_the_cpu():
    assert torch_device("auto") in ("cpu", "mps")
    with pytest.raises(CriteriaNLPError, match="--device cuda"):
        torch_device("cuda")
    with pytest.raises(CriteriaNLPError, match="--device cuda"):
        onnx_providers("cuda")


def test_the_cache_key_does_not_name_the_device(tmp_path):
    ids = {get_embedder(name, cache_dir=tmp_path, device=device).model_id
           for name in ("e5",) for device in ("auto", "cpu", "cuda", "mps")}
    assert len(ids) == 1
    assert E5Embedder(device="cpu").batch_size == 16 and E5Embedder(device="cpu", batch_size=4).batch_size == 4


class _FakeModel:
    """Stands in for a SentenceTransformer on a GPU: `half()` adds `noise` to its vectors."""

    def __init__(self, noise: float):
        self.noise, self.is_half = noise, False

    def encode(self, texts, **kwargs):
        rng = np.random.default_rng(len(texts))
        base = rng.normal(size=(len(texts), 8))
        if self.is_half:
            base = base + self.noise * rng.normal(size=base.shape)
        return base / np.linalg.norm(base, axis=1, keepdims=True)

    def half(self):
        self.is_half = True

    def float(self):
        self.is_half = False


@pytest.mark.parametrize("noise, precision", [(1e-4, "fp16"), (0.2, "fp32")])
def test_half_precision_is_kept_only_when_it_agrees_with_fp32(noise, precision):
    embedder = E5Embedder(device="cpu")
    model = _FakeModel(noise)
    first = embedder._choose_precision(model, ["a", "b", "c"])
    assert embedder.precision == precision and model.is_half == (precision == "fp16")
    assert embedder.half_min_cosine is not None
    np.testing.assert_allclose(first, _FakeModel(0).encode(["a", "b", "c"]))  # the first batch is fp32


@needs_cuda
@pytest.mark.slow
def test_gpu_vectors_agree_with_cpu_ones(e5_embedder):
    texts = ["avoir un logement décent", "een fatsoenlijke woning hebben", "pas assez de bus le soir " * 20]
    gpu = E5Embedder(cache_dir=e5_embedder.cache_dir, device="cuda")
    assert gpu.batch_size == GPU_BATCH_SIZE and gpu.model_id == e5_embedder.model_id
    cosines = (gpu.embed(texts * 20) * e5_embedder.embed(texts * 20)).sum(axis=1)
    assert cosines.min() >= 0.999


@pytest.mark.skipif(_cuda(), reason="a CUDA GPU is visible")
def test_onnx_on_a_missing_gpu_fails_before_exporting_anything(tmp_path):
    from criteria_nlp.embed import OnnxE5Embedder

    pytest.importorskip("onnxruntime")
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA provider")
    with pytest.raises(CriteriaNLPError, match="no CUDA provider"):
        OnnxE5Embedder(cache_dir=tmp_path, device="cuda").load()
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
