"""Settings checked before any work, and against the data as soon as it is read: a wrong
option costs seconds, not an embedding pass, and never ends in a traceback."""

from __future__ import annotations

from pathlib import Path

from criteria_nlp.config import DEFAULT_CODEBOOK, RunConfig
from criteria_nlp.errors import InputError
from criteria_nlp.io.outputs import RUN_OUTPUT_NAMES

MAX_SEED = 2**32 - 1  # numpy and scikit-learn take seeds in [0, 2**32 - 1]


MAX_TOP_K = 5


def check_settings(*, embedder: str | None = None, seed: int = 0, top_k: int = 1, n_clusters: int | None = None,
                   min_confidence: float | None = None, max_unassigned: float | None = None, shots: int = 0,
                   batch_size: int | None = None, device: str = "auto") -> None:
    """Options that are wrong whatever the data: one-line InputErrors."""
    if embedder is not None:
        from criteria_nlp.embed import EMBEDDERS

        if embedder not in EMBEDDERS:
            raise InputError(f"unknown embedder '{embedder}': choose one of {', '.join(EMBEDDERS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {seed!r}")
    if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise InputError(f"--top-k must be from 1 to {MAX_TOP_K}, not {top_k!r}")
    if n_clusters is not None and (not isinstance(n_clusters, int) or n_clusters < 1):
        raise InputError(f"--n-clusters must be a whole number of at least 1, not {n_clusters!r}")
    for option, value in (("--min-confidence", min_confidence), ("--max-unassigned", max_unassigned)):
        if value is not None and not (0.0 <= float(value) <= 1.0):
            raise InputError(f"{option} must be between 0 and 1, not {value!r}")
    if shots < 0:
        raise InputError(f"--shots must be 0 or more, not {shots!r}")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, not {batch_size!r}")
    from criteria_nlp.embed.device import DEVICES

    if device not in DEVICES:
        raise InputError(f"unknown device '{device}': choose one of {', '.join(DEVICES)}")


def check_config(config: RunConfig) -> None:
    check_settings(embedder=config.embedder, seed=config.seed, top_k=config.top_k, n_clusters=config.n_clusters,
                   min_confidence=config.min_confidence, max_unassigned=config.max_unassigned, shots=config.shots,
                   batch_size=config.batch_size, device=config.device)


def check_top_k(top_k: int, codebook) -> None:
    """--top-k cannot ask for more codes than the codebook can give."""
    codable = len(codebook.codable())
    if top_k > codable:
        raise InputError(f"--top-k {top_k} asks for more codes per answer than codebook '{codebook.name}' has ({codable} codable); "
                         f"use --top-k {codable} or less")


def check_n_clusters(n_clusters: int | None, n_answers: int) -> None:
    """--n-clusters cannot exceed the answers to group."""
    if n_clusters is not None and n_clusters > n_answers:
        raise InputError(f"--n-clusters {n_clusters} is more than the {n_answers} answer(s) to group; "
                         "give a smaller number or leave the option out (chosen automatically)")


def codebook_file(spec) -> Path | None:
    """The codebook's file, when it is one (not the shipped default)."""
    if spec is None or str(spec) == DEFAULT_CODEBOOK:
        return None
    path = Path(str(spec))
    return path if path.is_file() else None


def run_inputs(config: RunConfig) -> list[Path]:
    """The files a run reads, which none of its outputs may be."""
    library = getattr(config, "indicators", None)  # an indicator library file (--indicators)
    return [p for p in (Path(config.input), Path(config.train) if config.train else None, codebook_file(config.codebook),
                        Path(library) if library else None) if p is not None]


__all__ = ["RUN_OUTPUT_NAMES", "check_settings", "check_config", "check_top_k", "check_n_clusters", "run_inputs", "codebook_file"]
