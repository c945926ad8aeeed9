"""Re-applying recorded decisions to a new run (answer overrides, then group decisions), and
the tables behind the workbook, the REFI-QDA project and decisions_report.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.i18n import Localiser
from criteria_nlp.review.state import (
    NO_CODE,
    DecisionState,
    GroupState,
    answer_text_hash,
    group_key,
)

REPORT_NAME = "decisions_report.csv"


def _report(record_seq, kind, target, status, message, state: DecisionState) -> dict:
    record = next((r for r in state.records if r["seq"] == record_seq), {})
    return {
        "record": record_seq, "timestamp": record.get("timestamp", ""), "analyst": record.get("analyst") or "",
        "kind": kind, "target": target, "status": status, "message": message,
    }


def apply_answer_decisions(answers: pd.DataFrame, state: DecisionState, codebook=None) -> tuple[pd.DataFrame, list[dict]]:
    """Give overridden answers their analyst's code. Returns a new table with `code_proposed`
    (the machine's code) and `code_source` (model / analyst) added, and the report rows."""
    answers = answers.copy()
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
        if decision.text_hash and decision.text_hash != answer_text_hash(answers.at[row, "text"]):
            message += " (its text changed since the decision: check it)"
        report.append(_report(decision.seq, "answer_override", answer_id, "applied", message, state))
    return answers, report


def apply_group_decisions(answers: pd.DataFrame, vectors: np.ndarray, rows: np.ndarray, state: DecisionState,
                          codebook=None) -> tuple[pd.DataFrame, list[dict]]:
    """Re-impose the validated synthesis on a run's clusters (a new table is returned, with the
    report rows): validated groups keep their members and cluster id, merged groups join
    their target, rejected groups' answers get no group (-1), groups moved to a code give that
    code to their members (unless an answer was overridden), new answers are proposed into the
    closest validated group of their code when they are as close to it as its own members, and
    discovered groups are renumbered so no id of a decided group is reused. `vectors` are the
    rows `rows` (mask)."""
    from criteria_nlp.vectors import centre_by_language

    answers = answers.copy()
    answers["cluster_source"] = np.where(answers["cluster"].astype(int) >= 0, "discovered", "")
    decided = state.decided()
    if not decided:
        return answers, []
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
    return answers, report


def group_names(state: DecisionState) -> dict[int, str]:
    """cluster id -> the frozen name of each validated group."""
    return {g.cluster: g.name for g in state.decided() if g.status == "accepted" and g.name}


ENGLISH = Localiser("en")


def group_status_text(group: GroupState | None, loc: Localiser = ENGLISH) -> str:
    """A group's review status as the workbook shows it, in the workbook's language."""
    _ = loc.gettext
    if group is None or not group.decision:
        return _("proposed")
    if group.analyst:
        return {"accepted": _("validated by %(analyst)s"), "rejected": _("rejected by %(analyst)s"),
                "merged": _("merged by %(analyst)s")}[group.status] % {"analyst": group.analyst}
    return {"accepted": _("validated"), "rejected": _("rejected"), "merged": _("merged")}[group.status]


def write_decisions_report(outdir: str | Path, report: list[dict]) -> pd.DataFrame:
    from criteria_nlp.io.outputs import write_csv_atomic

    frame = pd.DataFrame(report, columns=["record", "timestamp", "analyst", "kind", "target", "status", "message"])
    write_csv_atomic(Path(outdir) / REPORT_NAME, frame)
    return frame


def _review_status(row, loc: Localiser = ENGLISH) -> str:
    _ = loc.gettext
    if str(row.get("status", "answer")) != "answer":
        return _("other language") if str(row.get("status")) == "other_language" else _("non-answer")
    parts = []
    source = str(row.get("code_source", ""))
    if source == "analyst":
        parts.append(_("code by analyst"))
    elif source == "analyst (group)":
        parts.append(_("code from group decision"))
    elif not str(row.get("code", "")):
        parts.append(_("no code (abstained)"))
    cluster_source = str(row.get("cluster_source", ""))
    if cluster_source and cluster_source != "discovered":
        names = {"rejected by analyst": _("group rejected by analyst"), "validated": _("in a validated group"),
                 "proposed (validated group)": _("proposed for a validated group")}
        parts.append(names.get(cluster_source, cluster_source))
    return "; ".join(parts) or _("proposed")


def _draft_name(drafts: pd.DataFrame) -> str:
    """The group's drafted name per language, as an analyst's rename is written ("fr: ... | nl: ...")."""
    return " | ".join(f"{r.language}: {r.name}" for r in drafts.itertuples() if str(r.name))


def _draft_levels(draft, loc: Localiser = ENGLISH) -> str:
    """The chosen indicator and its five levels, each with the answers quoted under it (or,
    for a group no indicator fits, its best answers)."""
    if draft is None:
        return ""
    quotes = {k: str(draft.get(f"quotes_{k}", "") or "") for k in range(1, 6)}
    if str(draft.get("status", "")) == "draft-unmatched":
        if quotes[1]:
            return loc.gettext("no indicator of the library fits this group; its answers: %(answers)s") % {"answers": quotes[1]}
        return loc.gettext("no indicator of the library fits this group")
    head = loc.gettext("indicator %(id)s (library)") % {"id": draft["indicator_id"]} + "\n" if str(draft.get("indicator_id", "")) else ""
    return head + "\n".join(f"{k}. {draft[f'level_{k}']}" + (f"  ← {quotes[k]}" if quotes[k] else "") for k in range(1, 6))


def review_tables(answers: pd.DataFrame, clusters: pd.DataFrame, indicators: pd.DataFrame, state: DecisionState,
                  loc: Localiser = ENGLISH):
    """The tables behind review.xlsx and project.qdpx: (groups, answers for review, answers for QDA);
    what a person reads in them is in `loc`'s language."""
    answers = answers.reset_index(drop=True).copy()
    for column in ("code_proposed", "code_source", "cluster_source", "city", "group", "question", "language"):
        if column not in answers.columns:
            answers[column] = answers["code"] if column == "code_proposed" else ""
    active = {g.cluster: g for g in state.decided() if g.status == "accepted"}
    labels = {c: label for c, label in zip(answers["code"].astype(str), answers["code_label"].astype(str)) if c}
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
            "name": _draft_name(mine),
            "levels": _draft_levels(main, loc),
            "keyphrases": c.keyphrases,
            "examples": c.representatives,
            "members": members,
            "validated_by": (decided.analyst or "analyst") if decided else "",
        })
    groups = pd.DataFrame(group_rows, columns=["cluster", "key", "code", "code_label", "size", "languages", "cities", "name",
                                               "levels", "keyphrases", "examples", "members", "validated_by"])
    review = answers[["id", "text", "language", "city", "group", "question", "code_proposed", "code_label", "confidence", "cluster"]].copy()
    review["code_label"] = [labels.get(c, "") for c in answers["code_proposed"].astype(str)]
    review["review_status"] = [_review_status(r, loc) for r in answers.to_dict("records")]
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
