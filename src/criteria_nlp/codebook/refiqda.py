"""REFI-QDA codebook exchange (.qdc), the format NVivo, ATLAS.ti, MAXQDA and QualCoder read.

A REFI-QDA Code has only a name, so a code that differs from its label is written as
"CODE label". GUIDs are uuid5 of the code: re-exports merge cleanly, and on import a name
whose first word hashes to the element's GUID is split back into code and label.
Translations and examples do not fit the format and are not exported.
"""

from __future__ import annotations

import re
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


# What XML 1.0 cannot hold (C0 controls but tab and newlines, U+FFFE/U+FFFF): lxml refuses
# such text where ElementTree wrote a file no REFI-QDA reader opens.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value) -> str:
    """`value` as text an XML document can hold (anything else becomes U+FFFD)."""
    return NOT_XML.sub("\ufffd", str(value))


def codes_element(codebook: Codebook, namespace: str, parent=None):
    """The <Codes> tree (shared by .qdc and .qdpx), an lxml element (under `parent` if given)."""
    from lxml import etree

    codes = etree.Element(f"{{{namespace}}}Codes") if parent is None else etree.SubElement(parent, f"{{{namespace}}}Codes")

    def add(parent_element, parent_code: str | None):
        for code in codebook.children(parent_code):
            element = etree.SubElement(parent_element, f"{{{namespace}}}Code", {
                "guid": code_guid(code.code),
                "name": xml_text(_display_name(code)),
                "isCodable": "true" if code.codable else "false",
            })
            if code.description:
                etree.SubElement(element, f"{{{namespace}}}Description").text = xml_text(code.description)
            add(element, code.code)

    add(codes, None)
    return codes


def xml_document(root) -> bytes:
    """The indented document with its declaration, in UTF-8."""
    from lxml import etree

    etree.indent(root)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def write_qdc(codebook: Codebook, path: str | Path) -> None:
    from lxml import etree

    from criteria_nlp.io.outputs import write_bytes_atomic

    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": "criteria-nlp"}, nsmap={None: CODEBOOK_NS})
    codes_element(codebook, CODEBOOK_NS, parent=root)
    write_bytes_atomic(Path(path), xml_document(root))


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


def _q(tag: str) -> str:
    """A REFI-QDA project element's qualified name."""
    return f"{{{PROJECT_NS}}}{tag}"


FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # of every ZIP member: the same run gives the same bytes


def _project_head(answers, codebook: Codebook, groups, name: str):
    """The <Project> element's attributes and its <Users>, <CodeBook> and <Variables>; the
    users' GUIDs by analyst, the group codes by cluster (GUID, validated by) and the variables'
    GUIDs."""
    from lxml import etree

    SubElement = etree.SubElement
    machine = user_guid(MACHINE_USER)
    attributes = {"name": xml_text(name), "origin": "criteria-nlp", "creatingUserGUID": machine}
    analysts = sorted({str(a) for a in answers.get("analyst", []) if str(a)} | {str(g.validated_by) for g in (groups.itertuples() if groups is not None else []) if str(g.validated_by)})
    users = etree.Element(_q("Users"), nsmap={None: PROJECT_NS})
    SubElement(users, _q("User"), {"guid": machine, "name": MACHINE_USER, "id": "machine"})
    for analyst in analysts:
        SubElement(users, _q("User"), {"guid": user_guid(analyst), "name": xml_text(analyst), "id": xml_text(analyst)})

    codebook_element = etree.Element(_q("CodeBook"), nsmap={None: PROJECT_NS})
    codes = codes_element(codebook, PROJECT_NS, parent=codebook_element)
    group_code = {}
    if groups is not None and len(groups):
        parent = SubElement(codes, _q("Code"), {"guid": _guid("code-parent", GROUPS_PARENT), "name": GROUPS_PARENT, "isCodable": "false"})
        SubElement(parent, _q("Description")).text = "Criteria groups found by criteria-nlp; names are drafts unless validated by an analyst."
        for g in groups.itertuples(index=False):
            guid = group_guid(g.key)
            group_code[int(g.cluster)] = (guid, str(g.validated_by))
            group = SubElement(parent, _q("Code"), {"guid": guid, "name": xml_text(f"G{int(g.cluster)} {g.name}".strip()), "isCodable": "true"})
            if str(getattr(g, "levels", "") or ""):  # the drafted indicator's five levels and their quotes
                SubElement(group, _q("Description")).text = xml_text(g.levels)

    variables = etree.Element(_q("Variables"), nsmap={None: PROJECT_NS})
    variable_guid = {}
    for variable in CASE_VARIABLES:
        variable_guid[variable] = _guid("variable", variable)
        SubElement(variables, _q("Variable"), {"guid": variable_guid[variable], "name": variable, "typeOfVariable": "Text"})
    return attributes, [users, codebook_element, variables], analysts, group_code, variable_guid


