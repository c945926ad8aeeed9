"""Where the embedder computes: the device (`--device auto|cpu|cuda|mps`), the CPU threads it may
use, and the batch size that suits the device. torch is imported only to resolve a device
other than "cpu"."""

from __future__ import annotations

import math
import os
from pathlib import Path

from criteria_nlp.errors import ModelError

DEVICES = ("auto", "cpu", "cuda", "mps")
GPU_BATCH_SIZE = 256  # texts per batch on a GPU: e5-small at 256 tokens fits easily, and keeps it busy
HALF_PRECISION_MIN_COSINE = 0.999  # half precision is kept on a GPU only when its vectors stay this close to fp32


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ModelError(f"unknown device '{device}': choose one of {', '.join(DEVICES)}")
    return device


def usable_cpus() -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota (a
    container limited to 2 CPUs on a 64-core host sees 64 in os.cpu_count())."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, quota)
    return max(1, count)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The cgroup's CPU quota rounded up (v2 `cpu.max`, else v1 `cpu.cfs_quota_us`), None when unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def torch_device(requested: str = "auto") -> str:
    """'cpu', 'cuda' or 'mps' for torch: auto takes a GPU when torch sees one; asking for a
    device torch cannot use is a clear error, not a silent fallback."""
    check_device(requested)
    if requested == "cpu":
        return "cpu"
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested == "cuda" and not cuda:
        raise ModelError("--device cuda: torch sees no CUDA GPU (a CPU-only torch build, or no driver); use --device auto or cpu")
    if requested == "mps" and not mps:
        raise ModelError("--device mps: this torch has no Apple MPS backend available; use --device auto or cpu")
    return requested


def onnx_providers(requested: str = "auto") -> list[str]:
    """ONNX Runtime execution providers for a device: CUDA when asked (or auto) and this
    onnxruntime build has it, always with the CPU provider behind."""
    check_device(requested)
    if requested == "cpu":
        return ["CPUExecutionProvider"]
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available and requested in ("auto", "cuda"):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if requested == "cuda":
        raise ModelError("--device cuda: this onnxruntime has no CUDA provider (install onnxruntime-gpu); use --device auto or cpu")
    if requested == "mps":
        raise ModelError("--device mps is for the torch backend (--embedder e5); ONNX Runtime runs on the CPU here")
    return ["CPUExecutionProvider"]


def set_torch_threads() -> int:
    """Let torch use every CPU this process may use (not the host's count, nor a constant)."""
    import torch

    threads = usable_cpus()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
