"""Importing an analyst's review workbook: every edit checked against the workbook's own
snapshot, then appended to the decision store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from criteria_nlp.errors import CriteriaNLPError
from criteria_nlp.i18n import decision_words, no_code_words
from criteria_nlp.review.state import DECISIONS, NO_CODE, DecisionState
from criteria_nlp.review.store import DecisionStore
from criteria_nlp.review.workbook import (
    ABOUT_SHEET,
    ANSWER_COLUMNS,
    ANSWER_SHEET,
    CODEBOOK_SHEET,
    GROUP_COLUMNS,
    GROUP_SHEET,
    SNAPSHOT_DIR,
    SNAPSHOTS_KEPT,
    WORKBOOK_ID,
    answer_cells,
    group_cells,
)


class ReviewError(CriteriaNLPError):
    """The review workbook cannot be imported (unknown codes, edited read-only cells...)."""


@dataclass
class ImportResult:
    records: list[dict]
    counts: dict
    workbook_id: str


def _cell_text(cell) -> str:
    value = getattr(cell, "value", None) if cell is not None else None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _raw_text(cell) -> str:
    """A cell's text exactly as stored (ids are join keys: spaces and CRs are part of them)."""
    value = getattr(cell, "value", None) if cell is not None else None
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _same(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError, OverflowError):
        return _newlines(str(a if a is not None else "")).strip() == _newlines(str(b if b is not None else "")).strip()


def _written(value) -> str:
    """An editable cell's value as the snapshot recorded it, as the import reads cells."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class _Keys:
    """Find a snapshot key from a cell: exactly, else with line ends normalised and edge
    spaces ignored (a spreadsheet may rewrite CRs or trim), when that is unambiguous."""

    def __init__(self, keys):
        self.keys = set(keys)
        loose: dict[str, list[str]] = {}
        for key in self.keys:
            loose.setdefault(_newlines(key).strip(), []).append(key)
        self.loose = {k: v[0] for k, v in loose.items() if len(v) == 1}

    def find(self, text: str) -> str | None:
        if text in self.keys:
            return text
        return self.loose.get(_newlines(text).strip())


def _read_sheet(wb, sheet: str, columns: list[str], problems: list[str], keys: list[str] | None = None):
    """(header positions, [(row number, cells)]) of a sheet, read streaming; (None, []) when
    the sheet or one of its columns is missing (a problem is added). The workbook's headers
    are `columns` (in its language); the positions are returned under `keys` (English)."""
    from criteria_nlp.io.xlsx import sheet_rows

    if sheet not in wb.sheetnames:
        problems.append(f"sheet '{sheet}' is missing: import the workbook that 'criteria-nlp run' wrote, without deleting sheets")
        return None, []
    rows = list(sheet_rows(wb[sheet], cells=True))
    header = [_cell_text(c) for c in rows[0][1]] if rows and rows[0][0] == 1 else []
    where = {}
    for name in columns:
        if name not in header:
            problems.append(f"sheet '{sheet}', row 1: column '{name}' is missing; do not rename or delete columns")
        else:
            where[name] = header.index(name)
    body = [(number, row) for number, row in rows if number > 1]
    if len(where) != len(columns):
        return None, body
    return ({key: where[name] for key, name in zip(keys, columns)} if keys else where), body


def _deleted(sheet: str, kind: str, missing: list[str], problems: list[str]) -> None:
    if missing:
        shown = ", ".join(repr(k[:30]) for k in missing[:5]) + (", ..." if len(missing) > 5 else "")
        problems.append(f"sheet '{sheet}': {len(missing)} {kind} row(s) were deleted ({shown}); import the workbook with all its rows "
                        "(filter or hide rows instead of deleting them)")


def _open_workbook(workbook: Path):
    """The workbook, read-only and bounded (io.xlsx), or a ReviewError."""
    from criteria_nlp.errors import InputError
    from criteria_nlp.io.tables import read_input
    from criteria_nlp.io.xlsx import check_workbook, open_workbook

    try:
        data = read_input(workbook)[0]
        if not data.startswith(b"PK"):
            raise InputError(f"{workbook.name}: cannot be read as an .xlsx workbook (not a zip file); save it as Excel .xlsx and try again")
        check_workbook(data, workbook.name)
        return open_workbook(data, workbook.name, data_only=False)
    except InputError as exc:
        raise ReviewError(str(exc)) from None
    except Exception as exc:  # zip/XML errors from a damaged or foreign file
        raise ReviewError(f"{workbook.name}: cannot be read as an .xlsx workbook ({type(exc).__name__}); save it as Excel .xlsx and try again") from None


def import_review(workbook: str | Path, outdir: str | Path, analyst: str | None = None, overwrite: bool = False) -> ImportResult:
    """Validate a review workbook against the snapshot written with it and append the
    analyst's edits to the decision store. Nothing is recorded when any problem is found
    (ReviewError lists them, naming sheet, row and column).

    Only the yellow cells the analyst changed in this workbook (compared with its own
    snapshot) are recorded: importing an older copy never reverts later decisions. A changed
    cell whose decision was changed again after this workbook was written is a conflict,
    reported and not recorded, unless `overwrite` lets this workbook's edits win."""
    workbook, outdir = Path(workbook), Path(outdir)
    if not workbook.exists():
        raise ReviewError(f"{workbook}: no such workbook")
    if not outdir.is_dir():
        raise ReviewError(f"{outdir}: no such project folder; give the -o folder of 'criteria-nlp run' as --project")
    state = DecisionState.load(outdir)  # a damaged store is refused before the workbook is read
    wb = _open_workbook(workbook)
    try:
        return _import(wb, workbook, outdir, state, analyst, overwrite)
    finally:
        wb.close()


