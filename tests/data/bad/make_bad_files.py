"""Write the catalogue of bad inputs in this folder, and EXPECTED.csv / EXPECTED.md.

Run once (the files are committed, binary ones too); re-run after changing the catalogue:

    PYTHONPATH=src python tests/data/bad/make_bad_files.py

Each entry is a file, the arguments of `criteria-nlp run` that use it ({file} is the entry,
{base} the baseline answers file, {out} the output folder), the expected exit code and, for
exit code 2, a fragment of the one-line message. tests/io/test_bad_inputs.py drives the CLI on
every entry; the constants below are imported by the tests to check what was read.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------- shared content
BASE_ROWS = [
    ("m1", "avoir un logement décent", "Mulhouse"),
    ("m2", "des loyers trop chers", "Mulhouse"),
    ("m3", "trouver un travail", "Mulhouse"),
    ("m4", "la solitude des personnes âgées", "Mulhouse"),
    ("b1", "een betaalbare woning", "Mechelen"),
    ("b2", "werk vinden in de buurt", "Mechelen"),
    ("b3", "eenzaamheid bij ouderen", "Mechelen"),
    ("k1", "η ανεργία των νέων", "Kavala"),
]
UTF8_LINE_TEXT = "être bien chez soi, l'été"
CP1252_LINE_TEXT = "café crème à la fenêtre"
EMOJI_RTL_TEXTS = [
    "الصحة والعائلة 👨‍👩‍👧 والسلام",
    "בריאות ושלום בבית",
    "la santé 💚 et ma famille 👍🏽",
    "e\u0301te\u0301 (combining accents) et \u200fRTL mark",
    "mixed עברית and français",
]
HTML_TEXTS = [
    "<script>alert('x')</script> la sécurité",
    "<b>être</b> en bonne santé & <i>heureux</i>",
    "<img src=x onerror=alert(1)> avoir un travail",
    "<a href=\"javascript:alert(1)\">logement</a>",
]
FORMULA_TEXTS = [
    "=HYPERLINK(\"http://evil.example\",\"cliquez\")",
    "+33 la santé avant tout",
    "-le travail et les amis",
    "@SUM(A1:A9) des loisirs",
    "'=déjà avec une apostrophe",
    "\ttabulation devant la famille",
]
MULTILINE_TEXTS = [
    "première ligne\nseconde ligne",
    "windows\r\nline break",
    "old mac\rline break",
    "  espaces autour  ",
    "deux\n\nparagraphes et des \"guillemets\"",
]
NUMBER_TEXTS = ["12", "3.5", "0", "1999", "42"]
HUGE_ANSWER_BYTES = 1_000_000
JSONL_SPECIAL = "ligne\u2028séparateur et\u2029paragraphe"


def _csv(rows, delimiter=",", header=("id", "text", "city"), newline="\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def base_csv() -> bytes:
    return _csv(BASE_ROWS).encode("utf-8")


def huge_answer_text() -> str:
    rng = random.Random(7)
    words = "santé travail famille logement amis solitude quartier école transport parc sécurité respect".split()
    parts, size = [], 0
    while size < HUGE_ANSWER_BYTES:
        word = rng.choice(words)
        parts.append(word)
        size += len(word.encode("utf-8")) + 1
    return " ".join(parts)


# ---------------------------------------------------------------- spreadsheets

def _xlsx(sheets: dict[str, list[list]], merge: dict[str, list[str]] | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cells in (merge or {}).get(title, []):
            sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """Same bytes on every regeneration: fixed zip timestamps and document dates."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", content)
            info = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def _with_cached_values(data: bytes, values: dict[str, str]) -> bytes:
    """Give formula cells a cached result, as Excel does when it saves (openpyxl cannot)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for ref, value in values.items():
                    pattern = re.compile(rb'(<c r="' + ref.encode() + rb'"[^>]*>)<f>(.*?)</f><v\s*/?>(?:</v>)?')
                    content = pattern.sub(lambda m: m.group(1) + b"<f>" + m.group(2) + b"</f><v>" + value.encode() + b"</v>", content)
            target.writestr(item, content)
    return out.getvalue()


def several_sheets_xlsx() -> bytes:
    return _xlsx({
        "Instructions": [["Comment remplir"], ["Une réponse par ligne"]],
        "Réponses": [["id", "text", "city"], *[list(r) for r in BASE_ROWS]],
        "Notes": [["id", "remark"], ["m1", "vu"]],
    })


def merged_cells_xlsx() -> bytes:
    rows = [["id", "text", "city"]] + [[i, t, c if n in (0, 4, 7) else None] for n, (i, t, c) in enumerate(BASE_ROWS)]
    return _xlsx({"answers": rows}, {"answers": ["C2:C5", "C6:C8"]})


def formula_column_xlsx() -> bytes:
    rows = [["id", "text", "length", "computed"]]
    for n, (i, t, _) in enumerate(BASE_ROWS, start=2):
        rows.append([i, t, f"=LEN(B{n})", f"=LEN(B{n})"])
    data = _xlsx({"answers": rows})
    return _with_cached_values(data, {f"D{n}": str(len(t)) for n, (_, t, _) in enumerate(BASE_ROWS, start=2)})


def formula_text_xlsx() -> bytes:
    rows = [["id", "text", "source"]]
    for n, (i, t, _) in enumerate(BASE_ROWS, start=2):
        rows.append([i, f"=C{n}", t])
    return _xlsx({"answers": rows})


def empty_sheet_xlsx() -> bytes:
    return _xlsx({"answers": []})


# ---------------------------------------------------------------- other inputs

def png_bytes() -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + bytes(range(0, 48)) for _ in range(16))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def nul_bytes_csv() -> bytes:
    lines = _csv(BASE_ROWS).encode("utf-8").split(b"\r\n")
    return b"\x00\r\n".join(lines) + b"\x00" * 512  # NUL after each record, padding at the end


def mixed_encodings_csv() -> bytes:
    rows = list(BASE_ROWS[:3]) + [("u1", UTF8_LINE_TEXT, "Mulhouse")]
    head = _csv(rows).encode("utf-8")
    tail = _csv([("w1", CP1252_LINE_TEXT, "Mulhouse"), ("w2", "bien-être à l'école", "Mulhouse")], header=()).encode("cp1252")
    return head + tail.lstrip(b"\r\n")


def unbalanced_quotes_csv() -> bytes:
    return b'id,text,city\r\nm1,avoir un logement,Mulhouse\r\nm2,"des loyers trop chers,Mulhouse\r\nm3,trouver un travail,Mulhouse\r\n'


def ragged_row_csv() -> bytes:
    return b"id,text,city\r\nm1,avoir un logement,Mulhouse\r\nm2,des loyers, trop chers,Mulhouse\r\nm3,un travail,Mulhouse\r\n"


def trailing_delimiters_csv() -> bytes:
    return b"id,text,city\r\nm1,avoir un logement,Mulhouse,,\r\nm2,des loyers trop chers\r\nm3,trouver un travail,Mulhouse,\r\n"


def single_column_commas_csv() -> bytes:
    return "text\r\nla santé, le travail, la famille\r\nêtre écouté; être respecté\r\navoir des amis\r\nun logement | un jardin\r\n".encode("utf-8")


def semicolon_excel_fr() -> bytes:
    return _csv([("1", "être bien chez soi; en paix", "Mulhouse"), ("2", "l'été à la mer", "Mulhouse"), ("3", "ne pas être seul", "Mulhouse")], delimiter=";").encode("cp1252")


def jsonl_broken() -> bytes:
    good = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t, _ in BASE_ROWS[:2]]
    return ("\n".join(good) + '\n{"id": "m3", "text": "trouver un trav\n' + json.dumps({"id": "m4", "text": "x"}) + "\n").encode("utf-8")


def jsonl_not_objects() -> bytes:
    return ('{"id": "m1", "text": "avoir un logement"}\n["m2", "des loyers"]\n').encode("utf-8")


def jsonl_tricky() -> bytes:
    lines = [
        json.dumps({"id": "j1", "text": JSONL_SPECIAL, "age": 71, "tags": ["a", "b"], "note": None}, ensure_ascii=False),
        '{"id": "j2", "text": "avoir des amis", "age": 34, "age": 35}',
        "",
        json.dumps({"id": "j3", "text": "un travail stable", "extra": {"k": 1}}, ensure_ascii=False),
        json.dumps({"id": "j4", "text": "la paix dans le quartier"}),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def codebook_entities() -> bytes:
    return b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="1" name="&lol2;" isCodable="true"/></Codes></CodeBook>
"""


