"""Synthesis: fit gives the run's tables, transform codes new answers without refitting, and
write gives exactly `criteria-nlp run`'s outputs."""

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.synthesis import NotFittedError, Synthesis


def test_fit_returns_self_with_the_tables_of_the_csv_outputs(fitted, demo_sample):
    assert isinstance(fitted, Synthesis)
    assert len(fitted.answers_) == len(demo_sample)
    assert list(fitted.answers_.columns[:9]) == ["id", "text", "language", "code", "code_label", "confidence", "cluster",
                                                   "valence", "indicator_id"]
    assert {"manual_code", "city"} <= set(fitted.answers_.columns)
    assert {"cluster", "code", "size", "keyphrases", "representatives"} <= set(fitted.groups_.columns)
    assert len(fitted.groups_) == fitted.answers_.loc[fitted.answers_["cluster"] >= 0, "cluster"].nunique()
    assert {"cluster", "indicator_id", "level_1", "level_5"} <= set(fitted.indicators_.columns)
    assert len(fitted.codes_) and (fitted.answers_["code"] != "").any()


def test_transform_of_the_fitted_answers_gives_their_codes(fitted, demo_sample):
    again = fitted.transform(demo_sample)
    assert again["id"].tolist() == fitted.answers_["id"].tolist()
    assert again["code"].tolist() == fitted.answers_["code"].tolist()
    np.testing.assert_allclose(again["confidence"].fillna(-1), fitted.answers_["confidence"].fillna(-1))
    # Most answers fall back into their own group (the group's centre and its members' spread).
    grouped = fitted.answers_["cluster"] >= 0
    assert (again.loc[grouped, "cluster"] == fitted.answers_.loc[grouped, "cluster"]).mean() > 0.7


def test_transform_refits_nothing_and_says_which_answers_fit_no_group(fitted, second_wave):
    components = fitted.embedder_.svd_.components_.copy()
    centres = fitted.group_index_.centres_.copy()
    out = fitted.transform(second_wave)
    np.testing.assert_array_equal(fitted.embedder_.svd_.components_, components)
    np.testing.assert_array_equal(fitted.group_index_.centres_, centres)
    assert out["id"].tolist() == second_wave["id"].tolist()
    assert set(out["code"]) - {""} <= {c.code for c in fitted.codebook_.codable()}
    assert out["fits_group"].tolist() == (out["cluster"] >= 0).tolist()
    assert out["fits_group"].any() and not out["fits_group"].all()
    known = set(fitted.groups_["cluster"])
    assert set(out.loc[out["fits_group"], "cluster"]) <= known
    labels = dict(zip(fitted.groups_["cluster"], fitted.groups_["cluster_label"]))
    assert all(labels[c] == label for c, label in zip(out["cluster"], out["cluster_label"]) if c >= 0)
    # A grouped answer is in a group of its own code.
    code_of = dict(zip(fitted.group_index_.clusters_, fitted.group_index_.codes_))
    assert all(code_of[c] == code for c, code in zip(out["cluster"], out["code"]) if c >= 0)


def test_analysts_decisions_are_part_of_the_model(demo_sample):
    from criteria_nlp.review.state import DecisionState

    plain = Synthesis(embedder="tfidf", seed=0).fit(demo_sample)
    answer = plain.answers_[plain.answers_["status"] == "answer"].iloc[0]
    other = next(c.code for c in plain.codebook_.codable() if c.code != answer["code"])
    rejected = int(plain.groups_["cluster"].iloc[0])
    members = plain.answers_.loc[plain.answers_["cluster"] == rejected, "id"].tolist()
    records = [
        {"seq": 1, "kind": "answer_override", "target": {"id": answer["id"]}, "value": {"code": other}, "analyst": "Ana"},
        {"seq": 2, "kind": "group_decision", "target": {"group": "g-test", "cluster": rejected, "code": "", "members": members},
         "value": {"decision": "reject"}, "analyst": "Ana"},
    ]
    decided = Synthesis(embedder="tfidf", seed=0).fit(demo_sample, decisions=DecisionState.from_records(records))
    fitted_row = decided.answers_.set_index("id").loc[answer["id"]]
    assert fitted_row["code"] == other and fitted_row["code_source"] == "analyst"
    again = decided.transform(demo_sample).set_index("id")
    assert again.loc[answer["id"], "code"] == other
    assert (again.loc[members, "cluster"] == -1).all()
    assert (again.loc[members, "cluster_source"] == "rejected by analyst").all()
    assert again["code"].tolist() == decided.answers_["code"].tolist()


