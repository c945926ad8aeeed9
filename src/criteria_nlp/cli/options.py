"""The command-line contract's shared options, and the one way commands write to stderr."""

from __future__ import annotations

import typer

from criteria_nlp.config import (
    DEFAULT_CODEBOOK,
    DEFAULT_CORRECTION,
    DEFAULT_DEVICE,
    DEFAULT_EMBEDDER,
    DEFAULT_MAX_UNASSIGNED,
)

# Shared options (the command-line contract).
TextCol = typer.Option("text", "--text-col", help="Column holding the answers.")


IdCol = typer.Option(None, "--id-col", help="Column holding unique answer ids (default: 'id' when present, else row numbers).")


LangCol = typer.Option(None, "--lang-col", help="Column holding the language (default: 'language' when present, else detected).")


CityCol = typer.Option(None, "--city-col", help="Column holding the city (default: 'city' when present).")


GroupCol = typer.Option(None, "--group-col", help="Column holding the citizen group (default: 'group' when present).")


QuestionCol = typer.Option(None, "--question-col", help="Column holding the question answered (default: 'question' when present).")


CodebookOpt = typer.Option(DEFAULT_CODEBOOK, "--codebook", "-c", help="'spiral' (shipped default) or a .yaml/.csv/.qdc codebook file.")


EmbedderOpt = typer.Option(DEFAULT_EMBEDDER, "--embedder", help="Embedding backend: e5 (multilingual-e5-small, offline), e5-onnx (same model on ONNX Runtime, int8: faster), e5-onnx-fp32, static (distilled from e5 once: fastest, for millions of answers, lower quality) or tfidf (no model).")


SeedOpt = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Random seed (0 to 4294967295): the same seed gives the same result.")


CacheOpt = typer.Option(None, "--cache-dir", envvar="CRITERIA_NLP_CACHE_DIR", help="Cache folder for the converted models, embeddings and text analyses (default: the user cache directory; `criteria-nlp cache clear` empties it).")


DeviceOpt = typer.Option(DEFAULT_DEVICE, "--device", help="Where e5 embeds: auto (a GPU when torch sees one, else the CPU), cpu, cuda or mps (Apple). Vectors agree across devices: the cache serves them all.")


NoCacheOpt = typer.Option(False, "--no-cache", help="Neither read nor write the cache of vectors, languages and lemma analyses (recompute everything).")


QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")


GoldColOpt = typer.Option(None, "--gold-col", help="Column of manual codes: the report evaluates the codes against it (e.g. manual_code).")


CorrectionOpt = typer.Option(DEFAULT_CORRECTION, "--correction", help="Multiple-testing correction for distinctive criteria: fdr_bh (Benjamini-Hochberg, default) or holm.")


RedactOpt = typer.Option(False, "--redact", help="Mask e-mail addresses, phone numbers, URLs (and names in French answers) in every output.")


BatchOpt = typer.Option(None, "--batch-size", min=1, help="Texts per embedding batch (default: the backend's; smaller uses less memory).")


TrainOpt = typer.Option(None, "--train", help="Answers already coded by analysts (same formats as INPUT): learn the assignment from them.")


LabelColOpt = typer.Option("code", "--label-col", help="Column of --train holding the manual codes.")


ShotsOpt = typer.Option(0, "--shots", min=0, help="With --train: use only this many coded answers per code, as examples for zero-shot assignment.")


TopKOpt = typer.Option(1, "--top-k", min=1, max=5, help="Also give the 2nd..k-th code (code_2, confidence_2...) for answers carrying several criteria.")


MaxUnassignedOpt = typer.Option(DEFAULT_MAX_UNASSIGNED, "--max-unassigned", min=0.0, max=1.0, help="Largest share of answers discovery may leave unassigned as outliers (0 = assign all).")


ForceOpt = typer.Option(False, "--force", help="Write into a non-empty folder that criteria-nlp did not write (same-named files are replaced).")


def echo_err(message: str) -> None:
    typer.echo(message, err=True)
IndicatorsOpt = typer.Option(None, "--indicators", help="Indicator library: a .yaml file extending the shipped one (or replacing it with 'replace: true'), or a library folder.")
AnalystLanguageOpt = typer.Option(None, "--analyst-language", help="Language of the draft indicators, the report, the review workbook and the messages (fr, nl, en, it, pt, el, lv, sv, ru, de, es; default: the answers' majority language; messages: the terminal's locale).")


def speak(language: str | None) -> None:
    """Terminal messages in `language` (--analyst-language) from now on, instead of the locale's."""
    from criteria_nlp.i18n import MESSAGE_LANGUAGE, check_language

    if language:
        MESSAGE_LANGUAGE.set(check_language(language))
AllLanguagesOpt = typer.Option(False, "--all-languages", help="Also draft each group in every language of its answers.")
ModelOpt = typer.Option(None, "--model", help="A synthesis saved with --save-model (or Synthesis.save): code the answers with it, nothing refitted.")
