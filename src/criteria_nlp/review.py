"""The human validation round-trip: a review workbook for analysts, its import, an
append-only decision store, and the step that re-applies every decision on later runs.

Decisions about answers are anchored to answer ids. Decisions about criteria groups are
anchored to the group's members: cluster ids are renumbered whenever answers are added, so
a group is known by a key derived from its member ids when it was first decided, and from
then on it *is* its recorded members. A validated group keeps its cluster id on later runs,
its members stay in it, new answers are proposed into it when they are as close to it as
its own members are, and no other group can take its id. Anything that no longer applies
(an answer removed from the input, a merge into a group that was undone) is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CriteriaNLPError
from .outputs import FORMULA_PREFIXES

STORE_NAME = "decisions.jsonl"
REPORT_NAME = "decisions_report.csv"
SNAPSHOT_DIR = "review-snapshots"
GROUP_SHEET = "Criteria groups"
ANSWER_SHEET = "Answers"
INDICATOR_SHEET = "Indicators (draft)"
CODEBOOK_SHEET = "Codebook"
README_SHEET = "Read me"
LISTS_SHEET = "_lists"
ABOUT_SHEET = "_about"
DECISIONS = ("accept", "rename", "merge", "move", "reject")
NO_CODE = "none"

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


class DecisionStoreError(CriteriaNLPError):
    """The decision store is unreadable or was altered; it is never overwritten."""


class ReviewError(CriteriaNLPError):
    """The review workbook cannot be imported (unknown codes, edited read-only cells...)."""


# ============================================================================ decision store

def _line_checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


class DecisionStore:
    """OUTDIR/decisions.jsonl: one JSON record per line (seq, timestamp, analyst, kind, target,
    value), each with a checksum that also covers the previous line's checksum, so an edited,
    deleted or reordered line is detected. Only ever appended to."""

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir) / STORE_NAME

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            raise DecisionStoreError(
                f"{self.path}: the last line is incomplete (an interrupted import?); "
                "remove that partial last line by hand, then import the workbook again"
            )
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DecisionStoreError(
                f"{self.path}: byte {exc.start} is not UTF-8 (the store was damaged or saved in another encoding); "
                "restore it from a backup (it is never rewritten)"
            ) from None
        records, previous = [], ""
        # Split on "\n" only: notes may hold U+2028 or other characters that splitlines() breaks on.
        for number, line in enumerate(text[:-1].split("\n") if text else [], start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DecisionStoreError(f"{self.path} line {number}: not valid JSON ({exc.msg}); the store was edited or damaged — restore it from a backup (it is never rewritten)") from None
            if not isinstance(record, dict) or record.get("sha256") != _line_checksum(record) or record.get("previous") != previous:
                raise DecisionStoreError(f"{self.path} line {number}: checksum mismatch — the line was edited, removed or reordered by hand; restore the file from a backup (it is never rewritten)")
            if record.get("seq") != number:
                raise DecisionStoreError(f"{self.path} line {number}: sequence number {record.get('seq')} where {number} was expected; restore the file from a backup")
            previous = record["sha256"]
            records.append(record)
        return records

    def append(self, entries: list[dict], analyst: str | None = None) -> list[dict]:
        """Append entries (kind, target, value); returns the stored records."""
        existing = self.records()  # refuses to append to a damaged store
        previous = existing[-1]["sha256"] if existing else ""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        stored, lines = [], []
        for offset, entry in enumerate(entries, start=1):
            record = {
                "seq": len(existing) + offset,
                "timestamp": stamp,
                "analyst": analyst or None,
                "kind": entry["kind"],
                "target": entry["target"],
                "value": entry.get("value"),
                "previous": previous,
            }
            record["sha256"] = previous = _line_checksum(record)
            stored.append(record)
            lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write in append mode, then fsync: a crash leaves at worst a partial last line,
            # which records() reports instead of silently dropping.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return stored


# ============================================================================ folded state

def group_key(member_ids) -> str:
    """A group's identity: a hash of its member ids when it is first decided."""
    digest = hashlib.sha1("\n".join(sorted(str(i) for i in member_ids)).encode("utf-8")).hexdigest()
    return f"g-{digest[:12]}"


def _text_hash(text: str) -> str:
    return hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:12]


