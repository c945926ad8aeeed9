"""The review outputs of a run: indicators.csv, review.xlsx (+ its snapshot), codebook.qdc,
project.qdpx and decisions_report.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from criteria_nlp.codebook.refiqda import write_qdc, write_qdpx
from criteria_nlp.i18n import localiser
from criteria_nlp.io.outputs import write_csv_atomic
from criteria_nlp.review.apply import review_tables, write_decisions_report
from criteria_nlp.review.workbook import build_review_workbook, save_snapshot


def write_review_outputs(outdir: Path, answers: pd.DataFrame, indicators: pd.DataFrame, clusters: pd.DataFrame,
                         codebook, decisions, decision_report: list[dict], codes: pd.DataFrame | None = None,
                         extra_sheets: dict[str, pd.DataFrame] | None = None, language: str = "en") -> dict:
    """Write the files (review.xlsx in `language`); return what the manifest says about the review."""
    write_csv_atomic(outdir / "indicators.csv", indicators)
    groups, review_answers, qda_answers = review_tables(answers, clusters, indicators, decisions, localiser(language))
    snapshot = build_review_workbook(outdir / "review.xlsx", groups=groups, answers=review_answers,
                                     indicators=indicators, codebook=codebook, state=decisions, code_descriptions=codes,
                                     extra_sheets=extra_sheets, language=language)
    save_snapshot(outdir, snapshot)
    write_qdc(codebook, outdir / "codebook.qdc")
    write_qdpx(outdir / "project.qdpx", qda_answers, codebook, groups)
    report = write_decisions_report(outdir, decision_report)
    return {
        "workbook_id": snapshot["workbook_id"],
        "language": snapshot["language"],
        "decisions_recorded": len(decisions.records),
        "decisions_report": report["status"].value_counts().to_dict() if len(report) else {},
        "indicators": int(len(indicators)),
    }
