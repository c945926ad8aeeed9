"""The run's one state object, passed from stage to stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

# The contract's leading columns of answers.csv; the input's other columns follow.
ANSWER_COLUMNS = ["id", "text", "language", "code", "code_label", "confidence", "cluster", "valence", "indicator_id"]


@dataclass(frozen=True)
class RunState:
    """All answers (one row per input answer), which of them are real answers to code (not
    non-answers), and those answers' vectors, aligned to them. Stages return new tables;
    `with_rows` and `with_answers` make the next state."""

    answers: pd.DataFrame
    coded: np.ndarray  # bool mask over `answers`
    vectors: np.ndarray | None = None

    @classmethod
    def from_answers(cls, answers: pd.DataFrame) -> "RunState":
        return cls(answers, (answers["status"] == "answer").to_numpy())

    @property
    def rows(self) -> pd.DataFrame:
        """The answers to code, in the order of `vectors`."""
        return self.answers.loc[self.coded]

    def with_answers(self, answers: pd.DataFrame) -> "RunState":
        return replace(self, answers=answers)

    def with_vectors(self, vectors: np.ndarray) -> "RunState":
        return replace(self, vectors=vectors)

    def with_rows(self, table: pd.DataFrame) -> "RunState":
        """`table`'s columns (one row per answer to code) added to all answers."""
        return self.with_answers(attach_rows(self.answers, self.coded, table))

    def with_row_values(self, column: str, values, fill) -> "RunState":
        """One column set for the answers to code, `fill` for the others."""
        answers = self.answers.copy()
        answers[column] = fill
        answers.loc[self.coded, column] = values
        return self.with_answers(answers)


def attach_rows(answers: pd.DataFrame, rows, table: pd.DataFrame) -> pd.DataFrame:
    """A copy of all answers with `table`'s columns (one row per selected answer) added; text
    columns of the unselected answers (non-answers) are empty, numeric ones missing."""
    answers = answers.copy()
    placed = table.set_axis(answers.index[np.asarray(rows, dtype=bool)]).reindex(answers.index)
    for column in table.columns:
        numeric = pd.api.types.is_numeric_dtype(table[column])
        answers[column] = placed[column] if numeric else placed[column].fillna("").astype(str)
    return answers


def answers_output(answers: pd.DataFrame, extra_columns: list[str]) -> pd.DataFrame:
    """answers.csv: contract columns first, then pipeline details, then the input's other
    columns (`extra_columns`) untouched."""
    details = [c for c in ("language_source", "status", "cluster_source", "city", "group", "question") if c in answers.columns]
    extra = [c for c in answers.columns if c not in extra_columns and c not in ANSWER_COLUMNS
             and (c in ("code_source", "code_proposed") or re.fullmatch(r"code_\d+|code_label_\d+", c))]
    extra += [c for c in answers.columns if re.fullmatch(r"confidence_\d+", c) and c not in extra_columns]
    ordered = ANSWER_COLUMNS + details + extra + list(extra_columns)
    table = answers[[c for c in ordered if c in answers.columns]].copy()
    table["confidence"] = pd.to_numeric(table["confidence"], errors="coerce").round(4)
    table["cluster"] = table["cluster"].astype(int)
    return table