@dataclass
class GroupState:
    key: str
    cluster: int
    code: str
    members: list[str]
    decision: str = ""        # accept / rename / merge / move / reject / "" (undecided)
    name: str = ""            # frozen name (accepted as drafted, or the analyst's)
    move_to: str = ""
    merge_into: str = ""      # key
    note: str = ""
    analyst: str = ""
    seq: int = 0

    @property
    def status(self) -> str:
        return {"reject": "rejected", "merge": "merged", "": ""}.get(self.decision, "accepted")

    @property
    def final_code(self) -> str:
        return self.move_to or self.code


@dataclass
class AnswerState:
    id: str
    code: str | None = None   # None: no override; "" = analyst says no code
    text_hash: str = ""
    note: str = ""
    analyst: str = ""
    seq: int = 0


@dataclass
class DecisionState:
    groups: dict[str, GroupState] = field(default_factory=dict)
    answers: dict[str, AnswerState] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    records: list[dict] = field(default_factory=list)

    @classmethod
    def from_records(cls, records: list[dict]) -> "DecisionState":
        state = cls(records=list(records))
        for record in records:
            kind, target, value = record["kind"], record["target"], record.get("value") or {}
            analyst = record.get("analyst") or ""
            if kind in ("group_decision", "group_note"):
                key = target["group"]
                group = state.groups.get(key) or GroupState(key, int(target["cluster"]), target.get("code", ""), list(target.get("members", [])))
                group.cluster, group.code = int(target["cluster"]), target.get("code", "")
                group.members = list(target.get("members", group.members))
                if kind == "group_decision":
                    group.decision = value.get("decision", "")
                    group.name = value.get("name", "")
                    group.move_to = value.get("move_to", "")
                    group.merge_into = value.get("merge_into", "")
                    group.analyst, group.seq = analyst, record["seq"]
                else:
                    group.note = value.get("note", "")
                state.groups[key] = group
            elif kind in ("answer_override", "answer_note"):
                answer = state.answers.get(target["id"]) or AnswerState(target["id"])
                answer.text_hash = target.get("text_sha1", answer.text_hash)
                if kind == "answer_override":
                    answer.code = value.get("code")
                    answer.analyst, answer.seq = analyst, record["seq"]
                else:
                    answer.note = value.get("note", "")
                state.answers[target["id"]] = answer
            elif kind == "import":
                state.seen_ids.update(value.get("answers", []))
        return state

    @classmethod
    def load(cls, outdir: str | Path) -> "DecisionState":
        return cls.from_records(DecisionStore(outdir).records())

    def decided(self) -> list[GroupState]:
        return sorted((g for g in self.groups.values() if g.decision), key=lambda g: g.seq)

    def overrides(self) -> dict[str, AnswerState]:
        return {k: a for k, a in self.answers.items() if a.code is not None}

    def final_group(self, key: str) -> tuple[GroupState | None, str]:
        """Follow merges to the group that receives the members; (None, why) when broken."""
        seen = []
        group = self.groups.get(key)
        while group is not None and group.decision == "merge":
            if group.key in seen:
                return None, f"merge cycle through {' -> '.join(seen + [group.key])}"
            seen.append(group.key)
            target = self.groups.get(group.merge_into)
            if target is None or not target.decision:
                return None, f"group {group.cluster} was merged into group key {group.merge_into}, which is no longer a decided group"
            group = target
        return group, ""


# ============================================================================ applying decisions

def _report(record_seq, kind, target, status, message, state: DecisionState) -> dict:
    record = next((r for r in state.records if r["seq"] == record_seq), {})
    return {
        "record": record_seq, "timestamp": record.get("timestamp", ""), "analyst": record.get("analyst") or "",
        "kind": kind, "target": target, "status": status, "message": message,
    }


