"""The review workbook (review.xlsx): groups, answers, draft indicators and the codebook,
with dropdowns for decisions, and the snapshot its import is checked against."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.io.outputs import (
    FORMULA_PREFIXES,
    SNAPSHOT_DIR,
)
from criteria_nlp.review.apply import group_status_text
from criteria_nlp.review.state import (
    DECISIONS,
    NO_CODE,
    DecisionState,
    answer_text_hash,
)

GROUP_SHEET = "Criteria groups"


ANSWER_SHEET = "Answers"


INDICATOR_SHEET = "Indicators (draft)"


CODEBOOK_SHEET = "Codebook"


README_SHEET = "Read me"


LISTS_SHEET = "_lists"


ABOUT_SHEET = "_about"


# (header, editable, width)
GROUP_COLUMNS = [
    ("group", False, 8), ("proposed code", False, 10), ("code label", False, 24), ("status", False, 18),
    ("size", False, 7), ("languages", False, 16), ("cities", False, 22), ("name (draft)", False, 34),
    ("draft levels", False, 70), ("keyphrases", False, 36), ("examples", False, 60),
    ("decision", True, 12), ("rename to", True, 28), ("merge into", True, 11), ("move to code", True, 12),
    ("notes", True, 30), ("group key", False, 18),
]


ANSWER_COLUMNS = [
    ("id", False, 12), ("text", False, 60), ("language", False, 9), ("city", False, 16), ("group", False, 18),
    ("question", False, 11), ("proposed code", False, 10), ("code label", False, 24), ("confidence", False, 11),
    ("cluster", False, 8), ("review status", False, 22), ("override code", True, 14), ("notes", True, 30),
]


def _clean(value) -> object:
    """A cell value openpyxl can store: numbers stay numbers, text loses control characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (int, float)):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def set_text_cell(cell, value) -> None:
    """Write a value so that a spreadsheet never evaluates it: text starting with = + - @
    is stored as a string cell with Excel's quote prefix (shown as typed, never run)."""
    value = _clean(value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"
        cell.quotePrefix = True


def _write_table(ws, columns: list[tuple[str, bool, int]], rows: list[list], wrap: bool = True) -> None:
    from copy import copy

    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    readonly_fill = PatternFill("solid", fgColor="DDDDDD")
    editable_fill = PatternFill("solid", fgColor="FFF2CC")
    for j, (header, editable, width) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j)
        set_text_cell(cell, header)
        cell.font = Font(bold=True)
        cell.fill = editable_fill if editable else readonly_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(j)].width = width
    # Body cells share one style record: openpyxl hashes and compares a new style object on
    # every `cell.alignment = ...`, which dominated the time to write a 10,000-answer workbook;
    # copying the record is what openpyxl itself does when it applies a named style.
    body = None
    for i, values in enumerate(rows, start=2):
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j)
            if body is None:
                cell.alignment = Alignment(wrap_text=wrap, vertical="top")
                body = copy(cell._style)
            else:
                cell._style = copy(body)
            set_text_cell(cell, value)  # after the style: it may add a quote prefix to it
    ws.freeze_panes = "B2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _add_list_validation(ws, column_index: int, n_rows: int, formula: str, prompt: str) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if n_rows <= 0:
        return
    letter = get_column_letter(column_index)
    validation = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
    validation.error = prompt
    validation.errorTitle = "Not in the list"
    validation.prompt = prompt
    validation.showErrorMessage = True
    validation.showInputMessage = True
    ws.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{n_rows + 1}")


def group_cells(state: DecisionState, key: str) -> list:
    """The yellow cells of a group row (decision, rename to, merge into, move to code, notes)
    as a workbook written now shows them."""
    decided = state.groups.get(key)
    if decided is None:
        return ["", "", "", "", ""]
    merge = (state.groups[decided.merge_into].cluster if decided.merge_into in state.groups else "") if decided.decision == "merge" else ""
    return [decided.decision, decided.name if decided.decision == "rename" else "", merge, decided.move_to, decided.note]


def answer_cells(state: DecisionState, answer_id: str) -> list:
    """The yellow cells of an answer row (override code, notes) as a workbook written now shows them."""
    override = state.answers.get(answer_id)
    code = "" if override is None or override.code is None else (override.code or NO_CODE)
    return [code, override.note if override else ""]