def test_write_gives_exactly_the_outputs_of_criteria_nlp_run(demo_sample, tmp_path):
    from criteria_nlp.config import RunConfig
    from criteria_nlp.pipeline.run import run_pipeline

    source = tmp_path / "answers.csv"
    demo_sample.iloc[:150].to_csv(source, index=False)
    run_pipeline(RunConfig(input=source, outdir=tmp_path / "cli", embedder="tfidf", show_progress=False))
    Synthesis(embedder="tfidf").fit(source).write(tmp_path / "object")
    written = sorted(p.name for p in (tmp_path / "object").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "cli").iterdir())
    for name in ("answers.csv", "clusters.csv", "codes.csv", "indicators.csv", "compare.csv", "decisions_report.csv"):
        assert (tmp_path / "object" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_compare_and_evaluate_return_tables(fitted):
    table = fitted.compare(by="city")
    assert set(table["by"]) == {"city"} and {"code", "cluster"} <= set(table["level"])
    assert set(table["value"]) == set(fitted.answers_["city"])
    summary = fitted.evaluate(gold="manual_code")
    assert list(summary.columns)[:3] == ["n", "accuracy", "macro_f1"] and 0 <= summary.loc[0, "accuracy"] <= 1
    assert summary.loc[0, "n"] == int((fitted.answers_.query("status == 'answer'")["manual_code"] != "").sum())
    curve = fitted.evaluate(gold="manual_code", table="coverage")
    assert curve["coverage"].is_monotonic_decreasing
    assert {"code", "f1"} <= set(fitted.evaluate(table="per_code").columns)


def test_settings_are_runconfig_fields_and_wrong_ones_are_named(demo_sample):
    from criteria_nlp.errors import InputError

    synthesis = Synthesis(embedder="tfidf", redact=True, min_confidence=0.4)
    config = synthesis._config()
    assert config.redact is True and config.min_confidence == 0.4 and config.embedder == "tfidf"
    assert synthesis.get_params()["redact"] is True
    with pytest.raises(InputError, match="unknown setting.*colour"):
        Synthesis(colour="red").fit(demo_sample)
    with pytest.raises(InputError, match="no column 'texte'"):
        Synthesis(embedder="tfidf").fit(demo_sample, text="texte")


def test_a_loaded_model_codes_but_holds_no_answers(saved_model):
    with pytest.raises(NotFittedError, match="holds the model, not the answers"):
        Synthesis.load(saved_model).compare()
    with pytest.raises(NotFittedError, match="not fitted"):
        Synthesis().transform(pd.DataFrame({"text": ["un parc"]}))


def test_apply_describes_a_new_wave_with_the_fitted_groups(fitted, second_wave, tmp_path):
    wave = fitted.apply(second_wave)
    assert wave.answers_["id"].tolist() == second_wave["id"].tolist()
    assert set(wave.groups_["cluster"]) <= set(fitted.groups_["cluster"])
    assert wave.answers_["code"].tolist() == fitted.transform(second_wave)["code"].tolist()
    assert len(wave.compare(by="city"))
    outdir = wave.write(tmp_path / "wave")
    assert (outdir / "answers.csv").is_file() and (outdir / "report.html").is_file()
