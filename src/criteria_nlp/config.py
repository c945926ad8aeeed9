"""Every default of a run, defined once, and `RunConfig`, the settings of one run.

A leaf module: stages, the pipeline and the CLI import their defaults from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_CODEBOOK = "spiral"  # the shipped SPIRAL grid
DEFAULT_EMBEDDER = "e5"
DEFAULT_DEVICE = "auto"
DEFAULT_LANGUAGES = ("fr", "nl", "en", "de", "it", "pt", "el", "lv", "hu", "ro", "sv", "es", "ru")
DEFAULT_MIN_CONFIDENCE = 0.25  # below this calibrated confidence an assigner abstains
DEFAULT_MAX_UNASSIGNED = 0.10  # largest share of answers discovery may leave as outliers
DEFAULT_CORRECTION = "fdr_bh"  # multiple-testing correction of the comparison (Benjamini-Hochberg)
DEFAULT_ALPHA = 0.05
UNASSIGNED = -1  # the cluster id of answers in no criteria group (outliers, non-answers)


@dataclass
class RunConfig:
    input: Path
    outdir: Path
    text_col: str = "text"
    id_col: str | None = None
    lang_col: str | None = None
    city_col: str | None = None
    group_col: str | None = None
    question_col: str | None = None
    codebook: str = DEFAULT_CODEBOOK
    embedder: str = DEFAULT_EMBEDDER
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    n_clusters: int | None = None
    train: Path | None = None  # manually coded answers to learn from
    label_col: str = "code"  # the column of `train` holding the codes
    shots: int = 0  # > 0: use only this many coded answers per code as zero-shot examples
    top_k: int = 1  # > 1: also code_2... for answers carrying several criteria
    max_unassigned: float = DEFAULT_MAX_UNASSIGNED  # cap on the share of answers discovery leaves unassigned
    seed: int = 0
    cache_dir: Path | None = None
    show_progress: bool = True
    force: bool = False  # write into a non-empty folder that criteria-nlp did not write (--force)
    gold_col: str | None = None  # manual codes to evaluate against in the report
    correction: str = DEFAULT_CORRECTION  # multiple-testing correction of the comparison
    redact: bool = False  # mask e-mails, phones, URLs (and French names) before anything is written
    batch_size: int | None = None  # texts per embedding batch (None: the backend's default)
    indicators: str | None = None  # an indicator library file extending (or replacing) the shipped one
    analyst_language: str | None = None  # drafts written in this language (None: the answers' majority language)
    all_languages: bool = False  # also draft each group in every language of its answers
    device: str = DEFAULT_DEVICE  # where e5 embeds: auto (a GPU when torch sees one), cpu, cuda, mps
    use_cache: bool = True  # keep vectors, languages and lemma analyses in the cache folder (--no-cache: neither read nor write)

    def columns(self) -> dict:
        """The column options, as `read_answers` takes them."""
        return dict(text_col=self.text_col, id_col=self.id_col, lang_col=self.lang_col, city_col=self.city_col,
                    group_col=self.group_col, question_col=self.question_col)
