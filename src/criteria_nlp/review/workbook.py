"""The review workbook (review.xlsx): groups, answers, draft indicators and the codebook,
with dropdowns for decisions, and the snapshot its import is checked against."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.describe.drafting import STATUS_NAMES
from criteria_nlp.i18n import Localiser, localiser
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


def _(message: str) -> str:
    """Marks a message for extraction only; the workbook translates it when it writes it."""
    return message


# Sheet and column names are English here (the import's keys); the workbook shows them in
# its language, and its snapshot records the names as written.
GROUP_SHEET = _("Criteria groups")


ANSWER_SHEET = _("Answers")


INDICATOR_SHEET = _("Indicators (draft)")


CODEBOOK_SHEET = _("Codebook")


README_SHEET = _("Read me")


COMPARISON_SHEET = _("Comparison")


LISTS_SHEET = "_lists"


ABOUT_SHEET = "_about"


# (header, editable, width)
GROUP_COLUMNS = [
    (_("group"), False, 8), (_("proposed code"), False, 10), (_("code label"), False, 24), (_("status"), False, 18),
    (_("size"), False, 7), (_("languages"), False, 16), (_("cities"), False, 22), (_("name (draft)"), False, 34),
    (_("draft levels"), False, 70), (_("keyphrases"), False, 36), (_("examples"), False, 60),
    (_("decision"), True, 12), (_("rename to"), True, 28), (_("merge into"), True, 11), (_("move to code"), True, 12),
    (_("notes"), True, 30), (_("group key"), False, 18),
]


ANSWER_COLUMNS = [
    (_("id"), False, 12), (_("text"), False, 60), (_("language"), False, 9), (_("city"), False, 16), (_("group"), False, 18),
    (_("question"), False, 11), (_("proposed code"), False, 10), (_("code label"), False, 24), (_("confidence"), False, 11),
    (_("cluster"), False, 8), (_("review status"), False, 22), (_("override code"), True, 14), (_("notes"), True, 30),
]


# The indicator sheet's columns (indicators.csv's names, which stay English in the CSV).
INDICATOR_HEADERS = {
    "indicator_id": _("indicator"), "cluster": _("group"), "code": _("code"), "language": _("language"), "name": _("name"),
    "level_1": _("level 1 (very unsatisfactory)"), "level_2": _("level 2"), "level_3": _("level 3"), "level_4": _("level 4"),
    "level_5": _("level 5 (ideal)"), "level_1_ids": _("answers behind level 1"), "level_2_ids": _("answers behind level 2"),
    "level_3_ids": _("answers behind level 3"), "level_4_ids": _("answers behind level 4"), "level_5_ids": _("answers behind level 5"),
    "status": _("status"), "note": _("note"),
}


def sheet_names(loc: Localiser) -> dict[str, str]:
    """The workbook's sheets in `loc`'s language, by their English name."""
    return {name: loc.gettext(name)[:31] for name in (README_SHEET, GROUP_SHEET, ANSWER_SHEET, INDICATOR_SHEET, CODEBOOK_SHEET, COMPARISON_SHEET)}


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


def set_text_cell(cell, value, cleaned: bool = False) -> None:
    """Write a value so that a spreadsheet never evaluates it: text starting with = + - @
    is stored as a string cell with Excel's quote prefix (shown as typed, never run).
    `cleaned`: the value already went through `_clean`."""
    value = value if cleaned else _clean(value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"
        cell.quotePrefix = True


def _write_table(ws, columns: list[tuple[str, bool, int]], rows: list[list], wrap: bool = True, cleaned: bool = False) -> None:
    """A header row (grey read-only, yellow editable columns) and the rows (`cleaned`: their
    values already went through `_clean`)."""
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
            set_text_cell(cell, value, cleaned)  # after the style: it may add a quote prefix to it
    ws.freeze_panes = "B2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _add_list_validation(ws, column_index: int, n_rows: int, formula: str, prompt: str, loc: Localiser) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if n_rows <= 0:
        return
    letter = get_column_letter(column_index)
    validation = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
    validation.error = prompt
    validation.errorTitle = loc.gettext("Not in the list")
    validation.prompt = prompt
    validation.showErrorMessage = True
    validation.showInputMessage = True
    ws.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{n_rows + 1}")


def group_cells(state: DecisionState, key: str, loc: Localiser | None = None) -> list:
    """The yellow cells of a group row (decision, rename to, merge into, move to code, notes)
    as a workbook written now shows them: the decision as stored, or in `loc`'s words."""
    decided = state.groups.get(key)
    if decided is None:
        return ["", "", "", "", ""]
    merge = (state.groups[decided.merge_into].cluster if decided.merge_into in state.groups else "") if decided.decision == "merge" else ""
    decision = loc.decision(decided.decision) if loc is not None else decided.decision
    return [decision, decided.name if decided.decision == "rename" else "", merge, decided.move_to, decided.note]


