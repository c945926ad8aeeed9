"""The review workbook in the analyst's language, and a round trip that does not depend on it:
the same edits made in a French and in a Dutch workbook of the same run record the same
decisions, stored in English."""

import shutil

import openpyxl
import pandas as pd
import pytest

from criteria_nlp.config import RunConfig
from criteria_nlp.i18n import UI_LANGUAGES, Localiser
from criteria_nlp.pipeline.run import run_pipeline
from criteria_nlp.review.importer import ReviewError, import_review
from criteria_nlp.review.store import DecisionStore
from criteria_nlp.review.workbook import (
    ANSWER_COLUMNS,
    ANSWER_SHEET,
    GROUP_COLUMNS,
    GROUP_SHEET,
    README_SHEET,
    sheet_names,
)

ROWS = [
    ("f1", "un logement abordable", "fr"), ("f2", "le loyer est trop cher", "fr"), ("f3", "trouver du travail", "fr"),
    ("f4", "le chômage des jeunes", "fr"), ("f5", "voir mes amis", "fr"), ("f6", "la solitude des personnes âgées", "fr"),
    ("n1", "een betaalbare woning", "nl"), ("n2", "de huur is te duur", "nl"), ("n3", "werk vinden in de buurt", "nl"),
    ("n4", "geen werk", "nl"), ("n5", "vrienden zien", "nl"), ("n6", "eenzaamheid bij ouderen", "nl"),
]


@pytest.fixture(scope="module")
def two_workbooks(tmp_path_factory):
    """One run written in French, then again (same answers, same folder) in Dutch: two
    workbooks of the same run, both importable."""
    base = tmp_path_factory.mktemp("languages")
    source = base / "answers.csv"
    pd.DataFrame(ROWS, columns=["id", "text", "language"]).to_csv(source, index=False)
    out = base / "out"
    config = {"input": source, "outdir": out, "embedder": "tfidf", "show_progress": False, "n_clusters": 3}
    run_pipeline(RunConfig(**config, analyst_language="fr"))
    shutil.copy(out / "review.xlsx", base / "review-fr.xlsx")
    run_pipeline(RunConfig(**config, analyst_language="nl"))
    shutil.copy(out / "review.xlsx", base / "review-nl.xlsx")
    return base, out


def sheet(workbook, name, language):
    return workbook[Localiser(language).gettext(name)]


def column(ws, name, language):
    headers = [cell.value for cell in ws[1]]
    return headers.index(Localiser(language).gettext(name)) + 1


def edit(path, target, language, *, group_row=2, answer_row=3):
    """Reject the group of `group_row` and take the code off the answer of `answer_row`,
    typing the words of `language`; returns the edited workbook's path."""
    loc = Localiser(language)
    wb = openpyxl.load_workbook(path)
    groups, answers = sheet(wb, GROUP_SHEET, language), sheet(wb, ANSWER_SHEET, language)
    groups.cell(group_row, column(groups, "decision", language)).value = loc.decision("reject")
    groups.cell(group_row, column(groups, "notes", language)).value = "—"
    answers.cell(answer_row, column(answers, "override code", language)).value = loc.no_code().upper()
    wb.save(target)
    return target


def recorded(outdir):
    return [(r["kind"], r["target"].get("group") or r["target"].get("id"), r["value"]) for r in DecisionStore(outdir).records()
            if r["kind"] != "import"]


def test_the_workbook_is_written_in_the_analysts_language(two_workbooks):
    base, _ = two_workbooks
    for language, path in (("fr", base / "review-fr.xlsx"), ("nl", base / "review-nl.xlsx")):
        loc = Localiser(language)
        wb = openpyxl.load_workbook(path)
        shown = [name for name in wb.sheetnames if not name.startswith("_")]
        assert shown[:5] == [loc.gettext(n) for n in (README_SHEET, GROUP_SHEET, ANSWER_SHEET, "Indicators (draft)", "Codebook")]
        groups, answers = sheet(wb, GROUP_SHEET, language), sheet(wb, ANSWER_SHEET, language)
        assert [c.value for c in groups[1]] == [loc.gettext(name) for name, _, _ in GROUP_COLUMNS]
        assert [c.value for c in answers[1]] == [loc.gettext(name) for name, _, _ in ANSWER_COLUMNS]
        # One header per column in every language: the import finds columns by their header.
        assert len({c.value for c in answers[1]}) == len(ANSWER_COLUMNS)
        # The dropdown shows the language's decision words.
        formulas = [v.formula1 for v in groups.data_validations.dataValidation]
        assert f'"{",".join(loc.decision(d) for d in ("accept", "rename", "merge", "move", "reject"))}"' in formulas
        # Codebook labels in the analyst's language: first in the codebook sheet, and in the rows.
        spiral = _spiral()
        codebook = sheet(wb, "Codebook", language)
        assert codebook.cell(1, 4).value == loc.gettext("label (%(language)s)") % {"language": language}
        assert [row[3].value for row in codebook.iter_rows(min_row=2)] == [c.labels[language] for c in spiral]
        labels = {row[7].value for row in answers.iter_rows(min_row=2) if row[6].value}
        labels |= {row[2].value for row in groups.iter_rows(min_row=2) if row[1].value}
        assert labels <= {c.labels[language] for c in spiral}
    french = openpyxl.load_workbook(base / "review-fr.xlsx")
    readme = [c.value for c in french[Localiser("fr").gettext(README_SHEET)]["A"] if c.value]
    assert readme[0].startswith("Classeur de relecture criteria-nlp")
    assert any("accepter" in line and "rejeter" in line for line in readme)


