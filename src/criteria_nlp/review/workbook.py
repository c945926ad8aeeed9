"""The review workbook (review.xlsx): groups, answers, draft indicators and the codebook,
with dropdowns for decisions, and the snapshot its import is checked against."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.describe.drafting import STATUS_NAMES
from criteria_nlp.i18n import Localiser, localiser
from criteria_nlp.io.limits import MAX_CELL_CHARS
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
    """A cell value a workbook can store: numbers stay numbers, text loses control characters
    and is cut to what one cell holds (the snapshot records the cell as written)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (int, float)):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


class CellStyle:
    """An xlsxwriter format and its quote-prefixed twin, for text a spreadsheet would
    otherwise evaluate."""

    def __init__(self, workbook, **properties):
        self.plain = workbook.add_format(properties)
        self.quoted = workbook.add_format({**properties, "quote_prefix": True})


def write_cell(ws, row: int, column: int, value, style: CellStyle, cleaned: bool = False) -> None:
    """Write a value (0-based row and column) so that a spreadsheet never evaluates it: text
    is always a string cell, and text starting with = + - @ carries Excel's quote prefix
    (shown as typed, never run). `cleaned`: the value already went through `_clean`."""
    value = value if cleaned else _clean(value)
    if isinstance(value, bool):
        ws.write_boolean(row, column, value, style.plain)
    elif isinstance(value, (int, float)) and np.isfinite(value):
        ws.write_number(row, column, value, style.plain)
    else:
        text = str(value)
        ws.write_string(row, column, text, style.quoted if text.startswith(FORMULA_PREFIXES) else style.plain)


def _write_table(wb, ws, columns: list[tuple[str, bool, int]], rows: list[list], wrap: bool = True, cleaned: bool = False,
                 hidden: tuple[int, ...] = ()) -> None:
    """A header row (grey read-only, yellow editable columns) and the rows (`cleaned`: their
    values already went through `_clean`; `hidden`: 0-based columns people do not need)."""
    header = {editable: CellStyle(wb, bold=True, text_wrap=True, valign="top", pattern=1,
                                  bg_color="#FFF2CC" if editable else "#DDDDDD") for editable in (False, True)}
    body = CellStyle(wb, text_wrap=wrap, valign="top")
    for j, (name, editable, width) in enumerate(columns):
        ws.set_column(j, j, width, None, {"hidden": j in hidden})
        write_cell(ws, 0, j, name, header[editable])
    for i, values in enumerate(rows, start=1):
        for j, value in enumerate(values):
            write_cell(ws, i, j, value, body, cleaned)
    ws.freeze_panes(1, 1)
    if rows:
        ws.autofilter(0, 0, len(rows), len(columns) - 1)