def answer_cells(state: DecisionState, answer_id: str, loc: Localiser | None = None) -> list:
    """The yellow cells of an answer row (override code, notes) as a workbook written now shows
    them: 'no code' as stored, or in `loc`'s word."""
    override = state.answers.get(answer_id)
    code = "" if override is None or override.code is None else (override.code or (loc.no_code() if loc is not None else NO_CODE))
    return [code, override.note if override else ""]


def _readable_indicators(indicators: pd.DataFrame, loc: Localiser) -> pd.DataFrame:
    """indicators.csv's statuses and notes (stored in English) in the workbook's language."""
    shown = indicators.copy()
    if "status" in shown.columns:
        shown["status"] = [loc.gettext(STATUS_NAMES[s]) if s in STATUS_NAMES else s for s in shown["status"].fillna("").astype(str)]
    if "note" in shown.columns:
        shown["note"] = shown["note"].fillna("").astype(str).map(loc.gettext_parts)
    return shown


def _readme_lines(n_groups: int, n_answers: int, loc: Localiser) -> list[str]:
    _, ngettext = loc.gettext, loc.ngettext
    sheets = sheet_names(loc)
    columns = {name: loc.gettext(name) for name, _editable, _width in GROUP_COLUMNS + ANSWER_COLUMNS}
    words = {d: loc.decision(d) for d in DECISIONS}
    names = {"groups": sheets[GROUP_SHEET], "answers": sheets[ANSWER_SHEET], "indicators": sheets[INDICATOR_SHEET],
             "codebook": sheets[CODEBOOK_SHEET], "n_groups": loc.integer(n_groups), "n_answers": loc.integer(n_answers),
             "rename_to": columns["rename to"], "merge_into": columns["merge into"], "move_to": columns["move to code"],
             "override": columns["override code"], "none": loc.no_code(), **words}
    partial = loc.partial_translation_note()
    return [
        _("criteria-nlp review workbook — DRAFT synthesis for human validation"),
        *([partial] if partial else []),
        "",
        _("Everything in this workbook was proposed by a machine: codes, criteria groups, indicator names and the five-level scales are DRAFTS."),
        _("Validate them with the citizen groups before any use."),
        "",
        ngettext("Sheet '%(groups)s' (%(n_groups)s group): one row per criteria group. Fill the yellow columns:",
                 "Sheet '%(groups)s' (%(n_groups)s groups): one row per criteria group. Fill the yellow columns:", n_groups) % names,
        _("  %(decision)s: %(accept)s (keep as drafted) / %(rename)s (give '%(rename_to)s') / %(merge)s (give the group number in "
          "'%(merge_into)s') / %(move)s (give a code in '%(move_to)s') / %(reject)s (not a criterion group).") % {**names, "decision": loc.gettext("decision")},
        _("  Merging a group into another validates the receiving group as drafted (you can still rename it)."),
        _("  '%(rename_to)s' may be one name for every language, or one per language: fr: Accès au logement | nl: Betaalbaar wonen") % names,
        ngettext("Sheet '%(answers)s' (%(n_answers)s answer): put a code in '%(override)s' to correct an answer ('%(none)s' = no code).",
                 "Sheet '%(answers)s' (%(n_answers)s answers): put a code in '%(override)s' to correct an answer ('%(none)s' = no code).", n_answers) % names,
        _("Sheet '%(indicators)s': the drafted indicator in every language of each group, levels 1 (very unsatisfactory) to 5 (ideal), "
          "with the ids of the answers each level was drawn from.") % names,
        _("Sheet '%(codebook)s': the codes you can use.") % names,
        "",
        _("Grey columns are read-only: the import refuses a workbook whose grey cells were changed. Do not add rows."),
        _("The decisions are stored the same way whatever the workbook's language: a colleague may review the same run in a "
          "workbook in another language."),
        _("Then run:  criteria-nlp review import review.xlsx --project OUTDIR [--analyst 'Your name']"),
        _("Your decisions are stored in OUTDIR/decisions.jsonl and re-applied by every later 'criteria-nlp run' on the same OUTDIR, even with new answers."),
        _("Citizen text that begins with = + - @ is stored as plain text and is never evaluated."),
    ]