def _import(wb, workbook: Path, outdir: Path, state: DecisionState, analyst, overwrite: bool) -> ImportResult:
    from criteria_nlp.io.xlsx import sheet_rows

    about = {}
    if ABOUT_SHEET in wb.sheetnames:
        for _, row in sheet_rows(wb[ABOUT_SHEET], max_row=10):
            if len(row) >= 2:
                about[str(row[0])] = row[1]
    if "workbook_id" not in about:
        raise ReviewError(f"{workbook.name}: not a criteria-nlp review workbook (its hidden '{ABOUT_SHEET}' sheet is missing)")
    workbook_id = str(about["workbook_id"])
    # The id names a file of the project: a name, never a path.
    if not WORKBOOK_ID.fullmatch(workbook_id):
        raise ReviewError(f"{workbook.name}: its hidden workbook id was edited ('{workbook_id[:40]}' is not an id); "
                          "import the review.xlsx that 'criteria-nlp run' wrote")
    snapshot_path = outdir / SNAPSHOT_DIR / f"{workbook_id}.json"
    if not snapshot_path.is_file() or snapshot_path.is_symlink():
        raise ReviewError(f"{workbook.name} was not written by a run in {outdir} (no snapshot {workbook_id}; only the last "
                          f"{SNAPSHOTS_KEPT} runs' workbooks are kept); import it with the --project folder it came from, "
                          "or review the newest review.xlsx")
    try:
        snapshot = json.loads(snapshot_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        raise ReviewError(f"{snapshot_path}: the workbook's snapshot is damaged; run again and review the new review.xlsx") from None
    codes = set(snapshot["codes"])
    # The workbook's own sheet names (a workbook in French has French sheets); older
    # snapshots recorded none: their sheets are the English ones.
    sheets = {"groups": GROUP_SHEET, "answers": ANSWER_SHEET, "codebook": CODEBOOK_SHEET, **snapshot.get("sheets", {})}
    group_sheet, answer_sheet, codebook_sheet = sheets["groups"], sheets["answers"], sheets["codebook"]
    no_code = no_code_words(NO_CODE)
    problems: list[str] = []
    conflicts: list[str] = []

    # ---- groups
    where, rows = _read_sheet(wb, group_sheet, snapshot["group_columns"], problems, keys=[c[0] for c in GROUP_COLUMNS])
    by_cluster = {g["cluster"]: key for key, g in snapshot["groups"].items()}
    group_keys = _Keys(snapshot["groups"])
    wanted_groups: dict[str, dict] = {}
    notes_groups: dict[str, str] = {}
    if where is not None and not problems:
        readonly = [name for name, editable, _ in GROUP_COLUMNS if not editable and name != "group key"]
        seen = set()
        for r, cells in _filled_rows(rows, where):
            key = group_keys.find(_raw_text(cells["group key"]))
            if key is None:
                problems.append(f"sheet '{group_sheet}', row {r}, column 'group key': unknown group '{_cell_text(cells['group key'])[:40]}' (rows cannot be added or their hidden key changed)")
                continue
            if key in seen:
                problems.append(f"sheet '{group_sheet}', row {r}: group {snapshot['groups'][key]['cluster']} appears twice (a copied row?); keep one row per group")
                continue
            seen.add(key)
            original = snapshot["groups"][key]
            for name, value in zip(readonly, original["readonly"]):
                if not _same(getattr(cells[name], "value", None) if cells[name] is not None else "", value):
                    problems.append(f"sheet '{group_sheet}', row {r}, column '{name}': read-only cell was edited; restore '{str(value)[:40]}' and put your change in the yellow columns")
            edits = {}
            for name in EDITABLE_GROUP:
                cell = cells[name]
                if getattr(cell, "data_type", None) == "f":
                    problems.append(f"sheet '{group_sheet}', row {r}, column '{name}': a formula is not allowed; type the value as text")
                edits[name] = _cell_text(cell)
            written = [_written(v) for v in original["editable"]] if "editable" in original else None
            typed = [edits[name] for name in EDITABLE_GROUP]
            now = [_written(v) for v in group_cells(state, key)]
            if written is None or not _same_decision(typed[:4], written[:4]):
                desired = _group_decision(edits, original, key, r, by_cluster, codes, problems, sheets)
                if desired is not None:
                    if written is not None and not _same_decision(now[:4], written[:4]) and not _same_decision(now[:4], typed[:4]) and not overwrite:
                        conflicts.append(f"sheet '{group_sheet}', row {r} (group {original['cluster']}): this workbook sets the decision "
                                         f"to '{_describe(typed[:4])}' but '{_describe(now[:4])}' was recorded after it was written")
                    else:
                        wanted_groups[key] = desired
            if written is None or typed[4] != written[4]:
                if written is not None and now[4] != written[4] and now[4] != typed[4] and not overwrite:
                    conflicts.append(f"sheet '{group_sheet}', row {r} (group {original['cluster']}), column 'notes': changed here and "
                                     "also in a later import")
                else:
                    notes_groups[key] = typed[4]
        if "editable" in next(iter(snapshot["groups"].values()), {}):
            _deleted(group_sheet, "group", [str(snapshot["groups"][k]["cluster"]) for k in snapshot["groups"] if k not in seen], problems)
        _check_merges(wanted_groups, snapshot, state, problems, group_sheet)

    # ---- answers
    where, rows = _read_sheet(wb, answer_sheet, snapshot["answer_columns"], problems, keys=[c[0] for c in ANSWER_COLUMNS])
    wanted_answers: dict[str, str | None] = {}
    notes_answers: dict[str, str] = {}
    answer_keys = _Keys(snapshot["answers"])
    if where is not None:
        readonly = [name for name, editable, _ in ANSWER_COLUMNS if not editable]
        seen = set()
        for r, cells in _filled_rows(rows, where):
            answer_id = answer_keys.find(_raw_text(cells["id"]))
            if answer_id is None:
                problems.append(f"sheet '{answer_sheet}', row {r}, column 'id': unknown answer '{_cell_text(cells['id'])[:40]}' (rows cannot be added and ids are read-only)")
                continue
            if answer_id in seen:
                problems.append(f"sheet '{answer_sheet}', row {r}: answer '{answer_id[:40]}' appears twice (a copied row?); keep one row per answer")
                continue
            seen.add(answer_id)
            original = snapshot["answers"][answer_id]
            for name, value in zip(readonly, original["readonly"]):
                if name == "id":
                    continue  # matched above (exactly, or with line ends and edge spaces normalised)
                if not _same(getattr(cells[name], "value", None) if cells[name] is not None else "", value):
                    problems.append(f"sheet '{answer_sheet}', row {r}, column '{name}': read-only cell was edited; restore '{str(value)[:40]}' and use 'override code' or 'notes'")
            override_cell, note_cell = cells["override code"], cells["notes"]
            for name, cell in (("override code", override_cell), ("notes", note_cell)):
                if getattr(cell, "data_type", None) == "f":
                    problems.append(f"sheet '{answer_sheet}', row {r}, column '{name}': a formula is not allowed; type the value as text")
            override, note = _cell_text(override_cell), _cell_text(note_cell)
            written = [_written(v) for v in original["editable"]] if "editable" in original else None
            now = [_written(v) for v in answer_cells(state, answer_id)]
            if written is None or _override_key(override, no_code) != _override_key(written[0], no_code):
                if override and override.casefold() not in no_code and override not in codes:
                    problems.append(f"sheet '{answer_sheet}', row {r}, column 'override code': unknown code '{override[:40]}'; use a code of sheet '{codebook_sheet}' or '{NO_CODE}'")
                    continue
                if (written is not None and _override_key(now[0], no_code) != _override_key(written[0], no_code)
                        and _override_key(now[0], no_code) != _override_key(override, no_code) and not overwrite):
                    conflicts.append(f"sheet '{answer_sheet}', row {r} (answer '{answer_id[:30]}'): this workbook sets 'override code' to "
                                     f"'{override or '(empty)'}' but '{now[0] or '(empty)'}' was recorded after it was written")
                else:
                    wanted_answers[answer_id] = None if not override else ("" if override.casefold() in no_code else override)
            if written is None or note != written[1]:
                if written is not None and now[1] != written[1] and now[1] != note and not overwrite:
                    conflicts.append(f"sheet '{answer_sheet}', row {r} (answer '{answer_id[:30]}'), column 'notes': changed here and also in a later import")
                else:
                    notes_answers[answer_id] = note
        if "editable" in next(iter(snapshot["answers"].values()), {}):
            _deleted(answer_sheet, "answer", [k for k in snapshot["answers"] if k not in seen], problems)

    if problems:
        shown = problems[:12]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise ReviewError(f"{workbook.name}: {len(problems)} problem(s), nothing recorded: " + " ; ".join(shown) + more)
    if conflicts:
        shown = conflicts[:8]
        more = f" (and {len(conflicts) - len(shown)} more)" if len(conflicts) > len(shown) else ""
        raise ReviewError(f"{workbook.name}: {len(conflicts)} conflict(s) with decisions recorded after this workbook was written, "
                          "nothing recorded: " + " ; ".join(shown) + more +
                          "; import the newest review.xlsx (run again to get one), or add --overwrite to let this workbook's edits win")

    _validate_merge_targets(wanted_groups, snapshot, state)
    entries = _changes(state, snapshot, wanted_groups, notes_groups, wanted_answers, notes_answers)
    counts = {kind: sum(1 for e in entries if e["kind"] == kind) for kind in ("group_decision", "group_note", "answer_override", "answer_note")}
    # Always record which answers the analyst has seen: they are not "new" on the next run.
    entries.append({"kind": "import", "target": {"workbook": workbook_id, "file": workbook.name},
                    "value": {"answers": sorted(snapshot["answers"]), "counts": counts}})
    stored = DecisionStore(outdir).append(entries, analyst=analyst)
    return ImportResult(records=stored, counts=counts, workbook_id=workbook_id)


EDITABLE_GROUP = ("decision", "rename to", "merge into", "move to code", "notes")


def _decision_key(word: str) -> str:
    """The stored decision a typed word means, in any language of the workbooks ('accepter',
    'aanvaarden', 'Accept' -> 'accept'); other text casefolded."""
    return decision_words(DECISIONS).get(word.casefold(), word.casefold())


def _same_decision(a: list[str], b: list[str]) -> bool:
    """Two (decision, rename to, merge into, move to code) cell groups mean the same."""
    return [_decision_key(a[0])] + a[1:] == [_decision_key(b[0])] + b[1:]


def _describe(cells: list[str]) -> str:
    decision, rename, merge, move = cells
    if not any(cells):
        return "(undecided)"
    extra = rename or (f"into {merge}" if merge else "") or move
    return f"{decision or 'accept'}{' ' + extra if extra else ''}"


def _override_key(value: str, no_code: set[str]) -> str:
    return NO_CODE if value.casefold() in no_code else value


def _group_decision(edits: dict, original: dict, key: str, r: int, by_cluster: dict, codes: set, problems: list,
                    sheets: dict[str, str]) -> dict | None:
    """The decision a group row asks for, or None when the row is invalid."""
    group_sheet, codebook_sheet = sheets["groups"], sheets["codebook"]
    where = f"sheet '{group_sheet}', row {r}"
    decision = _decision_key(edits["decision"])
    rename, merge, move = edits["rename to"], edits["merge into"], edits["move to code"]
    if not decision:  # infer from a single filled value column
        filled = [d for d, v in (("rename", rename), ("merge", merge), ("move", move)) if v]
        decision = filled[0] if len(filled) == 1 else ("accept" if filled else "")
    if decision and decision not in DECISIONS:
        problems.append(f"{where}, column 'decision': '{edits['decision']}' is not one of {', '.join(DECISIONS)}")
        return None
    ok = True
    if decision == "rename" and not rename:
        problems.append(f"{where}, column 'rename to': decision is rename but no new name is given")
        ok = False
    if decision == "merge":
        if not merge:
            problems.append(f"{where}, column 'merge into': decision is merge but no group number is given")
            ok = False
        elif not re.fullmatch(r"-?\d+", merge) or int(merge) not in by_cluster:
            problems.append(f"{where}, column 'merge into': group '{merge}' does not exist in this workbook")
            ok = False
        elif by_cluster[int(merge)] == key:
            problems.append(f"{where}, column 'merge into': a group cannot be merged into itself")
            ok = False
        if rename or move:
            problems.append(f"{where}: a merged group takes its target's name and code; leave 'rename to' and 'move to code' empty")
            ok = False
    if decision == "move" and not move:
        problems.append(f"{where}, column 'move to code': decision is move but no code is given")
        ok = False
    if move and move not in codes:
        problems.append(f"{where}, column 'move to code': unknown code '{move}'; use a code of sheet '{codebook_sheet}'")
        ok = False
    if decision == "reject" and (rename or merge or move):
        problems.append(f"{where}: a rejected group cannot also be renamed, merged or moved")
        ok = False
    if merge and decision != "merge":
        problems.append(f"{where}, column 'merge into': a group number is given but the decision is '{decision}'; choose merge or clear the cell")
        ok = False
    if not ok:
        return None
    value = {"decision": decision, "name": "", "move_to": "", "merge_into": ""}
    if decision in ("accept", "rename", "move"):
        value["name"] = rename or original["name"]
        value["move_to"] = move
        if rename:
            value["decision"] = "rename"
    elif decision == "merge":
        value["merge_into"] = by_cluster[int(merge)]
    return value


def _validate_merge_targets(wanted: dict, snapshot: dict, state: DecisionState) -> None:
    """Merging into a group validates that group: an undecided target is accepted as drafted,
    so its id and members hold on later runs like any validated group."""
    for value in list(wanted.values()):
        target = value.get("merge_into")
        while target and wanted.get(target, {}).get("decision") == "merge":
            target = wanted[target]["merge_into"]
        if not target:
            continue
        decided_before = bool(target in state.groups and state.groups[target].decision)
        undecided = (target in wanted and not wanted[target]["decision"]) or (target not in wanted and not decided_before)
        if undecided:
            wanted[target] = {"decision": "accept", "name": snapshot["groups"][target]["name"], "move_to": "", "merge_into": "",
                              "implicit": "accepted as the target of a merge"}


def _check_merges(wanted: dict, snapshot: dict, state: DecisionState, problems: list, group_sheet: str = GROUP_SHEET) -> None:
    clusters = {key: g["cluster"] for key, g in snapshot["groups"].items()}
    for key, value in wanted.items():
        seen, current = [key], value
        while current and current["decision"] == "merge":
            target = current["merge_into"]
            if target in seen:
                problems.append(f"sheet '{group_sheet}', column 'merge into': merges form a cycle ({' -> '.join(str(clusters.get(k, k)) for k in seen + [target])})")
                break
            seen.append(target)
            current = wanted.get(target)
            if current is None and target in state.groups and state.groups[target].decision:
                current = {"decision": state.groups[target].decision, "merge_into": state.groups[target].merge_into}
            if current and current["decision"] == "reject":
                problems.append(f"sheet '{group_sheet}', column 'merge into': group {clusters[key]} is merged into group {clusters.get(target, target)}, which is rejected")
                break


def _changes(state, snapshot, wanted_groups, notes_groups, wanted_answers, notes_answers) -> list[dict]:
    entries = []
    for key, value in wanted_groups.items():
        group = snapshot["groups"][key]
        current = state.groups.get(key)
        target = {"group": key, "cluster": group["cluster"], "code": group["code"], "members": group["members"]}
        if value["merge_into"]:
            value = {**value, "merge_into_cluster": snapshot["groups"][value["merge_into"]]["cluster"]}
        before = {"decision": current.decision, "name": current.name, "move_to": current.move_to, "merge_into": current.merge_into} if current else {"decision": "", "name": "", "move_to": "", "merge_into": ""}
        after = {k: value[k] for k in before}
        if before["decision"] == "" and after["decision"] == "":
            pass
        elif before != after or (after["decision"] and sorted(current.members if current else []) != sorted(group["members"])):
            entries.append({"kind": "group_decision", "target": target, "value": value})
        note = notes_groups.get(key, "")
        if note != (current.note if current else ""):
            entries.append({"kind": "group_note", "target": target, "value": {"note": note}})
    for answer_id, code in wanted_answers.items():
        current = state.answers.get(answer_id)
        target = {"id": answer_id, "text_sha1": snapshot["answers"][answer_id]["text_sha1"]}
        if (current.code if current else None) != code:
            entries.append({"kind": "answer_override", "target": target, "value": {"code": code}})
        note = notes_answers.get(answer_id, "")
        if note != (current.note if current else ""):
            entries.append({"kind": "answer_note", "target": target, "value": {"note": note}})
    return entries


def _filled_rows(rows, where: dict[str, int]):
    """(row number, column name -> cell) for each sheet row that holds something."""
    for r, row in rows:
        cells = {name: row[i] if i < len(row) else None for name, i in where.items()}
        if not all(c is None or getattr(c, "value", None) in (None, "") for c in cells.values()):
            yield r, cells
