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

from ..codebook import Code, Codebook
from ..errors import CodebookError

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
    from ..outputs import write_bytes_atomic

    ET.register_namespace("", CODEBOOK_NS)
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook", {"origin": "criteria-nlp"})
    root.append(codes_element(codebook, CODEBOOK_NS))
    ET.indent(root)
    write_bytes_atomic(Path(path), ET.tostring(root, encoding="utf-8", xml_declaration=True))


def read_qdc(path: str | Path) -> Codebook:
    path = Path(path)
    head = path.read_bytes()[:65536]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        # REFI-QDA codebooks never need a DTD; entities can expand without bound.
        raise CodebookError(f"{path.name}: the XML declares a DTD or entities, which a REFI-QDA codebook never has; export it again from your QDA tool")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise CodebookError(f"{path.name}: not a valid REFI-QDA codebook (XML error: {exc}); export it again from your QDA tool") from None
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

    visit(codes_root, None)
    return Codebook(name=path.stem, codes=codes)


def _split_name(name: str, guid: str) -> tuple[str, str]:
    head, _, rest = name.partition(" ")
    if rest and guid and code_guid(head) == guid.lower():
        return head, rest.strip()
    return name, name
