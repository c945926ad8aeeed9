"""The review round-trip: decision store, workbook safety, import validation, and decisions
that hold across re-runs (group identity anchored to members, not to cluster numbers)."""

import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.config import RunConfig
from criteria_nlp.pipeline.run import run_pipeline
from criteria_nlp.review.apply import apply_group_decisions
from criteria_nlp.review.importer import ReviewError, import_review
from criteria_nlp.review.state import DecisionState, group_key
from criteria_nlp.review.store import DecisionStore, DecisionStoreError
from criteria_nlp.review.workbook import (
    ANSWER_SHEET,
    GROUP_SHEET,
    build_review_workbook,
)

SMALL = [
    ("f1", "avoir un logement décent", "fr", "wellbeing"), ("f2", "des loyers trop chers", "fr", "illbeing"),
    ("f3", "un logement bien chauffé", "fr", "wellbeing"), ("f4", "pas de logement pour les jeunes", "fr", "illbeing"),
    ("f5", "trouver un travail", "fr", "wellbeing"), ("f6", "le chômage des jeunes", "fr", "illbeing"),
    ("f7", "un travail stable", "fr", "wellbeing"), ("f8", "pas de travail depuis deux ans", "fr", "illbeing"),
    ("f9", "la solitude des personnes âgées", "fr", "illbeing"), ("f10", "voir mes amis", "fr", "wellbeing"),
    ("f11", "=1+1", "fr", "wellbeing"), ("f12", "-5 euros par jour, c'est la misère", "fr", "illbeing"),
    ("n1", "een betaalbare woning", "nl", "wellbeing"), ("n2", "de huur is te duur", "nl", "illbeing"),
    ("n3", "werk vinden in de buurt", "nl", "wellbeing"), ("n4", "geen werk", "nl", "illbeing"),
    ("n5", "eenzaamheid bij ouderen", "nl", "illbeing"), ("n6", "vrienden zien", "nl", "wellbeing"),
    ("n7", "+32 is mijn landcode", "nl", "action"), ("n8", "@home met het gezin", "nl", "wellbeing"),
    ("e1", "a decent home", "en", "wellbeing"), ("e2", "rent is too expensive", "en", "illbeing"),
    ("e3", "having a job", "en", "wellbeing"), ("e4", "no job for young people", "en", "illbeing"),
]


def small_corpus(path, rows=SMALL):
    frame = pd.DataFrame(rows, columns=["id", "text", "language", "question"])
    frame["city"] = frame["language"].map({"fr": "Mulhouse", "nl": "Mechelen", "en": "Botkyrka"})
    frame["group"] = "seniors"
    frame.to_csv(path, index=False)
    return path


def run(path, outdir, **kw):
    kw.setdefault("analyst_language", "en")  # these tests read the English workbook (the answers are mostly French)
    return run_pipeline(RunConfig(input=path, outdir=outdir, embedder="tfidf", show_progress=False, n_clusters=kw.pop("n_clusters", 4), **kw))


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("small")
    path = small_corpus(base / "answers.csv")
    result = run(path, base / "out")
    return path, base / "out", result


def fresh_copy(small_run, tmp_path):
    path, out, _ = small_run
    target = tmp_path / "out"
    shutil.copytree(out, target)
    return path, target


def columns(ws):
    return {cell.value: cell.column for cell in ws[1]}


# ---------------------------------------------------------------------------- store

def test_store_appends_and_detects_tampering(tmp_path):
    store = DecisionStore(tmp_path)
    store.append([{"kind": "answer_override", "target": {"id": "a"}, "value": {"code": "A03"}}], analyst="Ana")
    store.append([{"kind": "answer_override", "target": {"id": "b"}, "value": {"code": "A06"}}])
    records = store.records()
    assert [r["seq"] for r in records] == [1, 2] and records[0]["analyst"] == "Ana" and records[1]["analyst"] is None
    assert records[0]["timestamp"] and records[1]["previous"] == records[0]["sha256"]
    original = store.path.read_bytes()

    store.path.write_bytes(original.replace(b'"A03"', b'"A04"'))
    with pytest.raises(DecisionStoreError, match="line 1: checksum mismatch"):
        store.records()
    with pytest.raises(DecisionStoreError):  # never appends to (or rewrites) a damaged store
        store.append([{"kind": "answer_override", "target": {"id": "c"}, "value": {"code": "A01"}}])
    assert b'"A04"' in store.path.read_bytes()

    lines = original.splitlines(keepends=True)
    store.path.write_bytes(lines[1])  # first line deleted
    with pytest.raises(DecisionStoreError, match="line 1"):
        store.records()
    store.path.write_bytes(original + b'{"seq": 3, "kind": ')
    with pytest.raises(DecisionStoreError, match="last line is incomplete"):
        store.records()
    store.path.write_bytes(original + b"not json\n")
    with pytest.raises(DecisionStoreError, match="line 3: not valid JSON"):
        store.records()