# ---------------------------------------------------------------- round two (issue 14)

def far_cell_xlsx() -> bytes:
    """The answers, and one stray cell at XFD1048576: the sheet claims 17 billion cells."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "answers"
    sheet.append(["text", "city"])
    for _, text, city in BASE_ROWS:
        sheet.append([text, city])
    sheet["XFD1048576"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip_times(buffer.getvalue())


def _with_shared_strings(strings_xml: bytes) -> bytes:
    """The base answers as a workbook whose shared-strings part is `strings_xml`."""
    source = zipfile.ZipFile(io.BytesIO(_xlsx({"answers": [["id", "text", "city"], *[list(r) for r in BASE_ROWS]]})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                          b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            if item.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
                                          b'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0)), content, compress_type=zipfile.ZIP_DEFLATED)
        target.writestr(zipfile.ZipInfo("xl/sharedStrings.xml", date_time=(2024, 1, 1, 0, 0, 0)), strings_xml, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


_SST = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def many_shared_strings_xlsx() -> bytes:
    return _with_shared_strings(_SST + b"<si><t>x</t></si>" * 1_000_000 + b"</sst>")


def huge_shared_string_xlsx() -> bytes:
    return _with_shared_strings(_SST + b"<si><t>" + b"a" * 20_000_000 + b"</t></si></sst>")


def deep_json_jsonl() -> bytes:
    return ('{"id": "m1", "text": "avoir un logement"}\n{"id": "m2", "text": "un travail", "extra": ' + "[" * 5000 + "]" * 5000 + "}\n").encode("utf-8")


IDENTICAL_TEXT = "housing is too expensive"
OTHER_LANGUAGE_TEXTS = {"z1": "住房太贵了", "z2": "我想要一份稳定的工作", "t1": "ค่าเช่าบ้านแพงเกินไป", "a1": "السكن باهظ الثمن جدا"}
CONTENTLESS_TEXTS = ["a", "x", "B.", "x y z", "aaaa", "?!", "é"]
OUTPUT_NAMED_COLUMNS = ("code_manual", "code_source", "cluster_source", "code_proposed", "code_2", "confidence_2", "duplicate_of")
PREVIOUS_ANSWERS_HEADER = ("id", "text", "language", "code", "code_label", "confidence", "cluster", "language_source", "status",
                           "cluster_source", "city", "code_proposed", "code_source")


def output_named_columns_csv() -> bytes:
    return _csv([(i, t, c) + tuple(f"{name}-{i}" for name in OUTPUT_NAMED_COLUMNS) for i, t, c in BASE_ROWS],
                header=("id", "text", "city") + OUTPUT_NAMED_COLUMNS).encode("utf-8")


def previous_answers_csv() -> bytes:
    rows = [(i, t, "fr", "A03", "Housing", "0.5", "2", "detected", "answer", "discovered", c, "A03", "model") for i, t, c in BASE_ROWS]
    return _csv(rows, header=PREVIOUS_ANSWERS_HEADER).encode("utf-8")


def codebook_entities_after_comment() -> bytes:
    return b'<?xml version="1.0"?>\n<!--' + b"padding " * 9000 + b"-->\n" + codebook_entities().split(b"\n", 1)[1]


def codebook_entities_utf16() -> bytes:
    return codebook_entities().decode("ascii").replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")


CODEBOOK_ALIASES = b"""a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
codes: [{code: A, label: *g}]
"""


# ---------------------------------------------------------------- the catalogue
RUN = "run {file} -o {out} --embedder tfidf -q"
WITH_CODEBOOK = "run {base} -o {out} --embedder tfidf -q --codebook {file}"

CATALOGUE = [
    # file, content, args, exit code, message fragment, what it is / what happens
    ("base_answers.csv", base_csv, RUN, 0, "", "baseline: a clean file; the codebook entries run on it"),
    ("empty.csv", lambda: b"", RUN, 2, "the file is empty", "0 bytes"),
    ("blank_lines_only.csv", lambda: b"\r\n\n   \r\n\t\n", RUN, 2, "the file is empty", "only blank lines"),
    ("header_only.csv", lambda: b"id,text,city\r\n", RUN, 2, "header but no rows", "a header and nothing else"),
    ("header_only_bom_semicolon.csv", lambda: "\ufeffid;text;city\r\n".encode("utf-8"), RUN, 2, "header but no rows", "Excel 'CSV UTF-8' header only"),
    ("png_renamed.csv", png_bytes, RUN, 2, "this is a PNG image, not a text table", "an image renamed .csv"),
    ("xlsx_renamed.csv", several_sheets_xlsx, RUN, 2, "this is an Excel workbook, not a text table; rename it to .xlsx", "a workbook renamed .csv"),
    ("pdf_renamed.csv", lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", RUN, 2, "this is a PDF document", "a PDF renamed .csv"),
    ("random_binary.csv", lambda: random.Random(3).randbytes(4096), RUN, 2, "not a text table (binary content)", "4 KiB of random bytes"),
    ("nul_bytes.csv", nul_bytes_csv, RUN, 0, "", "NUL after each record and 512 NULs of padding: NULs dropped, warning"),
    ("mixed_encodings.csv", mixed_encodings_csv, RUN, 0, "", "UTF-8 lines then cp1252 lines: decoded line by line, warning names the lines"),
    ("old_mac_cr.csv", lambda: _csv(BASE_ROWS, newline="\r").encode("utf-8"), RUN, 0, "", "records separated by CR only (classic Mac OS)"),
    ("utf16le_bom_tab.txt", lambda: b"\xff\xfe" + _csv(BASE_ROWS, delimiter="\t").encode("utf-16-le"), RUN, 0, "", "Excel 'Unicode text': UTF-16LE with BOM, tab-separated"),
    ("utf16le_no_bom.csv", lambda: _csv(BASE_ROWS).encode("utf-16-le"), RUN, 0, "", "UTF-16LE without BOM (Greek included)"),
    ("utf16be_no_bom.csv", lambda: _csv(BASE_ROWS).encode("utf-16-be"), RUN, 0, "", "UTF-16BE without BOM"),
    ("utf16_truncated.csv", lambda: _csv(BASE_ROWS).encode("utf-16-le")[:-1], RUN, 2, "looks like utf-16-le but byte", "UTF-16 cut in the middle of a character"),
    ("unbalanced_quotes.csv", unbalanced_quotes_csv, RUN, 2, "quoted field starting on line 3 is never closed", "an opening quote never closed"),
    ("ragged_row.csv", ragged_row_csv, RUN, 2, "line 3 has 4 fields but the header has 3", "an unquoted comma inside an answer"),
    ("trailing_delimiters.csv", trailing_delimiters_csv, RUN, 0, "", "empty trailing cells and a short row: read, short row padded"),
    ("single_column_commas.csv", single_column_commas_csv, RUN, 0, "", "one column whose answers contain , ; |: not split"),
    ("semicolon_cp1252_excel_fr.csv", semicolon_excel_fr, RUN, 0, "", "French Excel export: cp1252, ';', quoted ';' inside an answer"),
    ("duplicate_text_column.csv", lambda: b"id,text,text\r\nm1,avoir un logement,la paix\r\nm2,un travail,des amis\r\n", RUN, 2, "column 'text' appears 2 times", "two columns named text: ambiguous"),
    ("duplicate_extra_columns.csv", lambda: _csv([(i, t, c, "x", "y") for i, t, c in BASE_ROWS], header=("id", "text", "city", "note", "note")).encode("utf-8"), RUN, 0, "", "two columns named note: both kept (note, note.1)"),
    ("numbers_only_answers.csv", lambda: _csv([(f"n{i}", t, "Mulhouse") for i, t in enumerate(NUMBER_TEXTS)]).encode("utf-8"), RUN, 2, "no answer to code", "every answer is a number (wrong column?)"),
    ("numbers_among_answers.csv", lambda: _csv(list(BASE_ROWS) + [(f"n{i}", t, "Mulhouse") for i, t in enumerate(NUMBER_TEXTS)]).encode("utf-8"), RUN, 0, "", "numbers among answers: kept, status non_answer, cluster -1"),
    ("huge_answer.csv", lambda: _csv(list(BASE_ROWS) + [("big", huge_answer_text(), "Mulhouse")]).encode("utf-8"), RUN, 0, "", "one 1 MB answer: processed, written back whole"),
    ("emoji_rtl.csv", lambda: _csv(list(BASE_ROWS) + [(f"e{i}", t, "Kavala") for i, t in enumerate(EMOJI_RTL_TEXTS)]).encode("utf-8"), RUN, 0, "", "emoji (ZWJ, skin tone), Arabic, Hebrew, combining accents, RLM: unchanged"),
    ("html_script.csv", lambda: _csv(list(BASE_ROWS) + [(f"h{i}", t, "Mulhouse") for i, t in enumerate(HTML_TEXTS)]).encode("utf-8"), RUN, 0, "", "HTML and script in answers: kept as text in CSV, escaped in any HTML output"),
    ("formula_cells.csv", lambda: _csv(list(BASE_ROWS) + [(f"=f{i}", t, "@city") for i, t in enumerate(FORMULA_TEXTS)]).encode("utf-8"), RUN, 0, "", "cells starting with = + - @ tab (ids and extra columns too): neutralised with a leading '"),
    ("multiline_answers.csv", lambda: _csv(list(BASE_ROWS) + [(f"l{i}", t, "Mulhouse") for i, t in enumerate(MULTILINE_TEXTS)]).encode("utf-8"), RUN, 0, "", "quoted answers with LF, CRLF, CR, quotes and edge spaces: unchanged"),
    ("control_chars.csv", lambda: _csv(list(BASE_ROWS) + [("c1", "page\x0cbreak and vertical\x0btab", "Mulhouse")]).encode("utf-8"), RUN, 0, "", "form feed and vertical tab inside an answer: kept"),
    ("ids_verbatim.csv", lambda: _csv([(f" {i} ", t, c) for i, t, c in BASE_ROWS[:4]] + [("0012", "ma famille", "Mulhouse"), ("NA", "des amis", "Mulhouse")]).encode("utf-8"), RUN, 0, "", "ids ' m1 ', '0012', 'NA': kept exactly"),
    ("duplicate_ids.csv", lambda: _csv([("m1", "avoir un logement", "Mulhouse"), ("m1", "un travail", "Mulhouse")]).encode("utf-8"), RUN, 2, "duplicate ids in column 'id' ('m1')", "the same id twice"),
    ("empty_id.csv", lambda: _csv([("m1", "avoir un logement", "Mulhouse"), ("  ", "un travail", "Mulhouse")]).encode("utf-8"), RUN, 2, "empty id in column 'id' (data row 2)", "a blank id"),
    ("missing_mapped_column.csv", lambda: "id,Réponse,city\r\nm1,avoir un logement,Mulhouse\r\nm2,un travail,Mulhouse\r\n".encode("utf-8"), "run {file} -o {out} --embedder tfidf -q --text-col réponse", 2, "no column 'réponse' (--text-col); did you mean 'Réponse'?", "--text-col names a column that is not there"),
    ("missing_city_column.csv", base_csv, "run {file} -o {out} --embedder tfidf -q --city-col ville", 2, "no column 'ville' (--city-col)", "--city-col names a column that is not there"),
    ("several_sheets.xlsx", several_sheets_xlsx, RUN, 0, "", "instructions sheet first, answers second: the sheet with the text column is read"),
    ("merged_cells.xlsx", merged_cells_xlsx, RUN, 0, "", "city merged over rows: each row gets the city"),
    ("formula_column.xlsx", formula_column_xlsx, RUN, 0, "", "extra columns of formulas: cached results read, uncomputed ones empty with a warning"),
    ("formula_text_uncomputed.xlsx", formula_text_xlsx, RUN, 2, "holds 8 formula(s) that were never computed", "the text column is formulas nobody computed"),
    ("csv_renamed.xlsx", base_csv, RUN, 2, "this is a text file, not an Excel workbook; rename it to .csv", "a CSV renamed .xlsx"),
    ("truncated.xlsx", lambda: several_sheets_xlsx()[:1500], RUN, 2, "cannot open as an Excel workbook", "a workbook cut short (partial download)"),
    ("empty_sheet.xlsx", empty_sheet_xlsx, RUN, 2, "sheet 'answers' is empty", "a workbook with an empty sheet"),
    ("broken_line.jsonl", jsonl_broken, RUN, 2, "line 3 is not valid JSON", "a line cut in the middle of a string"),
    ("not_objects.jsonl", jsonl_not_objects, RUN, 2, "line 2 is not a JSON object", "a line holding a list"),
    ("tricky_values.jsonl", jsonl_tricky, RUN, 0, "", "CRLF, U+2028 in text, numbers, lists, null, nested object, repeated key: read"),
    ("codebook_duplicate_codes.csv", lambda: b"code,label\r\nA1,Housing\r\nA2,Work\r\nA1,Health\r\n", WITH_CODEBOOK, 2, "code 'A1' appears twice", "a codebook with a repeated code"),
    ("codebook_missing_label.csv", lambda: b"code,label\r\nA1,Housing\r\nA2,\r\n", WITH_CODEBOOK, 2, "row 3 has no label", "a CSV codebook row without label"),
    ("codebook_missing_label.yaml", lambda: b"name: mini\ncodes:\n  - code: A1\n    label: Housing\n  - code: A2\n    description: no label here\n", WITH_CODEBOOK, 2, "entry 2 (A2) has no label", "a YAML codebook entry without label"),
    ("codebook_duplicate_columns.csv", lambda: b"code,label,label\r\nA1,Housing,Logement\r\n", WITH_CODEBOOK, 2, "column 'label' appears 2 times", "a codebook CSV with two label columns"),
    ("codebook_parent_loop.yaml", lambda: b"codes:\n  - {code: A, parent: B, label: a}\n  - {code: B, parent: A, label: b}\n  - {code: C, label: c}\n", WITH_CODEBOOK, 2, "parents form a loop", "A's parent is B, B's parent is A"),
    ("codebook_bad_yaml.yaml", lambda: b"codes:\n  - code: A1\n\tlabel: tab indent\n", WITH_CODEBOOK, 2, "is not valid YAML at line", "tabs in YAML"),
    ("codebook_unknown_format.docx", lambda: b"PK\x05\x06" + b"\x00" * 18, WITH_CODEBOOK, 2, "unknown codebook format '.docx'", "a codebook in a format that is not read"),
    ("codebook_broken.qdc", lambda: b"<?xml version='1.0'?><CodeBook><Codes><Code name='A'></Codes>", WITH_CODEBOOK, 2, "not a valid REFI-QDA codebook", "malformed XML"),
    ("codebook_entities.qdc", codebook_entities, WITH_CODEBOOK, 2, "declares a DTD or entities", "XML entity expansion (billion laughs)"),
    ("codebook_image.yaml", png_bytes, WITH_CODEBOOK, 2, "this is a PNG image", "an image named .yaml"),
    ("codebook_as_json.json", lambda: json.dumps({"name": "json", "codes": [{"code": "H", "label": {"en": "Housing", "fr": "Logement"}}, {"code": "W", "label": "Work"}]}).encode("utf-8"), WITH_CODEBOOK, 0, "", "a JSON codebook: read (JSON is YAML)"),
    # round two (issue 14): the item of the issue is given in brackets
    ("identical_answers.csv", lambda: _csv([(f"s{i}", IDENTICAL_TEXT, "Mulhouse") for i in range(4)]).encode("utf-8"), RUN, 0, "", "[5] four identical answers: the map is one point (t-SNE crashed the process with a segfault)"),
    ("two_distinct_answers.csv", lambda: _csv([(f"d{i}", ("Mulhouse", "Mechelen")[i % 2], "x") for i in range(12)]).encode("utf-8"), RUN, 0, "", "[5] only two distinct answers among 12: the map degrades to PCA"),
    ("deep_json.jsonl", deep_json_jsonl, RUN, 2, "line 2 holds values nested too deeply", "[7] a value nested 5,000 deep (a traceback before)"),
    ("output_named_columns.csv", output_named_columns_csv, RUN, 0, "", "[7] input columns named code_manual, code_source, cluster_source, code_proposed, code_2...: carried, as input_<name> when the run writes that name"),
    ("previous_answers.csv", previous_answers_csv, RUN, 0, "", "[7] a previous answers.csv given as input: its output columns carried as input_<name>"),
    ("codebook_key_not_text.yaml", lambda: b"codes:\n  - code: A\n    label: Housing\n  - 1: Work\n", WITH_CODEBOOK, 2, "entry 2 has a key 1 that is not text", "[7] '1:' as a key (a traceback before)"),
    ("codebook_examples_number.yaml", lambda: b"codes:\n  - code: A\n    label: Housing\n    examples: 5\n", WITH_CODEBOOK, 2, "'examples' must be a list of texts", "[7] examples: 5"),
    ("codebook_examples_nested.yaml", lambda: b"codes:\n  - code: A\n    label: Housing\n    examples: {fr: 5}\n", WITH_CODEBOOK, 2, "examples must be texts, not a number", "[7] examples: {fr: 5}"),
    ("codebook_aliases.yaml", lambda: CODEBOOK_ALIASES, WITH_CODEBOOK, 2, "aliases (*name) are not allowed", "[9] nested aliases (a billion laughs of lists: 40 s and a MemoryError before)"),
    ("far_cell.xlsx", far_cell_xlsx, RUN, 0, "", "[10] the answers and one stray cell at XFD1048576: read in bounded time and memory (a dense grid, MemoryError before)"),
    ("many_shared_strings.xlsx", many_shared_strings_xlsx, RUN, 2, "shared strings for at most", "[10] a million shared strings for 24 cells: refused before parsing"),
    ("huge_shared_string.xlsx", huge_shared_string_xlsx, RUN, 2, "one cell holds about 19 MB of text", "[10] one 20 MB shared string: refused before parsing"),
    ("codebook_entities_after_comment.qdc", codebook_entities_after_comment, WITH_CODEBOOK, 2, "declares a DTD or entities", "[13] the DTD after a 70 KB comment (the 64 KiB check missed it)"),
    ("codebook_entities_utf16.qdc", codebook_entities_utf16, WITH_CODEBOOK, 2, "declares a DTD or entities", "[13] the DTD in UTF-16 (the byte check missed it)"),
    ("codebook_deep.qdc", lambda: ('<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>' + "".join(f'<Code guid="{i}" name="c{i}" isCodable="true">' for i in range(1200)) + "</Code>" * 1200 + "</Codes></CodeBook>").encode("ascii"), WITH_CODEBOOK, 2, "codes nested too deeply", "[7] codes nested 1,200 deep (a RecursionError before)"),
    ("codebook_deep.json", lambda: b'{"codes": ' + b"[" * 2000 + b"]" * 2000 + b"}", WITH_CODEBOOK, 2, "nested too deeply", "[7] a JSON codebook nested 2,000 deep"),
    ("other_languages.csv", lambda: _csv(list(BASE_ROWS) + [(i, t, "Mulhouse") for i, t in OTHER_LANGUAGE_TEXTS.items()]).encode("utf-8"), RUN, 0, "", "[15] Chinese, Thai and Arabic answers among French, Dutch, Greek: their own language, status other_language, not coded"),
    ("contentless_answers.csv", lambda: _csv(list(BASE_ROWS) + [(f"c{i}", t, "Mulhouse") for i, t in enumerate(CONTENTLESS_TEXTS)]).encode("utf-8"), RUN, 0, "", "[16] single letters and punctuation: non-answers, never coded"),
    ("no_newline_header.csv", lambda: ("la santé, le travail et la famille " * 600).encode("utf-8"), RUN, 2, "no column 'text' (--text-col)", "[messages] 20 KB without a line end: the message shows 40 characters of it, not the whole answer text"),
    ("lone_surrogate.jsonl", lambda: b'{"id": "j1", "text": "avoir un logement \\ud800 pas cher"}\n{"id": "j2", "text": "un travail"}\n{"id": "j3", "text": "des amis"}\n', RUN, 0, "", "[7] half a character escaped in JSON (\\ud800): read as U+FFFD (a traceback at the write stage before)"),
]

# Scripted scenarios of issue 14 (tests/test_robustness.py, one test each): what is done, the
# issue's item, the expected exit code and message, and what must be left unchanged.
SCENARIOS = [
    ("test_import_on_a_full_disk_records_nothing_and_says_so", "1", 2, "nothing recorded, the store is unchanged", "decisions.jsonl byte for byte; the same import then succeeds whole", "review import of 16 overrides with the store's file size capped (RLIMIT_FSIZE: a full disk for that process)"),
    ("test_run_refuses_a_folder_it_did_not_write", "2", 2, "that criteria-nlp did not write", "every file of the folder", "run -o into a folder holding the user's answers.csv and report.html"),
    ("test_force_writes_into_a_foreign_folder_but_never_over_the_input", "2", 0, "", "the input, the user's notes.txt and .draft.part", "the same with --force"),
    ("test_run_sweeps_only_its_own_temporaries", "2", 0, "", "another program's .notes.txt.abc.part, every .part file in a sub-folder", "a killed run's .answers.csv.*.part is swept, nothing else"),
    ("test_an_empty_outdir_is_refused_not_read_as_the_current_folder", "2", 2, "-o is empty", "the current folder", "run -o \"$UNSET_VARIABLE\""),
    ("test_an_output_that_is_the_input_is_refused", "3", 2, "is the input", "the input", "assign/embed/cluster/evaluate X.csv -o X.csv, through a symbolic link and a hard link too"),
    ("test_a_run_never_replaces_its_input", "3", 2, "is the input", "every file of OUTDIR", "run OUTDIR/answers.csv -o OUTDIR"),
    ("test_an_older_workbook_never_reverts_later_decisions", "4", 0, "", "every later decision", "import review.xlsx, run, import the older copy (untouched, then with one edit)"),
    ("test_a_conflicting_edit_is_reported_not_applied", "4", 2, "conflict(s) with decisions recorded after this workbook was written, nothing recorded", "decisions.jsonl (until --overwrite)", "the older copy changes a cell that a later import decided"),
    ("test_map_of_identical_or_few_distinct_answers_never_crashes", "5", 0, "", "", "project_2d on 40 identical vectors and on 5 distinct ones (in a subprocess: a segfault before)"),
    ("test_ctrl_c_exits_130_with_one_line", "6", 130, "interrupted", "no folder left by the interrupted first run", "SIGINT while the run embeds"),
    ("test_wrong_options_fail_at_once_in_one_line", "7", 2, "--seed / --top-k 5 asks for more codes / --n-clusters 50 is more than / unknown embedder", "no OUTDIR created", "--seed -1, --seed 2**32, --top-k above the codes, --n-clusters above the answers, a bad --embedder"),
    ("test_disk_full_during_a_run_is_one_line_and_changes_nothing", "7", 2, "nothing was replaced", "every file of OUTDIR", "a second run with files capped at 2 KB"),
    ("test_a_file_name_that_is_not_utf8_is_processed", "7", 0, "", "", "an input named answers\\xff.csv: U+FFFD in the manifest (a traceback after the whole run before)"),
    ("test_ids_with_edge_spaces_and_cr_survive_the_review_round_trip", "8", 0, "", "", "ids ' m1' and 'm2\\r': overridden in the workbook, imported, applied by the next run"),
    ("test_review_import_of_a_workbook_with_a_far_cell_is_bounded", "10", 0, "", "", "review.xlsx with a stray cell at XFD1048576"),
    ("test_review_import_of_a_shared_strings_bomb_is_refused_early", "10", 2, "shared strings for at most", "every file of OUTDIR", "review import of many_shared_strings.xlsx"),
    ("test_a_workbook_id_that_is_a_path_is_refused", "11", 2, "hidden workbook id was edited", "no decisions.jsonl", "the hidden id set to ../../.../evil, a JSON file there"),
    ("test_planted_symlinks_are_never_followed", "12", 2, "is a symbolic link", "the link's target is never created", ".criteria-nlp.lock or decisions.jsonl planted as a link"),
    ("test_workbooks_are_parsed_by_defusedxml", "13", 0, "", "", "openpyxl.DEFUSEDXML is True"),
    ("test_endless_devices_are_refused_at_once", "14", 2, "nothing but NUL bytes / binary content", "no OUTDIR created", "run /dev/zero, run /dev/urandom: refused from the first bytes (a MemoryError before)"),
    ("test_a_fifo_is_read_once_with_the_checksum_of_what_was_read", "14", 0, "", "", "run on a FIFO (opened once; the manifest's sha256 is that of the bytes read)"),
    ("test_an_input_over_the_size_limit_is_refused_before_it_is_read", "14", 2, "the limit for an input", "", "CRITERIA_NLP_MAX_INPUT_MB=0.001"),
    ("test_a_run_never_deletes_staged_files_in_a_sub_folder", "17", 0, "", "OUTDIR/sub/.answers.csv.*.part", "a run into X while a run into X/sub stages its files"),
    ("test_store_tolerates_a_bom_a_missing_final_newline_and_trailing_blank_lines", "messages", 0, "", "every record; an append keeps every byte before it", "decisions.jsonl with a BOM, without its last newline, with blank lines at the end, with CRLF"),
    ("test_an_edited_store_is_refused_before_any_work", "messages", 2, "checksum mismatch", "every file of OUTDIR", "an edited decisions.jsonl: refused before language identification"),
    ("test_an_error_never_echoes_the_answers", "messages", 2, "no column 'text'", "", "no_newline_header.csv: the message stays under 400 characters"),
    ("test_an_outdir_that_is_a_file_or_a_link_loop_is_named", "messages", 2, "is a file, not a folder / is a symbolic link loop", "", "-o at a file, -o at a link to itself"),
    ("test_outputs_follow_the_umask", "messages", 0, "", "", "umask 022: outputs 0644 (were 0600)"),
    ("test_report_and_compare_take_the_folder_lock", "messages", 2, "another criteria-nlp run is writing this folder", "every file of OUTDIR", "report / compare while the folder is locked"),
    ("test_review_snapshots_are_pruned_to_the_last_ten", "messages", 0, "", "the 8 newest old snapshots, the user's notes.json", "12 old snapshots, then a run"),
    ("test_deleted_answer_rows_are_refused", "messages", 2, "answer row(s) were deleted", "no decisions.jsonl", "a row deleted from the Answers sheet"),
    ("test_codebook_export_never_replaces_its_source", "3", 2, "is the input", "the codebook", "codebook export cb.yaml -o cb.yaml"),
    ("test_a_bug_is_one_line_not_a_traceback", "7", 1, "internal error (ValueError: ...)", "no OUTDIR created", "a stage that raises an unexpected exception (CRITERIA_NLP_DEBUG=1 shows the traceback)"),
    ("test_a_folder_left_by_a_killed_first_run_is_reused", "2", 0, "", "", "a folder holding only the lock and a temporary of a killed first run: not foreign"),
]


MANIFEST = "EXPECTED.csv"


def main() -> None:
    for name, make, *_ in CATALOGUE:
        (HERE / name).write_bytes(make())
    with open(HERE / MANIFEST, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["file", "args", "exit_code", "message", "description"])
        for name, _, args, code, message, description in CATALOGUE:
            writer.writerow([name, args, code, message, description])
    lines = [
        "# Catalogue of bad inputs",
        "",
        "Generated by `make_bad_files.py` (which also writes the machine-readable `EXPECTED.csv`);",
        "`tests/io/test_bad_inputs.py` runs `criteria-nlp run` on each file and checks the outcome:",
        "exit code 0 with the content read exactly, or exit code 2 with one line on stderr.",
        "",
        "| file | outcome | message (fragment) / what happens |",
        "|---|---|---|",
    ]
    for name, _, args, code, message, description in CATALOGUE:
        outcome = "processed (exit 0)" if code == 0 else "refused (exit 2)"
        detail = f"`{message}` — {description}" if message else description
        lines.append(f"| `{name}` | {outcome} | {detail.replace('|', '/')} |")
    lines += [
        "",
        "## Scripted scenarios (issue 14)",
        "",
        "`tests/test_robustness.py` runs each scenario (one test each) and checks the exit code, the",
        "one-line message and the files that must be left unchanged. The input-file cases of the",
        "same issue are the catalogue entries above whose description starts with the item in brackets.",
        "",
        "| test | item | exit | message (fragment) | left unchanged | scenario |",
        "|---|---|---|---|---|---|",
    ]
    for name, item, code, message, unchanged, scenario in SCENARIOS:
        shown = f"`{message}`" if message else ""
        lines.append(f"| `{name}` | {item} | {code} | {shown.replace('|', '/')} | {unchanged.replace('|', '/')} | {scenario.replace('|', '/')} |")
    (HERE / "EXPECTED.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
