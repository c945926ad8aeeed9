"""The decision store folded into the current state: each group's and answer's latest
decision, with the member ids that anchor a group across re-runs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from criteria_nlp.review.store import DecisionStore

DECISIONS = ("accept", "rename", "merge", "move", "reject")


NO_CODE = "none"


def group_key(member_ids) -> str:
    """A group's identity: a hash of its member ids when it is first decided."""
    digest = hashlib.sha1("\n".join(sorted(str(i) for i in member_ids)).encode("utf-8")).hexdigest()
    return f"g-{digest[:12]}"


def answer_text_hash(text: str) -> str:
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