def apply_answer_decisions(answers: pd.DataFrame, state: DecisionState, codebook=None) -> list[dict]:
    """Give overridden answers their analyst's code (in place). Adds `code_proposed` (the
    machine's code) and `code_source` (model / analyst). Returns report rows."""
    answers["code_proposed"] = answers["code"].astype(str)
    answers["code_source"] = np.where(answers["code"].astype(str) != "", "model", "")
    index = {str(i): n for n, i in zip(answers.index, answers["id"].astype(str))}
    report = []
    for answer_id, decision in sorted(state.overrides().items(), key=lambda kv: kv[1].seq):
        row = index.get(answer_id)
        if row is None:
            report.append(_report(decision.seq, "answer_override", answer_id, "not applicable",
                                  f"answer {answer_id} is no longer in the input; its override to '{decision.code or NO_CODE}' is kept in the store", state))
            continue
        code = decision.code or ""
        language = str(answers.at[row, "language"]) if "language" in answers.columns else None
        answers.at[row, "code"] = code
        answers.at[row, "code_label"] = codebook.label(code, language) if (codebook is not None and code) else ""
        answers.at[row, "code_source"] = "analyst"
        message = f"answer {answer_id} coded '{code or NO_CODE}' by the analyst"
        if decision.text_hash and decision.text_hash != _text_hash(answers.at[row, "text"]):
            message += " (its text changed since the decision: check it)"
        report.append(_report(decision.seq, "answer_override", answer_id, "applied", message, state))
    return report


def apply_group_decisions(answers: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, state: DecisionState,
                          codebook=None) -> list[dict]:
    """Re-impose the validated synthesis on a run's clusters (in place): validated groups keep
    their members and cluster id, merged groups join their target, rejected groups' answers
    get no group (-1), groups moved to a code give that code to their members (unless an
    answer was overridden), new answers are proposed into the closest validated group of
    their code when they are as close to it as its own members, and discovered groups are
    renumbered so no id of a decided group is reused. `vectors` are the rows `rows` (mask)."""
    from .discover import centre_by_language

    answers["cluster_source"] = np.where(answers["cluster"].astype(int) >= 0, "discovered", "")
    decided = state.decided()
    if not decided:
        return []
    rows = np.asarray(rows, dtype=bool)
    ids = answers["id"].astype(str).to_numpy()
    position = {ids[n]: n for n in range(len(ids)) if rows[n]}
    overrides = state.overrides()
    report: list[dict] = []
    reserved = {g.cluster for g in decided}
    owner: dict[str, GroupState] = {}
    via: dict[str, GroupState] = {}  # the decided group that put the answer where it is

    for group in decided:
        final, why = state.final_group(group.key)
        if final is None:
            report.append(_report(group.seq, "group_decision", f"group {group.cluster}", "not applicable", why + "; its answers follow the new clustering", state))
            continue
        missing = [m for m in group.members if m not in position]
        if missing:
            report.append(_report(group.seq, "group_decision", f"group {group.cluster}", "partly applicable",
                                  f"{len(missing)} answer(s) of group {group.cluster} are no longer in the input: {' '.join(missing[:20])}", state))
        for member in group.members:
            if member not in position:
                continue
            override = overrides.get(member)
            if final.status == "accepted" and override is not None and (override.code or "") != final.final_code and override.seq > final.seq:
                report.append(_report(override.seq, "answer_override", member, "applied",
                                      f"answer {member} left group {final.cluster} after its override to '{override.code or NO_CODE}'", state))
                continue
            if member in owner and owner[member].key != final.key:
                report.append(_report(group.seq, "group_decision", member, "conflict",
                                      f"answer {member} belongs to groups {owner[member].cluster} and {final.cluster}; the later decision (group {final.cluster}) wins", state))
            owner[member] = final
            via[member] = group
        status = {"accepted": "applied", "rejected": "applied", "merged": "applied"}[group.status]
        detail = {"accepted": f"group {group.cluster} kept as validated", "rejected": f"group {group.cluster} rejected: its answers have no group",
                  "merged": f"group {group.cluster} merged into group {final.cluster}"}[group.status]
        report.append(_report(group.seq, "group_decision", f"group {group.cluster}", status, detail, state))

    cluster = answers["cluster"].astype(int).to_numpy().copy()
    source = answers["cluster_source"].to_numpy().copy()
    held = np.zeros(len(answers), dtype=bool)
    for member, group in owner.items():
        n = position[member]
        held[n] = True
        if group.status == "rejected":
            cluster[n], source[n] = -1, "rejected by analyst"
            continue
        cluster[n], source[n] = group.cluster, "validated"
        # A group moved to a code, or merged into a group of another code, gives its members
        # that code (an answer's own override still wins).
        recode = group.move_to or (group.final_code if via[member].decision == "merge" else "")
        if recode and member not in overrides and str(answers.iloc[n]["code"]) != recode:
            language = str(answers.iloc[n]["language"]) if "language" in answers.columns else None
            answers.iloc[n, answers.columns.get_loc("code")] = recode
            answers.iloc[n, answers.columns.get_loc("code_label")] = codebook.label(recode, language) if codebook is not None else ""
            if "code_source" in answers.columns:
                answers.iloc[n, answers.columns.get_loc("code_source")] = "analyst (group)"

    # New answers: proposed into the validated group of their code whose centre is closest,
    # when at least as close as the group's 10th-percentile member.
    validated = {g.key: g for g in owner.values() if g.status == "accepted"}
    new = [n for n in np.flatnonzero(rows) if not held[n] and ids[n] not in state.seen_ids]
    if validated and new:
        row_positions = np.flatnonzero(rows)
        languages = answers["language"].astype(str).to_numpy()[row_positions] if "language" in answers.columns else None
        centred = centre_by_language(np.asarray(vectors, dtype=np.float64), languages)
        vector_of = {n: centred[i] for i, n in enumerate(row_positions)}
        codes = answers["code"].astype(str).to_numpy()
        centres = {}
        for key, group in validated.items():
            members = [position[m] for m, g in owner.items() if g.key == key]
            matrix = np.array([vector_of[n] for n in members])
            centre = matrix.mean(axis=0)
            centre /= np.linalg.norm(centre) or 1.0
            sims = matrix @ centre
            centres[key] = (centre, float(np.percentile(sims, 10)) if len(sims) >= 3 else float(sims.min()))
        proposed = 0
        for n in new:
            candidates = [(float(vector_of[n] @ centres[k][0]), k) for k, g in validated.items() if g.final_code == codes[n]]
            if not candidates:
                continue
            similarity, key = max(candidates)
            if similarity >= centres[key][1]:
                cluster[n], source[n] = validated[key].cluster, "proposed (validated group)"
                held[n] = True
                proposed += 1
        report.append(_report(0, "new_answers", f"{len(new)} new answers", "applied",
                              f"{proposed} of {len(new)} new answers proposed into validated groups; the others follow the new clustering", state))

    # Discovered groups never reuse a decided group's id.
    mapping, next_id = {}, max([int(c) for c in cluster] + list(reserved) + [-1]) + 1
    for c in sorted(set(cluster[~held & (cluster >= 0)])):
        if c in reserved:
            mapping[c], next_id = next_id, next_id + 1
    for n in np.flatnonzero(~held & (cluster >= 0)):
        cluster[n] = mapping.get(cluster[n], cluster[n])
    answers["cluster"] = cluster
    answers["cluster_source"] = source
    return report