def _readme_lines(n_groups: int, n_answers: int) -> list[str]:
    return [
        "criteria-nlp review workbook — DRAFT synthesis for human validation",
        "",
        "Everything in this workbook was proposed by a machine: codes, criteria groups, indicator names and the five-level scales are DRAFTS.",
        "Validate them with the citizen groups before any use.",
        "",
        f"Sheet '{GROUP_SHEET}' ({n_groups} groups): one row per criteria group. Fill the yellow columns:",
        "  decision: accept (keep as drafted) / rename (give 'rename to') / merge (give the group number in 'merge into') / move (give a code in 'move to code') / reject (not a criterion group).",
        "  Merging a group into another validates the receiving group as drafted (you can still rename it).",
        "  'rename to' may be one name for every language, or one per language: fr: Accès au logement | nl: Betaalbaar wonen",
        f"Sheet '{ANSWER_SHEET}' ({n_answers} answers): put a code in 'override code' to correct an answer ('{NO_CODE}' = no code).",
        f"Sheet '{INDICATOR_SHEET}': the drafted indicator in every language of each group, levels 1 (very unsatisfactory) to 5 (ideal), with the ids of the answers each level was drawn from.",
        f"Sheet '{CODEBOOK_SHEET}': the codes you can use.",
        "",
        "Grey columns are read-only: the import refuses a workbook whose grey cells were changed. Do not add rows.",
        "Then run:  criteria-nlp review import review.xlsx --project OUTDIR [--analyst 'Your name']",
        "Your decisions are stored in OUTDIR/decisions.jsonl and re-applied by every later 'criteria-nlp run' on the same OUTDIR, even with new answers.",
        "Citizen text that begins with = + - @ is stored as plain text and is never evaluated.",
    ]


