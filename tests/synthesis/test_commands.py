"""`criteria-nlp assign --model`, `run --model` and `run --save-model` on the demo corpus."""

import shutil

from criteria_nlp.cli import main
from criteria_nlp.io.outputs import read_output_csv

from .conftest import DEMO


def test_assign_with_a_saved_model_gives_codes_and_groups(saved_model, fitted, second_wave, tmp_path, capsys):
    output = tmp_path / "wave2.csv"
    assert main(["assign", str(DEMO / "extra_answers.csv"), "--model", str(saved_model), "-o", str(output), "-q"]) == 0
    table = read_output_csv(output)
    assert list(table.columns) == ["id", "code", "confidence", "code_label", "cluster", "cluster_label", "fits_group"]
    expected = fitted.transform(second_wave)
    assert table["code"].tolist() == expected["code"].tolist()
    assert table["cluster"].astype(int).tolist() == expected["cluster"].tolist()


def test_a_tampered_model_is_one_line_and_exit_2(saved_model, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(saved_model, folder)
    with open(folder / "groups.csv", "a", encoding="utf-8") as handle:
        handle.write("99,x\r\n")
    code = main(["assign", str(DEMO / "extra_answers.csv"), "--model", str(folder), "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "groups.csv: does not match the checksum" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_run_saves_a_model_and_codes_the_next_wave_with_it(demo_sample, tmp_path):
    source = tmp_path / "wave1.csv"
    demo_sample.iloc[:150].to_csv(source, index=False)
    assert main(["run", str(source), "-o", str(tmp_path / "out1"), "--embedder", "tfidf", "-q",
                 "--save-model", str(tmp_path / "model")]) == 0
    assert (tmp_path / "model" / "model.json").is_file()
    assert main(["run", str(DEMO / "extra_answers.csv"), "-o", str(tmp_path / "out2"), "--model", str(tmp_path / "model"),
                 "-q"]) == 0
    first, second = read_output_csv(tmp_path / "out1" / "answers.csv"), read_output_csv(tmp_path / "out2" / "answers.csv")
    assert len(second) == 60
    grouped = second[second["cluster"].astype(int) >= 0]
    assert len(grouped) and set(grouped["cluster"]) <= set(first["cluster"])
    assert set(grouped["cluster_source"]) == {"fitted group"}
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == sorted(p.name for p in (tmp_path / "out1").iterdir())