# ---------------------------------------------------------------------------- workbook safety

FORMULAS = ["=1+1", "+33 6 12 34 56 78", "-5 euros", "@SUM(A1)", '=HYPERLINK("http://x.example","clic")', "\uff1d1+1"]


def tiny_workbook(tmp_path, texts):
    answers = pd.DataFrame({
        "id": [f"x{i}" for i in range(len(texts))], "text": texts, "language": "fr", "city": "=Mulhouse", "group": "", "question": "",
        "code_proposed": "A03", "code_label": "Housing", "confidence": 0.5, "cluster": 0, "review_status": "proposed",
    })
    groups = pd.DataFrame([{
        "cluster": 0, "key": "g-1", "code": "A03", "code_label": "Housing", "size": len(texts), "languages": "fr:1",
        "cities": "", "name": "fr: =Logement", "levels": "1. -pas de logement", "keyphrases": "", "examples": "@x",
        "members": [f"x{i}" for i in range(len(texts))], "validated_by": "",
    }])
    indicators = pd.DataFrame([{"indicator_id": "0-fr", "name": "+Logement", "level_1": "=bad"}])
    path = tmp_path / "review.xlsx"
    snapshot = build_review_workbook(path, groups=groups, answers=answers, indicators=indicators,
                                     codebook=load_codebook("spiral"), extra_sheets={"Compare": pd.DataFrame({"c": ["=2*3"]})})
    return path, snapshot


def test_citizen_text_never_becomes_a_formula(tmp_path):
    texts = FORMULAS + ["texte\x07avec contrôle", "normal"]
    path, _ = tiny_workbook(tmp_path, texts)
    wb = openpyxl.load_workbook(path)
    ws = wb[ANSWER_SHEET]
    shown = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(2, ws.max_row + 1)}
    for i, text in enumerate(FORMULAS):
        cell = shown[f"x{i}"]
        assert cell.data_type == "s" and cell.value == text  # readable and unchanged
        assert cell.quotePrefix
    assert shown[f"x{len(FORMULAS)}"].value == "texte\ufffdavec contrôle"
    # Body cells share one style record: a quote prefix must not leak to the cells after it.
    assert not shown[f"x{len(FORMULAS) + 1}"].quotePrefix
    assert all(cell.alignment.wrap_text and cell.alignment.vertical == "top" for cell in shown.values())
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
    groups = wb[GROUP_SHEET]
    assert groups.freeze_panes == "B2"
    assert groups.column_dimensions["I"].width >= 40 and groups["I2"].alignment.wrap_text
    formulas = [dv.formula1 for dv in groups.data_validations.dataValidation]
    assert '"accept,rename,merge,move,reject"' in formulas and any("_lists" in f for f in formulas)
    assert wb.sheetnames[:6] == ["Read me", "Criteria groups", "_lists", "Answers", "Indicators (draft)", "Codebook"]
    assert "Compare" in wb.sheetnames and wb["Compare"]["A2"].data_type == "s"
    assert "DRAFT" in wb["Read me"]["A1"].value


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed; Debian package libreoffice-calc-nogui")
def test_the_same_workbook_content_gives_the_same_bytes(tmp_path):
    # openpyxl stamped the save time in docProps/core.xml and in every ZIP member.
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, _ = tiny_workbook(tmp_path / "a", ["avoir un logement", "=1+1"])
    again, _ = tiny_workbook(tmp_path / "b", ["avoir un logement", "=1+1"])
    assert first.read_bytes() == again.read_bytes()


def test_an_answer_longer_than_a_cell_is_cut_where_the_snapshot_says(tmp_path):
    long_text = "une très longue réponse " * 2000  # 48,000 characters; a cell holds 32,767
    path, snapshot = tiny_workbook(tmp_path, [long_text, "court"])
    shown = openpyxl.load_workbook(path)[ANSWER_SHEET].cell(2, 2).value
    assert len(shown) == 32_767 and shown.endswith("…") and long_text.startswith(shown[:-1])
    assert snapshot["answers"]["x0"]["readonly"][1] == shown  # what the import compares the grey cell with