def build_review_workbook(path: str | Path, *, groups: pd.DataFrame, answers: pd.DataFrame, indicators: pd.DataFrame,
                          codebook, state: DecisionState | None = None, extra_sheets: dict[str, pd.DataFrame] | None = None,
                          code_descriptions: pd.DataFrame | None = None, language: str = "en") -> dict:
    """Write review.xlsx in `language` (sheets, headers, read-me, dropdown words, codebook
    labels) and return its snapshot (what the import checks the workbook against: the sheet
    and column names as written, so a workbook imports whatever its language).

    `groups`: one row per criteria group with cluster, key, code, code_label, size, languages,
    cities, name, levels, keyphrases, examples, members (list of ids).
    `answers`: id, text, language, city, group, question, code_proposed, code_label,
    confidence, cluster, review_status."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from criteria_nlp.io.outputs import write_bytes_atomic

    state = state or DecisionState()
    loc = localiser(language)
    sheets = sheet_names(loc)
    codable = [c.code for c in codebook.codable()]

    def code_label(code, label):
        return codebook.label(code, language) if code in codebook else label
    group_rows, answer_rows = [], []
    snapshot_groups, snapshot_answers = {}, {}
    for g in groups.itertuples(index=False):
        decided = state.groups.get(g.key)
        decision = group_cells(state, g.key, loc)
        readonly = [int(g.cluster), g.code, code_label(g.code, g.code_label), group_status_text(decided, loc), int(g.size), g.languages, g.cities,
                    g.name, g.levels, g.keyphrases, g.examples]
        readonly, decision = [_clean(v) for v in readonly], [_clean(v) for v in decision]
        group_rows.append(readonly + decision + [_clean(g.key)])
        # "editable": the yellow cells as written, so that an import records only what the
        # analyst changed in this workbook (an older copy never reverts later decisions).
        snapshot_groups[g.key] = {"readonly": readonly, "cluster": int(g.cluster), "code": g.code,
                                  "members": list(g.members), "name": g.name, "editable": decision}
    for a in answers.itertuples(index=False):
        cells = answer_cells(state, str(a.id), loc)
        readonly = [a.id, a.text, a.language, a.city, a.group, a.question, a.code_proposed, code_label(a.code_proposed, a.code_label),
                    (round(float(a.confidence), 4) if str(a.confidence) not in ("", "nan") else ""), int(a.cluster), a.review_status]
        readonly, cells = [_clean(v) for v in readonly], [_clean(v) for v in cells]
        answer_rows.append(readonly + cells)
        snapshot_answers[str(a.id)] = {"readonly": readonly, "text_sha1": answer_text_hash(a.text), "editable": cells}
    group_columns = [(loc.gettext(name), editable, width) for name, editable, width in GROUP_COLUMNS]
    answer_columns = [(loc.gettext(name), editable, width) for name, editable, width in ANSWER_COLUMNS]
    snapshot = {"groups": snapshot_groups, "answers": snapshot_answers, "codes": codable, "language": loc.language,
                "sheets": {"groups": sheets[GROUP_SHEET], "answers": sheets[ANSWER_SHEET], "codebook": sheets[CODEBOOK_SHEET]},
                "group_columns": [c[0] for c in group_columns], "answer_columns": [c[0] for c in answer_columns]}
    workbook_id = hashlib.sha256(json.dumps(snapshot, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    snapshot["workbook_id"] = workbook_id

    wb = Workbook()
    readme = wb.active
    readme.title = sheets[README_SHEET]
    for i, line in enumerate(_readme_lines(len(group_rows), len(answer_rows), loc), start=1):
        cell = readme.cell(row=i, column=1)
        set_text_cell(cell, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    readme["A1"].font = Font(bold=True, size=14)
    readme.column_dimensions["A"].width = 140

    ws = wb.create_sheet(sheets[GROUP_SHEET])
    _write_table(ws, group_columns, group_rows, cleaned=True)
    ws.column_dimensions["Q"].hidden = True  # group key: needed by the import, not by people
    lists = wb.create_sheet(LISTS_SHEET)
    for i, code in enumerate(codable + [loc.no_code()], start=1):
        set_text_cell(lists.cell(row=i, column=1), code)
    for i, g in enumerate(group_rows, start=1):
        lists.cell(row=i, column=2, value=int(g[0]))
    lists.sheet_state = "hidden"
    names = {c[0]: i for i, c in enumerate(GROUP_COLUMNS, start=1)}
    words = [loc.decision(d) for d in DECISIONS]
    _add_list_validation(ws, names["decision"], len(group_rows), '"' + ",".join(words) + '"', ", ".join(words), loc)
    _add_list_validation(ws, names["merge into"], len(group_rows), f"'{LISTS_SHEET}'!$B$1:$B${max(1, len(group_rows))}",
                         loc.gettext("the number of an existing group"), loc)
    _add_list_validation(ws, names["move to code"], len(group_rows), f"'{LISTS_SHEET}'!$A$1:$A${len(codable)}",
                         loc.gettext("a code of the codebook"), loc)

    ws = wb.create_sheet(sheets[ANSWER_SHEET])
    _write_table(ws, answer_columns, answer_rows, cleaned=True)
    _add_list_validation(ws, len(ANSWER_COLUMNS) - 1, len(answer_rows), f"'{LISTS_SHEET}'!$A$1:$A${len(codable) + 1}",
                         loc.gettext("a code of the codebook, or '%(none)s'") % {"none": loc.no_code()}, loc)

    ws = wb.create_sheet(sheets[INDICATOR_SHEET])
    columns = [(loc.gettext(INDICATOR_HEADERS[c]) if c in INDICATOR_HEADERS else c, False,
                60 if c.startswith("level_") and not c.endswith("_ids") else 14) for c in indicators.columns]
    _write_table(ws, columns, _readable_indicators(indicators, loc).astype(object).values.tolist())

    ws = wb.create_sheet(sheets[CODEBOOK_SHEET])
    # The analyst's language first, then the languages most reviews are done in.
    languages = [lang for lang in dict.fromkeys((language, "en", "fr", "nl", "it", "pt")) if lang in codebook.languages] or codebook.languages[:1]
    used = code_descriptions.set_index("code") if code_descriptions is not None and len(code_descriptions) else pd.DataFrame()
    columns = ([(loc.gettext("code"), False, 8), (loc.gettext("parent"), False, 8), (loc.gettext("codable"), False, 9)]
               + [(loc.gettext("label (%(language)s)") % {"language": lang}, False, 30) for lang in languages]
               + [(loc.gettext("description (English)"), False, 60), (loc.gettext("answers"), False, 9),
                  (loc.gettext("keyphrases"), False, 40), (loc.gettext("examples"), False, 60)])
    _write_table(ws, columns, [
        [c.code, c.parent or "", loc.gettext("yes") if c.codable else loc.gettext("no")] + [c.labels.get(lang, "") for lang in languages] + [c.description]
        + ([int(used.at[c.code, "size"]), used.at[c.code, "keyphrases"], used.at[c.code, "representatives"]] if c.code in used.index else [0, "", ""])
        for c in codebook
    ])

    for name, frame in (extra_sheets or {}).items():
        ws = wb.create_sheet(sheets.get(str(name), str(name))[:31])
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
    write_json_atomic(path, snapshot, indent=None)  # read by the import only
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