def build_review_workbook(path: str | Path, *, groups: pd.DataFrame, answers: pd.DataFrame, indicators: pd.DataFrame,
                          codebook, state: DecisionState | None = None, extra_sheets: dict[str, pd.DataFrame] | None = None,
                          code_descriptions: pd.DataFrame | None = None) -> dict:
    """Write review.xlsx and return its snapshot (what the import checks the workbook against).

    `groups`: one row per criteria group with cluster, key, code, code_label, size, languages,
    cities, name, levels, keyphrases, examples, members (list of ids).
    `answers`: id, text, language, city, group, question, code_proposed, code_label,
    confidence, cluster, review_status."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from criteria_nlp.io.outputs import write_bytes_atomic

    state = state or DecisionState()
    codable = [c.code for c in codebook.codable()]
    group_rows, answer_rows = [], []
    snapshot_groups, snapshot_answers = {}, {}
    for g in groups.itertuples(index=False):
        decided = state.groups.get(g.key)
        decision = group_cells(state, g.key)
        readonly = [int(g.cluster), g.code, g.code_label, group_status_text(decided), int(g.size), g.languages, g.cities,
                    g.name, g.levels, g.keyphrases, g.examples]
        group_rows.append(readonly + decision + [g.key])
        # "editable": the yellow cells as written, so that an import records only what the
        # analyst changed in this workbook (an older copy never reverts later decisions).
        snapshot_groups[g.key] = {"readonly": [_clean(v) for v in readonly], "cluster": int(g.cluster), "code": g.code,
                                  "members": list(g.members), "name": g.name, "editable": [_clean(v) for v in decision]}
    for a in answers.itertuples(index=False):
        cells = answer_cells(state, str(a.id))
        readonly = [a.id, a.text, a.language, a.city, a.group, a.question, a.code_proposed, a.code_label,
                    (round(float(a.confidence), 4) if str(a.confidence) not in ("", "nan") else ""), int(a.cluster), a.review_status]
        answer_rows.append(readonly + cells)
        snapshot_answers[str(a.id)] = {"readonly": [_clean(v) for v in readonly], "text_sha1": answer_text_hash(a.text),
                                       "editable": [_clean(v) for v in cells]}
    snapshot = {"groups": snapshot_groups, "answers": snapshot_answers, "codes": codable, "group_columns": [c[0] for c in GROUP_COLUMNS],
                "answer_columns": [c[0] for c in ANSWER_COLUMNS]}
    workbook_id = hashlib.sha256(json.dumps(snapshot, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    snapshot["workbook_id"] = workbook_id

    wb = Workbook()
    readme = wb.active
    readme.title = README_SHEET
    for i, line in enumerate(_readme_lines(len(group_rows), len(answer_rows)), start=1):
        cell = readme.cell(row=i, column=1)
        set_text_cell(cell, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    readme["A1"].font = Font(bold=True, size=14)
    readme.column_dimensions["A"].width = 140

    ws = wb.create_sheet(GROUP_SHEET)
    _write_table(ws, GROUP_COLUMNS, group_rows)
    ws.column_dimensions["Q"].hidden = True  # group key: needed by the import, not by people
    lists = wb.create_sheet(LISTS_SHEET)
    for i, code in enumerate(codable + [NO_CODE], start=1):
        set_text_cell(lists.cell(row=i, column=1), code)
    for i, g in enumerate(group_rows, start=1):
        lists.cell(row=i, column=2, value=int(g[0]))
    lists.sheet_state = "hidden"
    names = {c[0]: i for i, c in enumerate(GROUP_COLUMNS, start=1)}
    _add_list_validation(ws, names["decision"], len(group_rows), '"' + ",".join(DECISIONS) + '"', "accept, rename, merge, move or reject")
    _add_list_validation(ws, names["merge into"], len(group_rows), f"'{LISTS_SHEET}'!$B$1:$B${max(1, len(group_rows))}", "the number of an existing group")
    _add_list_validation(ws, names["move to code"], len(group_rows), f"'{LISTS_SHEET}'!$A$1:$A${len(codable)}", "a code of the codebook")

    ws = wb.create_sheet(ANSWER_SHEET)
    _write_table(ws, ANSWER_COLUMNS, answer_rows)
    _add_list_validation(ws, len(ANSWER_COLUMNS) - 1, len(answer_rows), f"'{LISTS_SHEET}'!$A$1:$A${len(codable) + 1}", f"a code of the codebook, or '{NO_CODE}'")

    ws = wb.create_sheet(INDICATOR_SHEET)
    columns = [(c, False, 60 if c.startswith("level_") and not c.endswith("_ids") else 14) for c in indicators.columns]
    _write_table(ws, columns, indicators.astype(object).values.tolist())

    ws = wb.create_sheet(CODEBOOK_SHEET)
    languages = [lang for lang in ("en", "fr", "nl", "it", "pt") if lang in codebook.languages] or codebook.languages[:1]
    used = code_descriptions.set_index("code") if code_descriptions is not None and len(code_descriptions) else pd.DataFrame()
    columns = ([("code", False, 8), ("parent", False, 8), ("codable", False, 9)] + [(f"label ({lang})", False, 30) for lang in languages]
               + [("description", False, 60), ("answers", False, 9), ("keyphrases", False, 40), ("examples", False, 60)])
    _write_table(ws, columns, [
        [c.code, c.parent or "", "yes" if c.codable else "no"] + [c.labels.get(lang, "") for lang in languages] + [c.description]
        + ([int(used.at[c.code, "size"]), used.at[c.code, "keyphrases"], used.at[c.code, "representatives"]] if c.code in used.index else [0, "", ""])
        for c in codebook
    ])

    for name, frame in (extra_sheets or {}).items():
        ws = wb.create_sheet(str(name)[:31])
        _write_table(ws, [(str(c), False, 18) for c in frame.columns], frame.astype(object).values.tolist())

    about = wb.create_sheet(ABOUT_SHEET)
    about["A1"], about["B1"] = "workbook_id", workbook_id
    about.sheet_state = "hidden"
    wb.active = 1
    # Fixed document times: the same run gives the same workbook.
    import datetime as _dt

    wb.properties.created = wb.properties.modified = _dt.datetime(2000, 1, 1)
    wb.properties.creator = "criteria-nlp"
    from io import BytesIO

    buffer = BytesIO()
    wb.save(buffer)
    write_bytes_atomic(Path(path), buffer.getvalue())
    return snapshot


SNAPSHOTS_KEPT = 10  # workbooks of the last runs that can still be imported


WORKBOOK_ID = re.compile(r"[0-9a-f]{16}")


def save_snapshot(outdir: str | Path, snapshot: dict, keep: int = SNAPSHOTS_KEPT) -> Path:
    """Write the workbook's snapshot; only the `keep` most recent ones are kept (each is the
    size of the answers: 28 MB at 100,000), older workbooks can no longer be imported."""
    from criteria_nlp.errors import OutputError
    from criteria_nlp.io.outputs import write_json_atomic

    folder = Path(outdir) / SNAPSHOT_DIR
    if folder.is_symlink():
        raise OutputError(f"{folder}: is a symbolic link; criteria-nlp writes its snapshots only in a real folder: remove the link")
    path = folder / f"{snapshot['workbook_id']}.json"
    write_json_atomic(path, snapshot)
    prune_snapshots(folder, keep=keep, current=path.name)
    return path


def prune_snapshots(folder: Path, keep: int = SNAPSHOTS_KEPT, current: str = "") -> list[Path]:
    """Delete all but the `keep` newest snapshots (the current one always stays); only files
    named like a snapshot (<16 hex digits>.json) are touched."""
    import os

    try:
        entries = [entry for entry in os.scandir(folder)
                   if entry.name.endswith(".json") and WORKBOOK_ID.fullmatch(entry.name[:-5]) and entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    others = sorted((e for e in entries if e.name != current), key=lambda e: (e.stat(follow_symlinks=False).st_mtime, e.name), reverse=True)
    removed = []
    for entry in others[max(0, keep - 1):]:
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def format_compare_sheet(worksheet) -> None:
    """openpyxl formatting for the review workbook's comparison sheet: frozen header,
    filters, readable widths, distinctive cells highlighted."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    worksheet.freeze_panes = "A2"
    if worksheet.max_row and worksheet.max_column:
        worksheet.auto_filter.ref = worksheet.dimensions
    header = [cell.value for cell in worksheet[1]]
    widths = {"label": 40, "value": 22, "item": 12, "by": 10, "level": 9, "distinctive": 11}
    for index, name in enumerate(header, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = widths.get(str(name), 11)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    if "distinctive" not in header:
        return
    column = header.index("distinctive") + 1
    fills = {"over": PatternFill("solid", fgColor="F4A6A6"), "under": PatternFill("solid", fgColor="A6C8F4")}
    for row in worksheet.iter_rows(min_row=2):
        fill = fills.get(row[column - 1].value)
        if fill:
            for cell in row:
                cell.fill = fill