def test_libreoffice_opens_workbook_and_shows_text_not_results(tmp_path):
    path, _ = tiny_workbook(tmp_path, FORMULAS)
    out = tmp_path / "csv"
    out.mkdir()
    # All sheets to CSV (sheet index -1), UTF-8; a repair prompt or broken file fails the conversion.
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    exported = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.csv")}
    answers = next(text for name, text in exported.items() if "Answers" in name)
    frame = pd.read_csv(pd.io.common.StringIO(answers), dtype=str, keep_default_na=False)
    assert frame["text"].tolist() == FORMULAS  # shown as typed: nothing evaluated (=1+1 is not 2)
    assert set(frame["city"]) == {"=Mulhouse"}
    assert len(exported) >= 5


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed; Debian package libreoffice-calc-nogui")
def test_workbook_resaved_by_libreoffice_imports_without_false_alarms(small_run, tmp_path):
    _, out = fresh_copy(small_run, tmp_path)
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--convert-to", "xlsx",
         "--outdir", str(tmp_path / "lo"), str(out / "review.xlsx")],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    result = import_review(tmp_path / "lo" / "review.xlsx", out, analyst="Ana")
    assert result.counts == {"group_decision": 0, "group_note": 0, "answer_override": 0, "answer_note": 0}


# ---------------------------------------------------------------------------- import validation

def test_import_reports_every_problem_with_sheet_row_column(small_run, tmp_path):
    _, out = fresh_copy(small_run, tmp_path)
    wb = openpyxl.load_workbook(out / "review.xlsx")
    groups, answers = wb[GROUP_SHEET], wb[ANSWER_SHEET]
    g, a = columns(groups), columns(answers)
    groups.cell(2, g["decision"]).value = "merge"
    groups.cell(2, g["merge into"]).value = 999
    groups.cell(3, g["move to code"]).value = "Z99"
    groups.cell(4, g["size"]).value = 12345
    answers.cell(2, a["override code"]).value = "NOPE"
    answers.cell(3, a["text"]).value = "edited by hand"
    answers.cell(4, a["override code"]).value = "=A1"
    wb.save(out / "edited.xlsx")
    with pytest.raises(ReviewError) as error:
        import_review(out / "edited.xlsx", out, analyst="Ana")
    message = str(error.value)
    assert "\n" not in message and "nothing recorded" in message
    assert "sheet 'Criteria groups', row 2, column 'merge into': group '999' does not exist" in message
    assert "sheet 'Criteria groups', row 3, column 'move to code': unknown code 'Z99'" in message
    assert "sheet 'Criteria groups', row 4, column 'size': read-only cell was edited" in message
    assert "sheet 'Answers', row 2, column 'override code': unknown code 'NOPE'" in message
    assert "sheet 'Answers', row 3, column 'text': read-only cell was edited" in message
    assert "sheet 'Answers', row 4, column 'override code': a formula is not allowed" in message
    assert not (out / "decisions.jsonl").exists()


def test_import_refuses_a_workbook_from_another_project(small_run, tmp_path):
    _, out = fresh_copy(small_run, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ReviewError, match="was not written by a run in"):
        import_review(out / "review.xlsx", other)


