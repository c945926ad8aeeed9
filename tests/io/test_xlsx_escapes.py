"""Workbook text as Excel shows it: OOXML's _xHHHH_ escapes (a carriage return is _x000D_)
decoded, literal text left as typed."""

import io

import openpyxl
import xlsxwriter

from criteria_nlp.io.xlsx import decode_escapes, open_workbook, sheet_rows

TEXTS = ["m2\r", "une ligne\r\nune autre", "x_x000D_y (as typed)", " m1", "plain"]


def _escaped_workbook() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})  # inline strings, escaped as Excel does
    sheet = book.add_worksheet("answers")
    for row, text in enumerate(TEXTS):
        sheet.write_string(row, 0, text)
        sheet.write_number(row, 1, row)
    book.close()
    return buffer.getvalue()


def test_openpyxl_alone_keeps_the_escapes():
    # Why sheet_rows decodes: what openpyxl returns is not what the analyst sees.
    book = openpyxl.load_workbook(io.BytesIO(_escaped_workbook()), read_only=True)
    assert next(book["answers"].iter_rows(values_only=True))[0] == "m2_x000D_"


def test_sheet_rows_gives_text_as_excel_shows_it():
    book = open_workbook(_escaped_workbook(), "answers.xlsx", data_only=True)
    values = [row[0] for _, row in sheet_rows(book["answers"])]
    cells = [row[0] for _, row in sheet_rows(book["answers"], cells=True)]
    assert values == TEXTS
    assert [c.value for c in cells] == TEXTS and [c.row for c in cells] == [1, 2, 3, 4, 5]
    assert [row[1] for _, row in sheet_rows(book["answers"])] == [0, 1, 2, 3, 4]


def test_decode_escapes_leaves_other_values_alone():
    assert decode_escapes(3) == 3 and decode_escapes(None) is None and decode_escapes("_x00") == "_x00"
    assert decode_escapes("a_x0009_b") == "a\tb"