def _spiral():
    from criteria_nlp.codebook.loaders import load_codebook

    return load_codebook("spiral")


def test_a_french_and_a_dutch_workbook_of_the_same_run_record_the_same_decisions(two_workbooks, tmp_path):
    base, out = two_workbooks
    french_project, dutch_project = tmp_path / "fr", tmp_path / "nl"
    shutil.copytree(out, french_project)
    shutil.copytree(out, dutch_project)
    import_review(edit(base / "review-fr.xlsx", tmp_path / "fr.xlsx", "fr"), french_project, analyst="Amélie")
    import_review(edit(base / "review-nl.xlsx", tmp_path / "nl.xlsx", "nl"), dutch_project, analyst="Jan")
    french, dutch = recorded(french_project), recorded(dutch_project)
    assert french == dutch
    kinds = {kind: value for kind, _, value in french}
    # Stored language-independently: the English decision, '' for "no code".
    assert kinds["group_decision"]["decision"] == "reject"
    assert kinds["answer_override"] == {"code": ""}


def test_a_colleague_continues_in_another_language(two_workbooks, tmp_path):
    """A French analyst's decisions, then a Dutch colleague's on other rows of the Dutch
    workbook: both land, and the Dutch workbook's untouched rows change nothing."""
    base, out = two_workbooks
    project = tmp_path / "project"
    shutil.copytree(out, project)
    import_review(edit(base / "review-fr.xlsx", tmp_path / "fr.xlsx", "fr"), project, analyst="Amélie")
    loc = Localiser("nl")
    wb = openpyxl.load_workbook(base / "review-nl.xlsx")
    groups = sheet(wb, GROUP_SHEET, "nl")
    groups.cell(3, column(groups, "decision", "nl")).value = loc.decision("accept").capitalize()
    wb.save(tmp_path / "nl.xlsx")
    result = import_review(tmp_path / "nl.xlsx", project, analyst="Jan")
    assert result.counts["group_decision"] == 1
    decisions = [value["decision"] for kind, _, value in recorded(project) if kind == "group_decision"]
    assert decisions == ["reject", "accept"]


def test_the_import_accepts_the_decision_words_of_any_language(two_workbooks, tmp_path):
    """An analyst who types 'accepter' in the Dutch workbook is understood; a word of no
    language is refused, naming the Dutch sheet."""
    base, out = two_workbooks
    project = tmp_path / "project"
    shutil.copytree(out, project)
    wb = openpyxl.load_workbook(base / "review-nl.xlsx")
    groups = sheet(wb, GROUP_SHEET, "nl")
    groups.cell(2, column(groups, "decision", "nl")).value = "accepter"
    groups.cell(3, column(groups, "decision", "nl")).value = "akzeptieren!"
    wb.save(tmp_path / "nl.xlsx")
    with pytest.raises(ReviewError, match="sheet 'Criteriagroepen', row 3.*'akzeptieren!' is not one of"):
        import_review(tmp_path / "nl.xlsx", project)
    groups.cell(3, column(groups, "decision", "nl")).value = None
    wb.save(tmp_path / "nl.xlsx")
    import_review(tmp_path / "nl.xlsx", project)
    assert [value["decision"] for kind, _, value in recorded(project) if kind == "group_decision"] == ["accept"]


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_every_language_gives_distinct_headers_and_valid_sheet_names(language):
    """The import finds a column by its header and a sheet by its name: within a workbook
    they must differ, in every language, and be names a spreadsheet accepts."""
    loc = Localiser(language)
    for columns in (GROUP_COLUMNS, ANSWER_COLUMNS):
        headers = [loc.gettext(name) for name, _, _ in columns]
        assert len(set(headers)) == len(headers), (language, headers)
    names = list(sheet_names(loc).values())
    assert len(set(names)) == len(names)
    assert all(0 < len(n) <= 31 and not set(n) & set("[]:*?/\\") and not n.startswith("_") for n in names), names


def test_a_partly_translated_workbook_says_so_under_its_title():
    from criteria_nlp.i18n import Localiser
    from criteria_nlp.review.workbook import _readme_lines

    assert "il resto è mostrato in inglese" in _readme_lines(3, 10, Localiser("it"))[1]
    assert _readme_lines(3, 10, Localiser("fr"))[1] == ""  # complete: no note
