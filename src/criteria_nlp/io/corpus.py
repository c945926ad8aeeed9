"""Reading answers tables (CSV/TSV in any common encoding, XLSX, JSONL) into a Corpus.

Every value is read as text, exactly as written: "NA", "0012", " 12 " or "=1+1" stay what
they are (only header names are trimmed). Problems with the file become one-line InputErrors
that say how to fix them; what was repaired on the way (NUL bytes dropped, lines in another
encoding, merged cells, uncomputed formulas...) is listed in ``Corpus.read_info["warnings"]``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from criteria_nlp.errors import InputError
from criteria_nlp.i18n import _
from criteria_nlp.io.tables import dedupe_columns, read_table

# Columns the pipeline writes; input columns with these names are kept as input_<name>.
OUTPUT_COLUMNS = (
    "id", "text", "language", "language_source", "status", "code", "code_label", "code_proposed", "code_source",
    "confidence", "cluster", "cluster_source", "valence", "indicator_id", "city", "group", "question",
    "duplicate_of", "language_confidence", "analyst", "review_status",
)


# The 2nd..k-th codes of --top-k (code_2, code_label_2, confidence_2...) are written too.
RANKED_OUTPUT_COLUMN = re.compile(r"(code|code_label|confidence)_\d+")


def is_output_column(name: str) -> bool:
    """A column name the pipeline writes: an input column with it is kept as input_<name>."""
    return name in OUTPUT_COLUMNS or RANKED_OUTPUT_COLUMN.fullmatch(name) is not None


ROLES = ("text", "id", "language", "city", "group", "question")


@dataclass(frozen=True)
class ColumnMap:
    """Which input column plays which role. None means absent (optional roles)."""

    text: str = "text"
    id: str | None = "id"
    language: str | None = None
    city: str | None = None
    group: str | None = None
    question: str | None = None

    def roles(self) -> dict[str, str]:
        """Canonical role -> input column, for the roles that are mapped."""
        return {role: col for role, col in vars(self).items() if col is not None}


@dataclass
class Corpus:
    """The answers of one input file, ready for the pipeline.

    `answers` has one row per non-empty answer with canonical columns `id`, `text` and,
    when mapped, `language`, `city`, `group`, `question`, then the input's other columns.
    `skipped` holds the rows that were not answers (with a `reason`).
    """

    answers: pd.DataFrame
    skipped: pd.DataFrame
    columns: ColumnMap
    extra_columns: list[str]
    source: Path
    checksum: str
    n_rows: int
    read_info: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return self.answers["text"].tolist()

    @property
    def warnings(self) -> list[str]:
        return list(self.read_info.get("warnings", []))

    def summary(self) -> dict:
        return {
            "input_rows": self.n_rows,
            "answers": len(self.answers),
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped["reason"].value_counts().to_dict() if len(self.skipped) else {},
        }


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _short(name: str, width: int = 40) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def shown_names(names, most: int = 12) -> str:
    """Column names for a message: each cut to 40 characters, at most `most` of them; a
    header of many columns is only counted (a file without line ends has a header made of
    answers, and answer text never appears in a message)."""
    names = list(names)
    if len(names) > 2 * most:
        return f"{len(names)} columns (is the first line really a header? check the separator and the line ends)"
    shown = ", ".join(repr(_short(c)) for c in names[:most])
    return shown + (f", ... ({len(names) - most} more)" if len(names) > most else "")


def resolve_columns(
    found: list[str],
    *,
    text_col: str = "text",
    id_col: str | None = None,
    lang_col: str | None = None,
    city_col: str | None = None,
    group_col: str | None = None,
    question_col: str | None = None,
    source: str = "input",
) -> ColumnMap:
    """Check the requested columns against the file's. Roles left unset fall back to the
    column of the same name (id, language, city, group, question) when the file has one."""
    listing = shown_names(found)

    def require(option: str, column: str) -> str:
        if column not in found:
            close = [c for c in found if c.casefold() == column.strip().casefold()]
            if close:
                raise InputError(_("%(source)s: no column '%(column)s' (%(option)s); did you mean '%(close)s'? columns found: %(listing)s")
                                 % {"source": source, "column": column, "option": option, "close": _short(close[0]), "listing": listing})
            raise InputError(_("%(source)s: no column '%(column)s' (%(option)s); columns found: %(listing)s")
                             % {"source": source, "column": column, "option": option, "listing": listing})
        return column

    def optional(option: str, column: str | None, default: str) -> str | None:
        if column:
            return require(option, column)
        return default if default in found else None

    return ColumnMap(
        text=require("--text-col", text_col),
        id=optional("--id-col", id_col, "id"),
        language=optional("--lang-col", lang_col, "language"),
        city=optional("--city-col", city_col, "city"),
        group=optional("--group-col", group_col, "group"),
        question=optional("--question-col", question_col, "question"),
    )


def read_answers(
    path: str | Path,
    *,
    text_col: str = "text",
    id_col: str | None = None,
    lang_col: str | None = None,
    city_col: str | None = None,
    group_col: str | None = None,
    question_col: str | None = None,
    sheet: str | int | None = None,
) -> Corpus:
    """Read an answers table into a Corpus (see the module docstring for what is accepted)."""
    path = Path(path)
    frame, info = read_table(path, sheet=sheet, text_col=text_col)
    return corpus_from_table(frame, path, info, text_col=text_col, id_col=id_col, lang_col=lang_col, city_col=city_col,
                             group_col=group_col, question_col=question_col)


def corpus_from_frame(frame: pd.DataFrame, *, text_col: str = "text", id_col: str | None = None, lang_col: str | None = None,
                      city_col: str | None = None, group_col: str | None = None, question_col: str | None = None,
                      name: str = "DataFrame") -> Corpus:
    """A Corpus from a table already in memory (a notebook's DataFrame), checked and resolved
    exactly as a file is: every value as text (missing values empty), the same column options.
    Its checksum is that of the table's values, so the manifest can still name what was coded."""
    import hashlib

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of answers, got {type(frame).__name__}")
    table = frame.copy()
    table.columns = [str(c) for c in table.columns]
    table = table.astype(object).where(table.notna(), "").astype(str).reset_index(drop=True)
    digest = hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()
    return corpus_from_table(table, Path(name), {"sha256": digest, "format": "dataframe"}, text_col=text_col, id_col=id_col,
                             lang_col=lang_col, city_col=city_col, group_col=group_col, question_col=question_col)


def corpus_from_table(frame: pd.DataFrame, path: Path, info: dict, *, text_col: str = "text", id_col: str | None = None,
                      lang_col: str | None = None, city_col: str | None = None, group_col: str | None = None,
                      question_col: str | None = None) -> Corpus:
    """The Corpus of a table read from `path` (`info`: what the reader noted)."""
    checksum = info.pop("sha256", None)
    info.setdefault("warnings", [])
    if frame.shape[1] == 0:
        raise InputError(_("%(file)s: the file is empty; it needs a header row and at least one answer") % {"file": path.name})
    requested = {
        "--text-col": text_col, "--id-col": id_col or "id", "--lang-col": lang_col or "language",
        "--city-col": city_col or "city", "--group-col": group_col or "group", "--question-col": question_col or "question",
    }
    names, notes = dedupe_columns([str(c) for c in frame.columns], set(requested.values()), path.name)
    frame.columns = names
    info["warnings"] += notes
    columns = resolve_columns(
        names, text_col=text_col, id_col=id_col, lang_col=lang_col,
        city_col=city_col, group_col=group_col, question_col=question_col,
        source=path.name if "sheet" not in info else f"{path.name} (sheet '{info['sheet']}')",
    )
    _refuse_uncomputed(info, columns, path.name)
    n_rows = len(frame)
    if n_rows == 0:
        raise InputError(_("%(file)s: the file has a header but no rows; add answers below the header") % {"file": path.name})

    canonical = pd.DataFrame(index=frame.index)
    if columns.id is None:
        # Row numbers as in a spreadsheet's data rows, so ids are stable across re-runs.
        canonical["id"] = [f"row-{i + 1}" for i in range(n_rows)]
    else:
        canonical["id"] = frame[columns.id].astype(str)  # exactly as written: ids are join keys
    canonical["text"] = frame[columns.text].astype(str)
    for role in ("language", "city", "group", "question"):
        column = getattr(columns, role)
        if column is not None:
            canonical[role] = frame[column].astype(str).str.strip()

    mapped = set(columns.roles().values())
    extras = [c for c in frame.columns if c not in mapped]
    extra_names = []
    for column in extras:
        name = column
        while is_output_column(name) or name in canonical.columns:
            name = f"input_{name}"
        canonical[name] = frame[column].astype(str)
        extra_names.append(name)

    _check_ids(canonical, path.name, columns.id)
    empty = canonical["text"].str.strip() == ""
    skipped = canonical.loc[empty, ["id", "text"]].assign(reason="empty answer")
    answers = canonical.loc[~empty].reset_index(drop=True)
    if answers.empty:
        raise InputError(_("%(file)s: no non-empty answer in column '%(column)s'; check --text-col") % {"file": path.name, "column": columns.text})
    return Corpus(
        answers=answers,
        skipped=skipped.reset_index(drop=True),
        columns=columns,
        extra_columns=extra_names,
        source=path,
        checksum=checksum or file_checksum(path),
        n_rows=n_rows,
        read_info=info,
    )


def _refuse_uncomputed(info: dict, columns: ColumnMap, name: str) -> None:
    formulas = info.get("uncomputed_formulas") or {}
    for role, column in columns.roles().items():
        if formulas.get(column):
            raise InputError(
                f"{name}: column '{column}' ({role}) holds {formulas[column]} formula(s) that were never computed; "
                "open and save the file in Excel or LibreOffice (or paste the values) and try again"
            )


def _check_ids(frame: pd.DataFrame, name: str, id_column: str | None) -> None:
    ids = frame["id"]
    blank = ids.str.strip() == ""
    if blank.any():
        position = int(blank.to_numpy().argmax()) + 1
        raise InputError(f"{name}: empty id in column '{id_column}' (data row {position}); every answer needs an id (or omit --id-col to number rows)")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(duplicated))[:5])
        raise InputError(f"{name}: duplicate ids in column '{id_column}' ({shown}); ids must be unique")