def test_cli_review_import_exits_2_on_bad_workbook(small_run, tmp_path, capsys):
    from criteria_nlp.cli.app import main

    _, out = fresh_copy(small_run, tmp_path)
    wb = openpyxl.load_workbook(out / "review.xlsx")
    wb[ANSWER_SHEET].cell(2, columns(wb[ANSWER_SHEET])["override code"]).value = "NOPE"
    wb.save(out / "bad.xlsx")
    assert main(["review", "import", str(out / "bad.xlsx"), "--project", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad.xlsx") and "row 2, column 'override code'" in err
    assert main(["review", "import", str(out / "review.xlsx"), "--project", str(out), "--analyst", "Ana"]) == 0
    assert DecisionStore(out).records()[-1]["analyst"] == "Ana"


# ---------------------------------------------------------------------------- decisions on a small corpus

def test_override_of_a_removed_answer_is_reported_not_dropped(small_run, tmp_path):
    path, out = fresh_copy(small_run, tmp_path)
    wb = openpyxl.load_workbook(out / "review.xlsx")
    answers = wb[ANSWER_SHEET]
    a = columns(answers)
    row = next(r for r in range(2, answers.max_row + 1) if answers.cell(r, a["id"]).value == "f2")
    answers.cell(row, a["override code"]).value = "A00"
    wb.save(out / "review.xlsx")
    result = import_review(out / "review.xlsx", out, analyst="Ana")
    assert result.counts["answer_override"] == 1

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame[frame["id"] != "f2"].to_csv(tmp_path / "fewer.csv", index=False)
    second = run(tmp_path / "fewer.csv", out)
    report = second.decisions_report
    removed = report[report["target"] == "f2"]
    assert removed["status"].tolist() == ["not applicable"] and "no longer in the input" in removed["message"].iloc[0]
    assert "f2" in DecisionState.load(out).overrides()  # still in the store
    third = run(path, out)  # back again: the override applies again
    assert third.answers.set_index("id").loc["f2", "code"] == "A00"


def test_reimporting_an_unchanged_workbook_records_no_decision(small_run, tmp_path):
    path, out = fresh_copy(small_run, tmp_path)
    wb = openpyxl.load_workbook(out / "review.xlsx")
    groups = wb[GROUP_SHEET]
    g = columns(groups)
    groups.cell(2, g["decision"]).value = "accept"
    groups.cell(3, g["rename to"]).value = "Logement"
    wb.save(out / "review.xlsx")
    first = import_review(out / "review.xlsx", out)
    assert first.counts["group_decision"] == 2
    run(path, out)
    wb = openpyxl.load_workbook(out / "review.xlsx")
    groups = wb[GROUP_SHEET]
    decisions = [groups.cell(r, g["decision"]).value for r in range(2, groups.max_row + 1)]
    assert decisions.count("accept") == 1 and decisions.count("rename") == 1  # prefilled
    second = import_review(out / "review.xlsx", out)
    assert second.counts == {"group_decision": 0, "group_note": 0, "answer_override": 0, "answer_note": 0}


# ---------------------------------------------------------------------------- group identity

def _frame(ids, clusters, codes):
    return pd.DataFrame({"id": ids, "text": ids, "language": "fr", "code": codes, "code_label": "", "cluster": clusters,
                         "code_source": "model"})


def _record(seq, kind, target, value, analyst="Ana"):
    return {"seq": seq, "timestamp": "t", "analyst": analyst, "kind": kind, "target": target, "value": value}


def test_validated_group_keeps_members_and_id_when_clustering_renumbers():
    rng = np.random.RandomState(0)
    base = {"a": rng.randn(8), "b": rng.randn(8)}
    members = ["a1", "a2", "a3"]
    state = DecisionState.from_records([
        _record(1, "group_decision", {"group": group_key(members), "cluster": 7, "code": "A03", "members": members},
                {"decision": "rename", "name": "Logement", "move_to": "", "merge_into": ""}),
        _record(2, "group_decision", {"group": group_key(["b1", "b2"]), "cluster": 3, "code": "A06", "members": ["b1", "b2"]},
                {"decision": "reject", "name": "", "move_to": "", "merge_into": ""}),
        _record(3, "import", {"workbook": "w"}, {"answers": members + ["b1", "b2", "c1", "c2"]}),
    ])
    ids = members + ["b1", "b2", "c1", "c2", "new_a", "new_far"]
    # Re-run: discovery renumbered everything; a's members now sit in cluster 2, and cluster 7
    # is an unrelated discovered group (c1, c2).
    clusters = [2, 2, 2, 0, 0, 7, 7, 2, 7]
    codes = ["A03"] * 3 + ["A06", "A06", "B01", "B01", "A03", "A03"]
    answers = _frame(ids, clusters, codes)
    vectors = np.array([base["a"] + 0.05 * rng.randn(8) for _ in members] + [base["b"] + 0.05 * rng.randn(8) for _ in range(2)]
                       + [rng.randn(8) for _ in range(2)] + [base["a"] + 0.01 * rng.randn(8), -base["a"]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    answers, report = apply_group_decisions(answers, vectors, np.ones(len(ids), bool), state)
    got = dict(zip(answers["id"], answers["cluster"]))
    assert [got[m] for m in members] == [7, 7, 7]
    assert got["b1"] == got["b2"] == -1 and set(answers.loc[answers["id"].isin(["b1", "b2"]), "cluster_source"]) == {"rejected by analyst"}
    assert got["new_a"] == 7  # a new answer close to the validated group is proposed into it
    assert got["new_far"] not in (7, 3, -1)
    assert got["c1"] == got["c2"] and got["c1"] not in (7, 3)  # the unrelated group gets a fresh id
    assert any("1 of 2 new answers" in m for m in [r["message"] for r in report])


# ---------------------------------------------------------------------------- the demo round-trip

DEMO = "corpora/demo/answers.csv"
EXTRA = "corpora/demo/extra_answers.csv"


def test_demo_round_trip_every_decision_holds_with_50_new_answers(tmp_path):
    """Run on the demo corpus, edit the workbook as an analyst would (accept, rename, merge,
    override two answers, reject one), import, re-run with 50 extra answers, check it all."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    first = run(root / DEMO, out, n_clusters=24)
    assert (out / "indicators.csv").exists() and (out / "review.xlsx").exists()
    indicators = pd.read_csv(out / "indicators.csv", dtype=str, keep_default_na=False)
    assert set(indicators["status"]) <= {"draft", "draft-unmatched"} and (indicators["status"] == "draft").any()
    drafts = indicators[indicators["status"] == "draft"]
    assert drafts["note"].str.contains("DRAFT").all() and drafts["indicator_id"].str.match(r"^[A-H]\d\d-\d+$").all()

    wb = openpyxl.load_workbook(out / "review.xlsx")
    groups, answers = wb[GROUP_SHEET], wb[ANSWER_SHEET]
    g, a = columns(groups), columns(answers)
    rows = {groups.cell(r, g["group"]).value: r for r in range(2, groups.max_row + 1)}
    members = first.answers[first.answers["cluster"] >= 0].groupby("cluster")["id"].apply(set).to_dict()
    accepted, renamed, merged, target, rejected = sorted(rows)[:5]
    groups.cell(rows[accepted], g["decision"]).value = "accept"
    groups.cell(rows[renamed], g["decision"]).value = "rename"
    groups.cell(rows[renamed], g["rename to"]).value = "fr: Accès à un logement décent | nl: Een betaalbare woning | *: Housing"
    groups.cell(rows[merged], g["decision"]).value = "merge"
    groups.cell(rows[merged], g["merge into"]).value = target
    groups.cell(rows[rejected], g["decision"]).value = "reject"
    groups.cell(rows[rejected], g["notes"]).value = "not a criterion: mixed answers"
    name_accepted = groups.cell(rows[accepted], g["name (draft)"]).value
    # Two overrides: one answer of the accepted group moves to another code, one elsewhere.
    by_id = {answers.cell(r, a["id"]).value: r for r in range(2, answers.max_row + 1)}
    leaving = sorted(members[accepted])[0]
    elsewhere = sorted(members[target])[0]
    old_code = answers.cell(by_id[leaving], a["proposed code"]).value
    # A code that is neither the answer's nor its group's, so the override must take it out of the group.
    group_codes = set(first.answers.loc[first.answers["cluster"] == accepted, "code"])
    new_code = next(c for c in ("F01", "F02", "G03", "H04") if c != old_code and c not in group_codes)
    answers.cell(by_id[leaving], a["override code"]).value = new_code
    answers.cell(by_id[elsewhere], a["override code"]).value = "A03"
    wb.save(out / "review.xlsx")

    imported = import_review(out / "review.xlsx", out, analyst="Ana Lyst")
    assert imported.counts["answer_override"] == 2 and imported.counts["group_decision"] == 5  # + implicit accept of the merge target
    store_before = (out / "decisions.jsonl").read_bytes()

    extra = pd.read_csv(root / EXTRA, dtype=str, keep_default_na=False).head(50)
    both = pd.concat([pd.read_csv(root / DEMO, dtype=str, keep_default_na=False), extra])
    both.to_csv(tmp_path / "more.csv", index=False)
    second = run(tmp_path / "more.csv", out, n_clusters=24)
    assert (out / "decisions.jsonl").read_bytes() == store_before  # runs never write the store
    result = second.answers.set_index("id")
    assert len(result) == len(first.answers) + 50

    # Overrides hold.
    assert (result.loc[leaving, "code"], result.loc[leaving, "code_source"]) == (new_code, "analyst")
    assert (result.loc[elsewhere, "code"], result.loc[elsewhere, "code_source"]) == ("A03", "analyst")
    clusters = result["cluster"].astype(int)
    # The accepted group keeps its id and members (minus the answer moved to another code).
    assert set(clusters[clusters == accepted].index) >= members[accepted] - {leaving}
    assert clusters[leaving] != accepted
    # The renamed group keeps its id, members and name in every language.
    assert set(clusters[clusters == renamed].index) >= members[renamed]
    names = second.indicators[second.indicators["cluster"].astype(int) == renamed].set_index("language")["name"]
    assert names.get("fr", "Accès à un logement décent") == "Accès à un logement décent"
    assert names.get("nl", "Een betaalbare woning") == "Een betaalbare woning"
    assert all(n in ("Accès à un logement décent", "Een betaalbare woning", "Housing") for n in names)
    # The merge holds: the merged group's answers are in the target group; its id is gone.
    assert set(clusters[clusters == target].index) >= (members[merged] | members[target]) - {elsewhere}
    assert (clusters == merged).sum() == 0
    # The rejection holds: no group, no indicator.
    assert (clusters[list(members[rejected])] == -1).all()
    assert rejected not in set(second.indicators["cluster"].astype(int))
    # The accepted group's drafted name was frozen.
    frozen = second.indicators[second.indicators["cluster"].astype(int) == accepted]
    assert " | ".join(f"{r.language}: {r.name}" for r in frozen.itertuples()).startswith(name_accepted.split(" | ")[0])
    # New answers are proposed against the validated synthesis, or form discovered groups.
    new = result.loc[extra["id"]]
    assert set(new["cluster_source"]) <= {"proposed (validated group)", "discovered", ""}
    report = second.decisions_report
    assert not report["status"].isin(["not applicable", "conflict"]).any()
    assert report["message"].str.contains("new answers proposed into validated groups").any()
    # The REFI-QDA project carries the analyst's decisions under her own user.
    from pyrefiqda import RefiProject

    project = RefiProject.load(out / "project.qdpx", extract_dir=str(tmp_path / "qdpx"))
    analyst = next(u.guid for u in project.users.user if u.name == "Ana Lyst")
    by_analyst = {s.name for s in project.sources.text_source for sel in s.plain_text_selection if sel.creating_user == analyst}
    assert {leaving, elsewhere} | (members[renamed] & set(result.index)) <= by_analyst
    assert (out / "codes.csv").exists() and (out / "codebook.qdc").exists()
    # The new workbook shows the decisions; merged and rejected groups are gone from it.
    wb = openpyxl.load_workbook(out / "review.xlsx")
    groups = wb[GROUP_SHEET]
    shown = {groups.cell(r, g["group"]).value: groups.cell(r, g["decision"]).value for r in range(2, groups.max_row + 1)}
    assert shown[accepted] == "accept" and shown[renamed] == "rename" and shown[target] == "accept"
    assert merged not in shown and rejected not in shown


def test_move_and_merge_recode_members_but_overrides_win():
    a, b = ["a1", "a2", "a3"], ["b1", "b2"]
    state = DecisionState.from_records([
        _record(1, "group_decision", {"group": group_key(a), "cluster": 4, "code": "A03", "members": a},
                {"decision": "move", "name": "x", "move_to": "A00", "merge_into": ""}),
        _record(2, "group_decision", {"group": group_key(b), "cluster": 9, "code": "A06", "members": b},
                {"decision": "merge", "name": "", "move_to": "", "merge_into": group_key(a)}),
        _record(3, "answer_override", {"id": "a3", "text_sha1": ""}, {"code": "F01"}),
        _record(4, "import", {"workbook": "w"}, {"answers": a + b}),
    ])
    answers = _frame(a + b, [0, 0, 0, 1, 1], ["A03", "A03", "F01", "A06", "A06"])
    answers, report = apply_group_decisions(answers, np.eye(5), np.ones(5, bool), state, load_codebook("spiral"))
    got = answers.set_index("id")
    assert got.loc["a1", "code"] == got.loc["b1", "code"] == "A00"  # moved group's code, merged members follow
    assert got.loc["a1", "code_source"] == "analyst (group)" and got.loc["a1", "code_label"] == load_codebook("spiral").label("A00", "fr")
    assert got.loc["a3", "code"] == "F01" and got.loc["a3", "cluster"] != 4  # its override wins and it leaves the group
    assert set(got.loc[["a1", "a2", "b1", "b2"], "cluster"]) == {4}
    assert any("left group 4" in r["message"] for r in report)