def group_names(state: DecisionState) -> dict[int, str]:
    """cluster id -> the frozen name of each validated group."""
    return {g.cluster: g.name for g in state.decided() if g.status == "accepted" and g.name}


def group_status_text(group: GroupState | None) -> str:
    if group is None or not group.decision:
        return "proposed"
    who = f" by {group.analyst}" if group.analyst else ""
    return {"accepted": f"validated{who}", "rejected": f"rejected{who}", "merged": f"merged{who}"}[group.status]


# ============================================================================ workbook

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

    from .outputs import write_bytes_atomic

    state = state or DecisionState()
    codable = [c.code for c in codebook.codable()]
    group_rows, answer_rows = [], []
    snapshot_groups, snapshot_answers = {}, {}
    for g in groups.itertuples(index=False):
        decided = state.groups.get(g.key)
        decision = [decided.decision, decided.name if decided.decision == "rename" else "",
                    (state.groups[decided.merge_into].cluster if decided.merge_into in state.groups else "") if decided.decision == "merge" else "",
                    decided.move_to, decided.note] if decided else ["", "", "", "", ""]
        readonly = [int(g.cluster), g.code, g.code_label, group_status_text(decided), int(g.size), g.languages, g.cities,
                    g.name, g.levels, g.keyphrases, g.examples]
        group_rows.append(readonly + decision + [g.key])
        snapshot_groups[g.key] = {"readonly": [_clean(v) for v in readonly], "cluster": int(g.cluster), "code": g.code,
                                  "members": list(g.members), "name": g.name}
    for a in answers.itertuples(index=False):
        override = state.answers.get(str(a.id))
        override_cell = "" if override is None or override.code is None else (override.code or NO_CODE)
        readonly = [a.id, a.text, a.language, a.city, a.group, a.question, a.code_proposed, a.code_label,
                    (round(float(a.confidence), 4) if str(a.confidence) not in ("", "nan") else ""), int(a.cluster), a.review_status]
        answer_rows.append(readonly + [override_cell, override.note if override else ""])
        snapshot_answers[str(a.id)] = {"readonly": [_clean(v) for v in readonly], "text_sha1": _text_hash(a.text)}
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