def write_project(archive, answers, codebook: Codebook, groups=None, name: str = "criteria-nlp") -> None:
    """Write project.qde and its sources/ files into the open ZIP `archive`, one answer at a
    time (the document is never held whole: 170 MB at 100,000 answers).

    `answers`: one row per answer with id, text, city, group, question, language,
    code_proposed (the machine's code), code (final), code_source (model / analyst /
    analyst (group)), analyst (who decided, for analyst codes), cluster, cluster_source.
    `groups`: rows with cluster, key, name, validated_by (analyst name or "").
    Every answer is one text source and one case; codings cover the whole answer, the
    machine's proposals by the machine user and analyst decisions by each analyst."""
    import zipfile

    from lxml import etree

    SubElement, Element, indent = etree.SubElement, etree.Element, etree.indent
    namespace = {None: PROJECT_NS}
    attributes, head, analysts, group_code, variable_guid = _project_head(answers, codebook, groups, name)
    machine = attributes["creatingUserGUID"]
    rows = list(answers.itertuples(index=False))
    ids = [xml_text(row.id) for row in rows]
    sources = [_guid("source", answer_id) for answer_id in ids]

    def place(xf, element, level: int) -> None:  # indented as one whole indented document would be
        indent(element, level=level)
        xf.write("\n" + "  " * level)
        xf.write(element)

    member = zipfile.ZipInfo("project.qde", date_time=FIXED_TIME)
    member.compress_type = zipfile.ZIP_DEFLATED
    large = len(rows) > 500_000  # a document that may pass 2 GiB needs ZIP64 sizes, declared before it is written
    with archive.open(member, "w", force_zip64=large) as target, etree.xmlfile(target, encoding="utf-8", buffered=True) as xf:
        xf.write_declaration()
        with xf.element(_q("Project"), attributes, nsmap=namespace):
            for element in head:
                place(xf, element, 1)
            if rows:
                xf.write("\n  ")
                with xf.element(_q("Cases")):
                    for row, answer_id, source in zip(rows, ids, sources):
                        case = Element(_q("Case"), {"guid": _guid("case", answer_id), "name": answer_id}, nsmap=namespace)
                        for variable in CASE_VARIABLES:
                            holder = SubElement(case, _q("VariableValue"))
                            SubElement(holder, _q("VariableRef"), {"targetGUID": variable_guid[variable]})
                            SubElement(holder, _q("TextValue")).text = xml_text(getattr(row, variable, "") or "")
                        SubElement(case, _q("SourceRef"), {"targetGUID": source})
                        place(xf, case, 2)
                    xf.write("\n  ")
                xf.write("\n  ")
                with xf.element(_q("Sources")):
                    for row, answer_id, source in zip(rows, ids, sources):
                        place(xf, _text_source(row, answer_id, source, machine, codebook, analysts, group_code, namespace), 2)
                    xf.write("\n  ")
            xf.write("\n")
    for row, source in sorted(zip(rows, sources), key=lambda pair: pair[1]):
        member = zipfile.ZipInfo(f"sources/{source}.txt", date_time=FIXED_TIME)
        archive.writestr(member, str(row.text).encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)


def _text_source(row, answer_id: str, source: str, machine: str, codebook: Codebook, analysts: list[str], group_code: dict, namespace: dict):
    """An answer's <TextSource> and its codings (each over the whole answer)."""
    from lxml import etree

    SubElement = etree.SubElement
    text = str(row.text)
    element = etree.Element(_q("TextSource"), {"guid": source, "name": answer_id, "plainTextPath": f"internal://{source}.txt", "creatingUser": machine},
                            nsmap=namespace)
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
        selection = SubElement(element, _q("PlainTextSelection"), {
            "guid": _guid("selection", f"{answer_id}:{n}:{code}:{user}"), "name": answer_id,
            "startPosition": "0", "endPosition": str(len(text)), "creatingUser": user,
        })
        coding = SubElement(selection, _q("Coding"), {"guid": _guid("coding", f"{answer_id}:{n}:{code}:{user}"), "creatingUser": user})
        SubElement(coding, _q("CodeRef"), {"targetGUID": code})
    return element


def qdpx_bytes(answers, codebook: Codebook, groups=None, name: str = "criteria-nlp") -> bytes:
    """A REFI-QDA project: a ZIP with project.qde and sources/<guid>.txt (one per answer)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        write_project(archive, answers, codebook, groups, name)
    return buffer.getvalue()


def write_qdpx(path: str | Path, answers, codebook: Codebook, groups=None, name: str = "criteria-nlp") -> None:
    """Write the REFI-QDA project of `qdpx_bytes` to `path`."""
    from criteria_nlp.io.outputs import write_bytes_atomic

    write_bytes_atomic(Path(path), qdpx_bytes(answers, codebook, groups, name))
