"""Importing an analyst's review workbook: every edit checked against the workbook's own
snapshot, then appended to the decision store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from criteria_nlp.errors import CriteriaNLPError
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
)


class ReviewError(CriteriaNLPError):
    """The review workbook cannot be imported (unknown codes, edited read-only cells...)."""


@dataclass
class ImportResult:
    records: list[dict]
    counts: dict
    workbook_id: str


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _same(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6
    except (TypeError, ValueError):
        return str(a if a is not None else "").strip() == str(b if b is not None else "").strip()


def _sheet_rows(wb, sheet: str, columns: list[str], problems: list[str]):
    if sheet not in wb.sheetnames:
        problems.append(f"sheet '{sheet}' is missing: import the workbook that 'criteria-nlp run' wrote, without deleting sheets")
        return None, {}
    ws = wb[sheet]
    header = [_cell_text(c) for c in ws[1]]
    where = {}
    for name in columns:
        if name not in header:
            problems.append(f"sheet '{sheet}', row 1: column '{name}' is missing; do not rename or delete columns")
        else:
            where[name] = header.index(name)
    return ws, where


def import_review(workbook: str | Path, outdir: str | Path, analyst: str | None = None) -> ImportResult:
    """Validate a review workbook against the snapshot written with it and append the
    analyst's decisions that differ from the store's current state. Nothing is recorded
    when any problem is found (ReviewError lists them, naming sheet, row and column)."""
    from openpyxl import load_workbook

    workbook, outdir = Path(workbook), Path(outdir)
    if not workbook.exists():
        raise ReviewError(f"{workbook}: no such workbook")
    if not outdir.is_dir():
        raise ReviewError(f"{outdir}: no such project folder; give the -o folder of 'criteria-nlp run' as --project")
    try:
        wb = load_workbook(workbook, data_only=False)
    except Exception as exc:  # zip/XML errors from a damaged or foreign file
        raise ReviewError(f"{workbook.name}: cannot be read as an .xlsx workbook ({type(exc).__name__}); save it as Excel .xlsx and try again") from None
    if ABOUT_SHEET not in wb.sheetnames or wb[ABOUT_SHEET]["A1"].value != "workbook_id":
        raise ReviewError(f"{workbook.name}: not a criteria-nlp review workbook (its hidden '{ABOUT_SHEET}' sheet is missing)")
    workbook_id = str(wb[ABOUT_SHEET]["B1"].value)
    snapshot_path = outdir / SNAPSHOT_DIR / f"{workbook_id}.json"
    if not snapshot_path.exists():
        raise ReviewError(f"{workbook.name} was not written by a run in {outdir} (no snapshot {workbook_id}); import it with the --project folder it came from")
    snapshot = json.loads(snapshot_path.read_text(encoding="utf-8"))
    state = DecisionState.load(outdir)
    codes = set(snapshot["codes"])
    problems: list[str] = []

    # ---- groups
    ws, where = _sheet_rows(wb, GROUP_SHEET, snapshot["group_columns"], problems)
    by_cluster = {g["cluster"]: key for key, g in snapshot["groups"].items()}
    wanted_groups: dict[str, dict] = {}
    notes_groups: dict[str, str] = {}
    if ws is not None and not problems:
        readonly = [name for name, editable, _ in GROUP_COLUMNS if not editable and name != "group key"]
        for row in ws.iter_rows(min_row=2):
            cells = {name: row[i] if i < len(row) else None for name, i in where.items()}
            if all(c is None or c.value in (None, "") for c in cells.values()):
                continue
            r = row[0].row
            key = _cell_text(cells["group key"]) if cells["group key"] is not None else ""
            if key not in snapshot["groups"]:
                problems.append(f"sheet '{GROUP_SHEET}', row {r}, column 'group key': unknown group '{key}' (rows cannot be added or their hidden key changed)")
                continue
            original = snapshot["groups"][key]
            for name, value in zip(readonly, original["readonly"]):
                if not _same(cells[name].value if cells[name] is not None else "", value):
                    problems.append(f"sheet '{GROUP_SHEET}', row {r}, column '{name}': read-only cell was edited; restore '{str(value)[:40]}' and put your change in the yellow columns")
            edits = {}
            for name in ("decision", "rename to", "merge into", "move to code", "notes"):
                cell = cells[name]
                if cell is not None and cell.data_type == "f":
                    problems.append(f"sheet '{GROUP_SHEET}', row {r}, column '{name}': a formula is not allowed; type the value as text")
                edits[name] = _cell_text(cell) if cell is not None else ""
            desired = _group_decision(edits, original, key, r, by_cluster, codes, problems)
            if desired is not None:
                wanted_groups[key] = desired
            notes_groups[key] = edits["notes"]
        _check_merges(wanted_groups, snapshot, state, problems)

    # ---- answers
    ws, where = _sheet_rows(wb, ANSWER_SHEET, snapshot["answer_columns"], problems)
    wanted_answers: dict[str, str | None] = {}
    notes_answers: dict[str, str] = {}
    if ws is not None and where and len(where) == len(snapshot["answer_columns"]):
        readonly = [name for name, editable, _ in ANSWER_COLUMNS if not editable]
        for row in ws.iter_rows(min_row=2):
            cells = {name: row[i] if i < len(row) else None for name, i in where.items()}
            if all(c is None or c.value in (None, "") for c in cells.values()):
                continue
            r = row[0].row
            answer_id = _cell_text(cells["id"])
            if answer_id not in snapshot["answers"]:
                problems.append(f"sheet '{ANSWER_SHEET}', row {r}, column 'id': unknown answer '{answer_id}' (rows cannot be added and ids are read-only)")
                continue
            for name, value in zip(readonly, snapshot["answers"][answer_id]["readonly"]):
                if not _same(cells[name].value if cells[name] is not None else "", value):
                    problems.append(f"sheet '{ANSWER_SHEET}', row {r}, column '{name}': read-only cell was edited; restore '{str(value)[:40]}' and use 'override code' or 'notes'")
            override_cell, note_cell = cells["override code"], cells["notes"]
            for name, cell in (("override code", override_cell), ("notes", note_cell)):
                if cell is not None and cell.data_type == "f":
                    problems.append(f"sheet '{ANSWER_SHEET}', row {r}, column '{name}': a formula is not allowed; type the value as text")
            override = _cell_text(override_cell) if override_cell is not None else ""
            if override and override.casefold() != NO_CODE and override not in codes:
                problems.append(f"sheet '{ANSWER_SHEET}', row {r}, column 'override code': unknown code '{override}'; use a code of sheet '{CODEBOOK_SHEET}' or '{NO_CODE}'")
                continue
            wanted_answers[answer_id] = None if not override else ("" if override.casefold() == NO_CODE else override)
            notes_answers[answer_id] = _cell_text(note_cell) if note_cell is not None else ""

    if problems:
        shown = problems[:12]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        raise ReviewError(f"{workbook.name}: {len(problems)} problem(s), nothing recorded: " + " ; ".join(shown) + more)

    _validate_merge_targets(wanted_groups, snapshot, state)
    entries = _changes(state, snapshot, wanted_groups, notes_groups, wanted_answers, notes_answers)
    counts = {kind: sum(1 for e in entries if e["kind"] == kind) for kind in ("group_decision", "group_note", "answer_override", "answer_note")}
    # Always record which answers the analyst has seen: they are not "new" on the next run.
    entries.append({"kind": "import", "target": {"workbook": workbook_id, "file": workbook.name},
                    "value": {"answers": sorted(snapshot["answers"]), "counts": counts}})
    stored = DecisionStore(outdir).append(entries, analyst=analyst)
    return ImportResult(records=stored, counts=counts, workbook_id=workbook_id)


def _group_decision(edits: dict, original: dict, key: str, r: int, by_cluster: dict, codes: set, problems: list) -> dict | None:
    """The decision a group row asks for, or None when the row is invalid."""
    where = f"sheet '{GROUP_SHEET}', row {r}"
    decision = edits["decision"].casefold()
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
        problems.append(f"{where}, column 'move to code': unknown code '{move}'; use a code of sheet '{CODEBOOK_SHEET}'")
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


def _check_merges(wanted: dict, snapshot: dict, state: DecisionState, problems: list) -> None:
    clusters = {key: g["cluster"] for key, g in snapshot["groups"].items()}
    for key, value in wanted.items():
        seen, current = [key], value
        while current and current["decision"] == "merge":
            target = current["merge_into"]
            if target in seen:
                problems.append(f"sheet '{GROUP_SHEET}', column 'merge into': merges form a cycle ({' -> '.join(str(clusters.get(k, k)) for k in seen + [target])})")
                break
            seen.append(target)
            current = wanted.get(target)
            if current is None and target in state.groups and state.groups[target].decision:
                current = {"decision": state.groups[target].decision, "merge_into": state.groups[target].merge_into}
            if current and current["decision"] == "reject":
                problems.append(f"sheet '{GROUP_SHEET}', column 'merge into': group {clusters[key]} is merged into group {clusters.get(target, target)}, which is rejected")
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
