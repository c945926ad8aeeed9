"""Readers: every supported format and encoding, column mapping, and each bad-input error."""

import json

import pandas as pd
import pytest

from criteria_nlp.errors import InputError
from criteria_nlp.io.corpus import read_answers

ROWS = [
    ("a1", "avoir un logement décent", "Mulhouse"),
    ("a2", "een job hebben", "Mechelen"),
    ("a3", "Τα παιδιά να παίζουν έξω", "Kavala"),
    ("a4", "=1+1 c'est pas une formule", "Mulhouse"),
    ("a5", "NA", "Covilhã"),
]


def _csv_text(sep=","):
    lines = [sep.join(["id", "text", "ville"])]
    lines += [sep.join([i, f'"{t}"', c]) for i, t, c in ROWS]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])
@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_encodings_and_separators_read_exactly(tmp_path, encoding, sep):
    path = tmp_path / "answers.csv"
    path.write_bytes(_csv_text(sep).encode(encoding))
    corpus = read_answers(path)
    assert corpus.answers["id"].tolist() == [r[0] for r in ROWS]
    assert corpus.answers["text"].tolist() == [r[1] for r in ROWS]
    assert corpus.answers["ville"].tolist() == [r[2] for r in ROWS]


def test_cp1252_is_decoded(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes("id;text\n1;être bien chez soi\n2;l'été à la mer\n".encode("cp1252"))
    corpus = read_answers(path)
    assert corpus.texts == ["être bien chez soi", "l'été à la mer"]
    assert corpus.read_info["delimiter"] == ";"


def test_xlsx_reads_first_sheet_and_keeps_extra_columns(tmp_path):
    path = tmp_path / "answers.xlsx"
    frame = pd.DataFrame({"id": [1, 2], "text": ["la solitude", "sentirsi utile"], "age": [71, 34]})
    frame.to_excel(path, index=False)
    corpus = read_answers(path)
    assert corpus.answers["id"].tolist() == ["1", "2"]
    assert corpus.texts == ["la solitude", "sentirsi utile"]
    assert corpus.answers["age"].tolist() == ["71", "34"]
    assert corpus.extra_columns == ["age"]


def test_jsonl_reads_records_and_reports_broken_line(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"j{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(["rien", "ter saúde"])) + "\n", encoding="utf-8")
    assert read_answers(path).texts == ["rien", "ter saúde"]
    path.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "text": \n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_answers(path)


def test_ids_are_generated_when_absent(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("text\nun\n\ndeux\n", encoding="utf-8")
    corpus = read_answers(path)
    assert corpus.answers["id"].tolist() == ["row-1", "row-2"]


def test_empty_answers_are_skipped_and_counted(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("id,text\n1,la santé\n2,\n3,   \n4,le travail\n", encoding="utf-8")
    corpus = read_answers(path)
    assert corpus.answers["id"].tolist() == ["1", "4"]
    assert corpus.skipped["id"].tolist() == ["2", "3"]
    assert corpus.summary()["skipped"] == 2


def test_column_mapping_and_collisions(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("Réponse,ID,Ville,code\nla paix,x1,Kavala,G03\n", encoding="utf-8")
    corpus = read_answers(path, text_col="Réponse", id_col="ID", city_col="Ville")
    row = corpus.answers.iloc[0]
    assert (row["id"], row["text"], row["city"], row["input_code"]) == ("x1", "la paix", "Kavala", "G03")


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        (b"", {}, "empty"),
        (b"id,text\n", {}, "no rows"),
        (b"id,texte\n1,bonjour\n", {}, "no column 'text'.*'texte'"),
        (b"id,text\n1,\n2,  \n", {}, "no non-empty answer"),
        (b"id,text\n1,a\n1,b\n", {}, "duplicate ids.*'1'"),
        (b"id,text\n1,a\n", {"city_col": "ville"}, "no column 'ville' \\(--city-col\\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", {}, "not a text table"),
    ],
)
def test_bad_inputs_raise_one_clear_line(tmp_path, content, kwargs, message):
    path = tmp_path / "answers.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_answers(path, **kwargs)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_answers(tmp_path / "nope.csv")