def _add_list_validation(ws, column: int, n_rows: int, source, prompt: str, loc: Localiser) -> None:
    """A dropdown on the 0-based `column` of the rows under the header: `source` is a list of
    words or a range."""
    if n_rows <= 0:
        return
    ws.data_validation(1, column, n_rows, column, {
        "validate": "list", "source": source, "ignore_blank": True, "dropdown": True,
        "input_message": prompt[:255], "error_message": prompt[:255], "error_title": loc.gettext("Not in the list")[:32],
        "show_input": True, "show_error": True,
    })


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
    import datetime
    from io import BytesIO

    import xlsxwriter

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

    # xlsxwriter, row by row to a temporary file: 22 s where openpyxl took 34 s at 100,000 answers,
    # and flat in memory; openpyxl reads the workbook back at import.
    buffer = BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                      "strings_to_urls": False})
    # Fixed document times (xlsxwriter also fixes those inside the ZIP): the same run gives the same bytes.
    wb.set_properties({"author": "criteria-nlp", "created": datetime.datetime(2000, 1, 1)})
    readme = wb.add_worksheet(sheets[README_SHEET])
    readme.set_column(0, 0, 140)
    text, title = CellStyle(wb, text_wrap=True, valign="top"), CellStyle(wb, text_wrap=True, valign="top", bold=True, font_size=14)
    for i, line in enumerate(_readme_lines(len(group_rows), len(answer_rows), loc)):
        write_cell(readme, i, 0, line, title if i == 0 else text)

    ws = wb.add_worksheet(sheets[GROUP_SHEET])
    names = {c[0]: i for i, c in enumerate(GROUP_COLUMNS)}
    _write_table(wb, ws, group_columns, group_rows, cleaned=True, hidden=(names["group key"],))  # needed by the import, not by people
    ws.activate()
    words = [loc.decision(d) for d in DECISIONS]
    _add_list_validation(ws, names["decision"], len(group_rows), words, ", ".join(words), loc)
    _add_list_validation(ws, names["merge into"], len(group_rows), f"='{LISTS_SHEET}'!$B$1:$B${max(1, len(group_rows))}",
                         loc.gettext("the number of an existing group"), loc)
    _add_list_validation(ws, names["move to code"], len(group_rows), f"='{LISTS_SHEET}'!$A$1:$A${len(codable)}",
                         loc.gettext("a code of the codebook"), loc)
    lists = wb.add_worksheet(LISTS_SHEET)
    plain = CellStyle(wb)
    for i, (code, group) in enumerate(itertools.zip_longest(codable + [loc.no_code()], [g[0] for g in group_rows])):
        if code is not None:
            write_cell(lists, i, 0, code, plain)
        if group is not None:
            write_cell(lists, i, 1, group, plain)
    lists.hide()

    ws = wb.add_worksheet(sheets[ANSWER_SHEET])
    _write_table(wb, ws, answer_columns, answer_rows, cleaned=True)
    _add_list_validation(ws, len(ANSWER_COLUMNS) - 2, len(answer_rows), f"='{LISTS_SHEET}'!$A$1:$A${len(codable) + 1}",
                         loc.gettext("a code of the codebook, or '%(none)s'") % {"none": loc.no_code()}, loc)

    ws = wb.add_worksheet(sheets[INDICATOR_SHEET])
    columns = [(loc.gettext(INDICATOR_HEADERS[c]) if c in INDICATOR_HEADERS else c, False,
                60 if c.startswith("level_") and not c.endswith("_ids") else 14) for c in indicators.columns]
    _write_table(wb, ws, columns, _readable_indicators(indicators, loc).astype(object).values.tolist())

    ws = wb.add_worksheet(sheets[CODEBOOK_SHEET])
    # The analyst's language first, then the languages most reviews are done in.
    languages = [lang for lang in dict.fromkeys((language, "en", "fr", "nl", "it", "pt")) if lang in codebook.languages] or codebook.languages[:1]
    used = code_descriptions.set_index("code") if code_descriptions is not None and len(code_descriptions) else pd.DataFrame()
    columns = ([(loc.gettext("code"), False, 8), (loc.gettext("parent"), False, 8), (loc.gettext("codable"), False, 9)]
               + [(loc.gettext("label (%(language)s)") % {"language": lang}, False, 30) for lang in languages]
               + [(loc.gettext("description (English)"), False, 60), (loc.gettext("answers"), False, 9),
                  (loc.gettext("keyphrases"), False, 40), (loc.gettext("examples"), False, 60)])
    _write_table(wb, ws, columns, [
        [c.code, c.parent or "", loc.gettext("yes") if c.codable else loc.gettext("no")] + [c.labels.get(lang, "") for lang in languages] + [c.description]
        + ([int(used.at[c.code, "size"]), used.at[c.code, "keyphrases"], used.at[c.code, "representatives"]] if c.code in used.index else [0, "", ""])
        for c in codebook
    ])

    for name, frame in (extra_sheets or {}).items():
        ws = wb.add_worksheet(sheets.get(str(name), str(name))[:31])
        _write_table(wb, ws, [(str(c), False, 18) for c in frame.columns], frame.astype(object).values.tolist())

    about = wb.add_worksheet(ABOUT_SHEET)
    about.write_string(0, 0, "workbook_id")
    about.write_string(0, 1, workbook_id)
    about.hide()
    wb.close()
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