def save_snapshot(outdir: str | Path, snapshot: dict) -> Path:
    from .outputs import write_json_atomic

    path = Path(outdir) / SNAPSHOT_DIR / f"{snapshot['workbook_id']}.json"
    write_json_atomic(path, snapshot)
    return path


# ============================================================================ import

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


def write_report(outdir: str | Path, report: list[dict]) -> pd.DataFrame:
    from .outputs import write_csv_atomic

    frame = pd.DataFrame(report, columns=["record", "timestamp", "analyst", "kind", "target", "status", "message"])
    write_csv_atomic(Path(outdir) / REPORT_NAME, frame)
    return frame


def _review_status(row) -> str:
    if str(row.get("status", "answer")) != "answer":
        return "non-answer"
    parts = []
    source = str(row.get("code_source", ""))
    if source == "analyst":
        parts.append("code by analyst")
    elif source == "analyst (group)":
        parts.append("code from group decision")
    elif not str(row.get("code", "")):
        parts.append("no code (abstained)")
    cluster_source = str(row.get("cluster_source", ""))
    if cluster_source and cluster_source != "discovered":
        parts.append(cluster_source)
    return "; ".join(parts) or "proposed"


def review_tables(answers: pd.DataFrame, clusters: pd.DataFrame, indicators: pd.DataFrame, state: DecisionState):
    """The tables behind review.xlsx and project.qdpx: (groups, answers for review, answers for QDA)."""
    answers = answers.reset_index(drop=True).copy()
    for column in ("code_proposed", "code_source", "cluster_source", "city", "group", "question", "language"):
        if column not in answers.columns:
            answers[column] = answers["code"] if column == "code_proposed" else ""
    active = {g.cluster: g for g in state.decided() if g.status == "accepted"}
    labels = {c: l for c, l in zip(answers["code"].astype(str), answers["code_label"].astype(str)) if c}
    group_rows = []
    cluster_ids = answers["cluster"].astype(int)
    for c in clusters.itertuples(index=False):
        members = answers.loc[cluster_ids == int(c.cluster), "id"].astype(str).tolist()
        mine = indicators[indicators["cluster"].astype(int) == int(c.cluster)]
        decided = active.get(int(c.cluster))
        main = mine.iloc[0] if len(mine) else None
        group_rows.append({
            "cluster": int(c.cluster),
            "key": decided.key if decided else group_key(members),
            "code": str(c.code),
            "code_label": labels.get(str(c.code), ""),
            "size": int(c.size),
            "languages": c.languages,
            "cities": c.cities,
            "name": " | ".join(f"{r.language}: {r.name}" for r in mine.itertuples()),
            "levels": "\n".join(f"{k}. {main[f'level_{k}']}" for k in range(1, 6)) if main is not None else "",
            "keyphrases": c.keyphrases,
            "examples": c.representatives,
            "members": members,
            "validated_by": (decided.analyst or "analyst") if decided else "",
        })
    groups = pd.DataFrame(group_rows, columns=["cluster", "key", "code", "code_label", "size", "languages", "cities", "name",
                                               "levels", "keyphrases", "examples", "members", "validated_by"])
    review = answers[["id", "text", "language", "city", "group", "question", "code_proposed", "code_label", "confidence", "cluster"]].copy()
    review["code_label"] = [labels.get(c, "") for c in answers["code_proposed"].astype(str)]
    review["review_status"] = [_review_status(r) for r in answers.to_dict("records")]
    qda = answers[["id", "text", "city", "group", "question", "language", "code_proposed", "code", "code_source", "cluster", "cluster_source"]].copy()
    analysts = []
    for answer_id, source, cluster in zip(qda["id"].astype(str), qda["code_source"].astype(str), qda["cluster"].astype(int)):
        if source == "analyst":
            analysts.append((state.answers[answer_id].analyst or "analyst") if answer_id in state.answers else "analyst")
        elif source == "analyst (group)":
            group = active.get(cluster)
            analysts.append((group.analyst or "analyst") if group else "analyst")
        else:
            analysts.append("")
    qda["analyst"] = analysts
    return groups, review, qda
