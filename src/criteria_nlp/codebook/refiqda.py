"""REFI-QDA codebook exchange (.qdc), the format NVivo, ATLAS.ti, MAXQDA and QualCoder read.

A REFI-QDA Code has only a name, so a code that differs from its label is written as
"CODE label". GUIDs are uuid5 of the code: re-exports merge cleanly, and on import a name
whose first word hashes to the element's GUID is split back into code and label.
Translations and examples do not fit the format and are not exported.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from criteria_nlp.codebook.model import Code, Codebook
from criteria_nlp.errors import CodebookError

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"


PROJECT_NS = "urn:QDA-XML:project:1.0"


GUID_NAMESPACE = uuid.UUID("6f1d4f0e-8b7c-5a43-9c2e-4b1f1c6a2d10")


def code_guid(code: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"code:{code}"))


def _display_name(code: Code) -> str:
    label = code.label()
    return label if label == code.code else f"{code.code} {label}"


def codes_element(codebook: Codebook, namespace: str) -> ET.Element:
    """The <Codes> tree (shared by .qdc and .qdpx)."""
    codes = ET.Element(f"{{{namespace}}}Codes")

    def add(parent_element: ET.Element, parent_code: str | None):
        for code in codebook.children(parent_code):
            element = ET.SubElement(parent_element, f"{{{namespace}}}Code", {
                "guid": code_guid(code.code),
                "name": _display_name(code),
                "isCodable": "true" if code.codable else "false",
            })
            if code.description:
                ET.SubElement(element, f"{{{namespace}}}Description").text = code.description
            add(element, code.code)

    add(codes, None)
    return codes


def write_qdc(codebook: Codebook, path: str | Path) -> None:
    from criteria_nlp.io.outputs import write_bytes_atomic

    ET.register_namespace("", CODEBOOK_NS)
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": "criteria-nlp"})
    root.append(codes_element(codebook, CODEBOOK_NS))
    ET.indent(root)
    write_bytes_atomic(Path(path), ET.tostring(root, encoding="utf-8", xml_declaration=True))


def read_qdc(path: str | Path) -> Codebook:
    """A REFI-QDA codebook, parsed by defusedxml with DTDs forbidden: REFI-QDA never needs
    one, and entities can expand without bound (whatever the encoding or where they hide)."""
    import defusedxml
    import defusedxml.ElementTree as SafeET

    from criteria_nlp.errors import InputError
    from criteria_nlp.io.tables import read_input

    path = Path(path)
    try:
        data = read_input(path)[0]
    except InputError as exc:
        raise CodebookError(str(exc)) from None
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise CodebookError(f"{path.name}: the XML declares a DTD or entities, which a REFI-QDA codebook never has; export it again from your QDA tool") from None
    except ET.ParseError as exc:
        raise CodebookError(f"{path.name}: not a valid REFI-QDA codebook (XML error: {exc}); export it again from your QDA tool") from None
    except RecursionError:
        raise CodebookError(f"{path.name}: the XML is nested too deeply to be a REFI-QDA codebook") from None
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = (lambda tag: f"{{{namespace}}}{tag}") if namespace else (lambda tag: tag)
    codes_root = root.find(q("Codes")) if root.tag.endswith("CodeBook") else root.find(f"{q('CodeBook')}/{q('Codes')}")
    if codes_root is None:
        raise CodebookError(f"{path.name}: no <Codes> element; is this a REFI-QDA .qdc codebook?")
    codes: list[Code] = []

    def visit(element: ET.Element, parent: str | None):
        for child in element.findall(q("Code")):
            name = (child.get("name") or "").strip()
            if not name:
                raise CodebookError(f"{path.name}: a <Code> without a name (guid {child.get('guid')}); every code needs a name")
            code, label = _split_name(name, child.get("guid", ""))
            description = child.find(q("Description"))
            codes.append(Code(
                code=code,
                labels={"en": label},
                description=(description.text or "").strip() if description is not None else "",
                parent=parent,
                codable=(child.get("isCodable", "true").lower() == "true"),
            ))
            visit(child, code)

    try:
        visit(codes_root, None)
        return Codebook(name=path.stem, codes=codes)
    except RecursionError:
        raise CodebookError(f"{path.name}: codes nested too deeply to be a REFI-QDA codebook") from None


def _split_name(name: str, guid: str) -> tuple[str, str]:
    head, _, rest = name.partition(" ")
    if rest and guid and code_guid(head) == guid.lower():
        return head, rest.strip()
    return name, name


MACHINE_USER = "criteria-nlp (machine proposals)"


GROUPS_PARENT = "Criteria groups (criteria-nlp)"


CASE_VARIABLES = ("city", "group", "question", "language")


def _guid(kind: str, value: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{value}"))


def user_guid(name: str) -> str:
    return _guid("user", name)


def group_guid(key: str) -> str:
    return _guid("group", key)


def build_project_xml(answers, codebook: Codebook, groups=None, name: str = "criteria-nlp") -> tuple[bytes, dict[str, bytes]]:
    """The project.qde document and its sources/ files.

    `answers`: one row per answer with id, text, city, group, question, language,
    code_proposed (the machine's code), code (final), code_source (model / analyst /
    analyst (group)), analyst (who decided, for analyst codes), cluster, cluster_source.
    `groups`: rows with cluster, key, name, validated_by (analyst name or "").
    Every answer is one text source and one case; codings cover the whole answer, the
    machine's proposals by the machine user and analyst decisions by each analyst."""
    q = lambda tag: f"{{{PROJECT_NS}}}{tag}"  # noqa: E731
    ET.register_namespace("", PROJECT_NS)
    machine = user_guid(MACHINE_USER)
    root = ET.Element(q("Project"), {"name": name, "origin": "criteria-nlp", "creatingUserGUID": machine})

    analysts = sorted({str(a) for a in answers.get("analyst", []) if str(a)} | {str(g.validated_by) for g in (groups.itertuples() if groups is not None else []) if str(g.validated_by)})
    users = ET.SubElement(root, q("Users"))
    ET.SubElement(users, q("User"), {"guid": machine, "name": MACHINE_USER, "id": "machine"})
    for analyst in analysts:
        ET.SubElement(users, q("User"), {"guid": user_guid(analyst), "name": analyst, "id": analyst})

    codebook_element = ET.SubElement(root, q("CodeBook"))
    codes = codes_element(codebook, PROJECT_NS)
    group_code = {}
    if groups is not None and len(groups):
        parent = ET.SubElement(codes, q("Code"), {"guid": _guid("code-parent", GROUPS_PARENT), "name": GROUPS_PARENT, "isCodable": "false"})
        ET.SubElement(parent, q("Description")).text = "Criteria groups found by criteria-nlp; names are drafts unless validated by an analyst."
        for g in groups.itertuples(index=False):
            guid = group_guid(g.key)
            group_code[int(g.cluster)] = (guid, str(g.validated_by))
            group = ET.SubElement(parent, q("Code"), {"guid": guid, "name": f"G{int(g.cluster)} {g.name}".strip(), "isCodable": "true"})
            if str(getattr(g, "levels", "") or ""):  # the drafted indicator's five levels and their quotes
                ET.SubElement(group, q("Description")).text = str(g.levels)
    codebook_element.append(codes)

    variables = ET.SubElement(root, q("Variables"))
    variable_guid = {}
    for variable in CASE_VARIABLES:
        variable_guid[variable] = _guid("variable", variable)
        ET.SubElement(variables, q("Variable"), {"guid": variable_guid[variable], "name": variable, "typeOfVariable": "Text"})

    cases = ET.SubElement(root, q("Cases"))
    sources = ET.SubElement(root, q("Sources"))
    files: dict[str, bytes] = {}
    for row in answers.itertuples(index=False):
        answer_id, text = str(row.id), str(row.text)
        source = _guid("source", answer_id)
        case = ET.SubElement(cases, q("Case"), {"guid": _guid("case", answer_id), "name": answer_id})
        for variable in CASE_VARIABLES:
            value = str(getattr(row, variable, "") or "")
            holder = ET.SubElement(case, q("VariableValue"))
            ET.SubElement(holder, q("VariableRef"), {"targetGUID": variable_guid[variable]})
            ET.SubElement(holder, q("TextValue")).text = value
        ET.SubElement(case, q("SourceRef"), {"targetGUID": source})

        element = ET.SubElement(sources, q("TextSource"), {"guid": source, "name": answer_id, "plainTextPath": f"internal://{source}.txt", "creatingUser": machine})
        files[f"sources/{source}.txt"] = text.encode("utf-8")
        codings: list[tuple[str, str]] = []  # (user guid, code guid)
        proposed, final = str(getattr(row, "code_proposed", "") or ""), str(row.code or "")
        code_source = str(getattr(row, "code_source", "") or "")
        if proposed and proposed in codebook:
            codings.append((machine, code_guid(proposed)))
        if code_source.startswith("analyst") and final and final in codebook:
            analyst = str(getattr(row, "analyst", "") or "") or (analysts[0] if analysts else "")
            codings.append((user_guid(analyst) if analyst else machine, code_guid(final)))
        cluster = int(row.cluster) if str(row.cluster).lstrip("-").isdigit() else -1
        if cluster in group_code:
            guid, validated_by = group_code[cluster]
            validated = str(getattr(row, "cluster_source", "")) == "validated" and validated_by
            codings.append((user_guid(validated_by) if validated else machine, guid))
        for n, (user, code) in enumerate(codings):
            selection = ET.SubElement(element, q("PlainTextSelection"), {
                "guid": _guid("selection", f"{answer_id}:{n}:{code}:{user}"), "name": answer_id,
                "startPosition": "0", "endPosition": str(len(text)), "creatingUser": user,
            })
            coding = ET.SubElement(selection, q("Coding"), {"guid": _guid("coding", f"{answer_id}:{n}:{code}:{user}"), "creatingUser": user})
            ET.SubElement(coding, q("CodeRef"), {"targetGUID": code})
    for container in (cases, sources):
        if not len(container):
            root.remove(container)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), files


def write_qdpx(path: str | Path, answers, codebook: Codebook, groups=None, name: str = "criteria-nlp") -> None:
    """A REFI-QDA project: a ZIP with project.qde and sources/<guid>.txt (one per answer)."""
    import io
    import zipfile

    from criteria_nlp.io.outputs import write_bytes_atomic

    document, files = build_project_xml(answers, codebook, groups, name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Fixed timestamps: the same run gives the same bytes.
        archive.writestr(zipfile.ZipInfo("project.qde", date_time=(2000, 1, 1, 0, 0, 0)), document, compress_type=zipfile.ZIP_DEFLATED)
        for member in sorted(files):
            archive.writestr(zipfile.ZipInfo(member, date_time=(2000, 1, 1, 0, 0, 0)), files[member], compress_type=zipfile.ZIP_DEFLATED)
    write_bytes_atomic(Path(path), buffer.getvalue())
