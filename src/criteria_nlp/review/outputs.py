"""The review outputs of a run: indicators.csv, review.xlsx (+ its snapshot), codebook.qdc,
project.qdpx and decisions_report.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from criteria_nlp.codebook.refiqda import qdpx_bytes, write_qdc
from criteria_nlp.i18n import localiser
from criteria_nlp.io.outputs import write_bytes_atomic, write_csv_atomic
from criteria_nlp.processes import CHILD_START_ERRORS, child_process, result_or_here
from criteria_nlp.review.apply import review_tables, write_decisions_report
from criteria_nlp.review.workbook import build_review_workbook, save_snapshot


def write_review_outputs(outdir: Path, answers: pd.DataFrame, indicators: pd.DataFrame, clusters: pd.DataFrame,
                         codebook, decisions, decision_report: list[dict], codes: pd.DataFrame | None = None,
                         extra_sheets: dict[str, pd.DataFrame] | None = None, language: str = "en") -> dict:
    """Write the files (review.xlsx in `language`); return what the manifest says about the review."""
    write_csv_atomic(outdir / "indicators.csv", indicators)
    groups, review_answers, qda_answers = review_tables(answers, clusters, indicators, decisions, localiser(language))
    qdpx = ProjectInBackground.start(qda_answers, codebook, groups)
    try:
        snapshot = build_review_workbook(outdir / "review.xlsx", groups=groups, answers=review_answers,
                                         indicators=indicators, codebook=codebook, state=decisions, code_descriptions=codes,
                                         extra_sheets=extra_sheets, language=language)
        save_snapshot(outdir, snapshot)
        write_qdc(codebook, outdir / "codebook.qdc")
        write_bytes_atomic(outdir / "project.qdpx", qdpx.result() if qdpx is not None else qdpx_bytes(qda_answers, codebook, groups))
    finally:
        if qdpx is not None:
            qdpx.close()
    report = write_decisions_report(outdir, decision_report)
    return {
        "workbook_id": snapshot["workbook_id"],
        "language": snapshot["language"],
        "decisions_recorded": len(decisions.records),
        "decisions_report": report["status"].value_counts().to_dict() if len(report) else {},
        "indicators": int(len(indicators)),
    }


# Answers from which the REFI-QDA project is built in a second process while this one writes
# the workbook: each takes about 20 s at 100,000 answers, on one core; below, starting a
# process (about 1 s of CPU) would cost more than it hides.
PROJECT_IN_BACKGROUND_FROM = 20_000


class ProjectInBackground:
    """`qdpx_bytes` in a second process; `result()` waits for it, and builds the project here
    when the process could not start or died: the same bytes either way."""

    def __init__(self, answers: pd.DataFrame, codebook, groups: pd.DataFrame):
        self._inline = (answers, codebook, groups)
        self._pool = child_process()
        self._future = self._pool.submit(qdpx_bytes, answers, codebook, groups)

    @classmethod
    def start(cls, answers: pd.DataFrame, codebook, groups: pd.DataFrame) -> "ProjectInBackground | None":
        if len(answers) < PROJECT_IN_BACKGROUND_FROM:
            return None
        try:
            return cls(answers, codebook, groups)
        except CHILD_START_ERRORS:
            return None

    def result(self) -> bytes:
        try:
            return result_or_here(self._future, lambda: qdpx_bytes(*self._inline))
        finally:
            self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
