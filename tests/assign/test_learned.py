"""Assignment learned from manually coded answers, and zero-shot refinement/shots, on
synthetic vectors (fast) and through the CLI with the TF-IDF backend (no model)."""

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.assign.learned import LearnedAssigner
from criteria_nlp.assign.training import pick_shots, read_training
from criteria_nlp.assign.zero_shot import ZeroShotAssigner
from criteria_nlp.cli.app import main
from criteria_nlp.vectors import LanguageCentring


def coded_vectors(n_codes=4, per_code=30, dim=24, seed=0, spread=0.8):
    rng = np.random.RandomState(seed)
    centres = rng.normal(size=(n_codes, dim))
    X, y = [], []
    for k in range(n_codes):
        X.append(centres[k] + spread * rng.normal(size=(per_code, dim)))
        y += [f"C{k}"] * per_code
    X = np.vstack(X)
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.array(y, dtype=object), centres


def test_learned_assigner_fits_and_predicts_consistently():
    X, y, _ = coded_vectors()
    model = LearnedAssigner(lexical=False, self_training=False).fit(X, y)
    assert list(model.classes_) == ["C0", "C1", "C2", "C3"]
    assert (model.use_centring_, model.C_) in model.cv_scores_
    assert not model.use_centring_  # no languages given: nothing to centre
    # Each code is one tight cluster: a group that is a whole code is not a set of copies.
    assert model.cv_["near_duplicate_groups"] == len(y)
    first = model.predict_proba(X)
    np.testing.assert_allclose(first.sum(axis=1), 1.0)
    np.testing.assert_array_equal(first, model.predict_proba(X))  # predict never refits
    assert (model.predict(X) == y).mean() > 0.9


def test_training_order_does_not_change_the_model():
    X, y, _ = coded_vectors(seed=1)
    order = np.random.RandomState(3).permutation(len(y))
    a = LearnedAssigner(lexical=False, self_training=False).fit(X, y)
    b = LearnedAssigner(lexical=False, self_training=False).fit(X[order], y[order])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))


def test_min_confidence_abstains_and_confidence_is_calibrated():
    X, y, _ = coded_vectors(spread=1.6, seed=2)
    model = LearnedAssigner(lexical=False, self_training=False, min_confidence=0.9).fit(X[::2], y[::2])
    pred = model.predict(X[1::2])
    proba = model.predict_proba(X[1::2])
    assert (pred == "").any() and (pred != "").any()
    assert np.all(proba.max(axis=1)[pred == ""] < 0.9)
    # Calibrated: the confident answers are right more often than the others.
    best = model.classes_[proba.argmax(axis=1)]
    right = best == y[1::2]
    assert right[proba.max(axis=1) >= 0.9].mean() > right[proba.max(axis=1) < 0.9].mean()


def test_words_and_self_training_use_texts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 16))
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # embedding says nothing
    words = ["traffic light red", "street lamp dark"]
    texts = [f"{words[i % 2]} number{i}" for i in range(80)]
    y = np.array([("lights", "lamps")[i % 2] for i in range(80)], dtype=object)
    model = LearnedAssigner(lexical=True, self_training=True).fit(X[:40], y[:40], texts=texts[:40],
                                                                  unlabeled_X=X[40:], unlabeled_texts=texts[40:])
    assert (model.predict(X[40:], texts[40:]) == y[40:]).mean() > 0.9
    assert model.n_self_trained_ > 0
    with pytest.raises(ValueError):
        model.predict(X[40:])  # lexical models need the texts
    auto = LearnedAssigner().fit(X[:40], y[:40], texts=texts[:40])
    assert auto.use_words_  # cross-validation keeps the words when they carry the codes
    assert not LearnedAssigner().fit(X[:40], y[:40]).use_words_  # no texts: embedding only


def test_language_centring_carries_codes_to_a_language_without_coded_answers():
    """Coded answers in fr and nl only; the answers to code are in it, whose vectors all lean
    one way (a language direction). Removing each language's mean vector lets the codes carry
    over; the model then needs the languages at predict time."""
    X, y, _ = coded_vectors(n_codes=3, per_code=60, dim=24, spread=1.0, seed=5)
    rng = np.random.RandomState(6)
    offsets = {lang: 1.5 * rng.normal(size=24) for lang in ("fr", "nl", "it")}
    languages = np.array([("fr", "nl", "it")[i % 3] for i in range(len(y))])
    shifted = X + np.vstack([offsets[lang] for lang in languages])
    shifted /= np.linalg.norm(shifted, axis=1, keepdims=True)
    coded, to_code = languages != "it", languages == "it"
    kwargs = dict(lexical=False, self_training=False, n_neighbours=0)
    raw = LearnedAssigner(centre_languages=False, **kwargs).fit(shifted[coded], y[coded])
    centred = LearnedAssigner(centre_languages=True, **kwargs).fit(
        shifted[coded], y[coded], languages=languages[coded], unlabeled_X=shifted[to_code], unlabeled_languages=languages[to_code])
    assert centred.use_centring_ and set(centred.centring_.means_) == {"fr", "nl", "it"}
    raw_accuracy = (raw.predict(shifted[to_code]) == y[to_code]).mean()
    centred_accuracy = (centred.predict(shifted[to_code], languages=languages[to_code]) == y[to_code]).mean()
    assert centred_accuracy > raw_accuracy + 0.1 and centred_accuracy > 0.8
    with pytest.raises(ValueError, match="languages"):
        centred.predict(shifted[to_code])
    auto = LearnedAssigner(**kwargs).fit(shifted[coded], y[coded], languages=languages[coded])
    assert {key[0] for key in auto.cv_scores_} == {False, True}  # "auto": cross-validation decides


def test_codebook_prior_is_weighted_by_cross_validation():
    X, y, _ = coded_vectors(spread=2.5, per_code=12, seed=4)
    truth = pd.DataFrame(np.eye(4)[[int(c[1]) for c in y]] * 0.9 + 0.025, columns=["C0", "C1", "C2", "C3"])
    model = LearnedAssigner(lexical=False, self_training=False).fit(X, y, prior=truth)
    assert model.prior_weight_ > 0  # a prior that knows the answer is used
    noise = pd.DataFrame(np.full((len(y), 4), 0.25), columns=["C0", "C1", "C2", "C3"])
    assert LearnedAssigner(lexical=False, self_training=False).fit(X, y, prior=noise).prior_weight_ == 0.0


def test_zero_shot_refinement_and_shots_help():
    X, y, centres = coded_vectors(n_codes=5, per_code=40, spread=1.2, seed=5)
    rng = np.random.RandomState(6)
    # The "codebook labels": noisy, shifted views of the true centres (as short labels are).
    labels = centres + 1.1 * rng.normal(size=centres.shape) + 2.0 * rng.normal(size=centres.shape[1])
    codes = [f"C{k}" for k in range(5)]
    plain = ZeroShotAssigner(refine=False, min_confidence=0).fit(labels, codes, X=X)
    refined = ZeroShotAssigner(min_confidence=0).fit(labels, codes, X=X)

    def acc(model):
        return (model.predict(X) == y).mean()

    assert acc(refined) >= acc(plain)
    shots = [np.flatnonzero(y == c)[:5] for c in codes]
    shot_rows = np.concatenate(shots)
    with_shots = ZeroShotAssigner(min_confidence=0).fit(labels, codes, X=X, shot_vectors=X[shot_rows], shot_codes=y[shot_rows])
    assert acc(with_shots) > acc(plain) + 0.05
    # fit then predict on the corpus gives the fitted answers, whatever the row order
    order = rng.permutation(len(y))
    shuffled = ZeroShotAssigner(min_confidence=0).fit(labels, codes, X=X[order])
    np.testing.assert_allclose(shuffled.predict_proba(X), refined.predict_proba(X), atol=1e-12)


def test_language_centring_remembers_means():
    X = np.vstack([np.ones((5, 3)), -np.ones((5, 3))]) + np.eye(3)[[0, 1, 2, 0, 1] * 2]
    centring = LanguageCentring().fit(X, ["fr"] * 5 + ["nl"] * 5)
    out = centring.transform(X, ["fr"] * 5 + ["nl"] * 5)
    np.testing.assert_allclose(out[:5], out[5:])
    assert centring.transform(X[:1], ["xx"]).shape == (1, 3)  # unknown language: global mean


@pytest.fixture
def coded_files(tmp_path):
    rows = []
    topics = {"transport": ["bus en retard", "le tram est plein", "pas de bus le soir", "train supprimé", "le bus est cher"],
              "logement": ["loyer trop cher", "appartement humide", "pas de logement", "loyer en hausse", "logement trop petit"],
              "santé": ["médecin trop loin", "attente aux urgences", "pas de dentiste", "médecin absent", "urgences saturées"]}
    for code, texts in topics.items():
        for i, text in enumerate(texts * 2):
            rows.append({"id": f"{code}-{i}", "text": f"{text} {i}", "manual": code})
    frame = pd.DataFrame(rows).sample(frac=1, random_state=0)
    train, test = frame.iloc[::2], frame.iloc[1::2]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.drop(columns="manual").to_csv(tmp_path / "answers.csv", index=False)
    return tmp_path, test


def test_assign_command_learns_from_train(coded_files, capsys):
    folder, test = coded_files
    out = folder / "pred.csv"
    args = ["assign", str(folder / "answers.csv"), "-o", str(out), "--train", str(folder / "train.csv"),
            "--label-col", "manual", "--embedder", "tfidf", "--min-confidence", "0", "--top-k", "2", "-q"]
    assert main(args) == 0
    pred = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(pred.columns[:4]) == ["id", "code", "confidence", "code_label"]
    assert "code_2" in pred.columns
    merged = test.merge(pred, on="id")
    # 15 coded answers: cross-validation cannot show that any refinement helps, so this is
    # the plain class-balanced logistic regression (chance is 1/3).
    assert (merged["code"] == merged["manual"]).mean() >= 0.7
    assert main(args) == 0  # same input, same answers
    assert pd.read_csv(out, dtype=str, keep_default_na=False).equals(pred)


def test_assign_command_explains_a_missing_label_column(coded_files, capsys, monkeypatch):
    import criteria_nlp.pipeline.commands
    import criteria_nlp.pipeline.run

    def never(*args, **kwargs):
        raise AssertionError("the training file must be checked before anything is embedded")

    monkeypatch.setattr(criteria_nlp.pipeline.commands, "embed_answers", never)
    monkeypatch.setattr(criteria_nlp.pipeline.run, "embed_answers", never)
    folder, _ = coded_files
    for command in (["assign", str(folder / "answers.csv"), "-o", str(folder / "p.csv")],
                    ["run", str(folder / "answers.csv"), "-o", str(folder / "out")]):
        code = main(command + ["--train", str(folder / "train.csv"), "--label-col", "nope", "--embedder", "tfidf", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and "nope" in err and "Traceback" not in err


def test_read_training_and_pick_shots(coded_files):
    folder, _ = coded_files
    training = read_training(folder / "train.csv", label_col="manual")
    assert set(training.columns) == {"id", "text", "code", "language"}
    shots = pick_shots(training, 2)
    assert shots.groupby("code").size().max() == 2
    assert pick_shots(training.sample(frac=1, random_state=1), 2).equals(shots)


def test_refinements_that_do_not_help_leave_the_plain_logistic_regression():
    """Words that say nothing and no language signal: repeated cross-validation keeps none of
    the refinements, and the model is the class-balanced logistic regression, C by 5-fold CV."""
    from sklearn.linear_model import LogisticRegression

    X, y, _ = coded_vectors(n_codes=3, per_code=20, spread=1.4, seed=7)
    rng = np.random.RandomState(8)
    texts = [f"word{rng.randint(1000)} word{rng.randint(1000)}" for _ in range(len(y))]
    unlabeled = coded_vectors(n_codes=3, per_code=10, spread=1.4, seed=9)[0]
    model = LearnedAssigner().fit(X, y, texts=texts, unlabeled_X=unlabeled, unlabeled_texts=[f"word{i}" for i in range(30)])
    assert set(model.decisions_) == {"language_centring", "word_features", "neighbour_vote", "codebook_prior", "self_training"}
    assert not any(d["kept"] for d in model.decisions_.values())
    assert {"gain", "se"} <= set(model.decisions_["word_features"])
    order = sorted(range(len(y)), key=lambda i: (y[i], texts[i]))
    plain = LogisticRegression(C=model.C_, class_weight="balanced", max_iter=2000, random_state=0).fit(X[order], y[order])
    np.testing.assert_array_equal(model.predict(unlabeled, [f"word{i}" for i in range(30)]), plain.predict(unlabeled))
    summary = model.summary()
    assert summary["refinements"]["word_features"]["kept"] is False and summary["cross_validation"]["repeats"] == 2


def test_min_gain_se_is_the_bar_a_refinement_must_clear():
    # The words carry the codes: kept at the default bar, never kept behind an infinite one.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 16))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    words = ["traffic light red", "street lamp dark"]
    texts = [f"{words[i % 2]} number{i}" for i in range(40)]
    y = np.array([("lights", "lamps")[i % 2] for i in range(40)], dtype=object)
    assert LearnedAssigner().fit(X, y, texts=texts).decisions_["word_features"]["kept"]
    strict = LearnedAssigner(min_gain_se=float("inf")).fit(X, y, texts=texts)
    assert not any(d["kept"] for d in strict.decisions_.values()) and not strict.use_words_


def test_near_duplicates_share_a_fold_so_cross_validation_does_not_score_memory():
    """Codes that mean nothing, each coded answer repeated five times: folds that split the
    repeats reward memorising them; folds that keep them together show chance."""
    rng = np.random.RandomState(3)
    distinct = rng.normal(size=(30, 24))
    X = np.repeat(distinct, 5, axis=0) + 0.01 * rng.normal(size=(150, 24))
    y = np.repeat(rng.choice(["a", "b", "c"], size=30), 5).astype(object)
    honest = LearnedAssigner(lexical=False, self_training=False).fit(X, y)
    leaky = LearnedAssigner(lexical=False, self_training=False, near_duplicates=None).fit(X, y)
    assert honest.cv_["near_duplicate_groups"] == 30 and leaky.cv_["near_duplicate_groups"] == 150
    assert leaky.cv_["plain_macro_f1"] > 0.9
    assert honest.cv_["plain_macro_f1"] < 0.6


def test_the_one_standard_error_rule():
    from criteria_nlp.assign.learned import corrected_se, macro_f1

    gains = np.array([0.02, -0.01, 0.03, 0.0, 0.01])
    se = corrected_se(gains, 0.2)
    assert se > gains.std(ddof=1) / np.sqrt(len(gains))  # wider than the naive standard error
    assert macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2) == pytest.approx((2 / 3 + 0.8) / 2)


def test_zero_shot_guard_falls_back_to_the_nearest_prototype():
    X, y, centres = coded_vectors(n_codes=4, per_code=30, spread=1.2, seed=11)
    rng = np.random.RandomState(12)
    labels = centres + 1.0 * rng.normal(size=centres.shape)
    codes = [f"C{k}" for k in range(4)]
    kept = ZeroShotAssigner(min_confidence=0).fit(labels, codes, X=X)
    assert kept.mode_ == "refined" and kept.guard_["decision"] == "refined"
    assert 0 <= kept.guard_["agreement_on_confident"] <= 1 and kept.guard_["collapsed_codes"] == []
    # Demand more agreement than any refinement can give: the plain model answers.
    strict = ZeroShotAssigner(min_confidence=0, min_agreement=1.01).fit(labels, codes, X=X)
    assert strict.mode_ == "plain" and "dropped" in strict.guard_["reason"]
    np.testing.assert_array_equal(strict.predict(X), strict.plain_.predict(X))
    np.testing.assert_allclose(strict.predict_proba(X).sum(axis=1), 1.0)
    assert strict.summary()["model"] == "nearest prototype (plain)"


def test_zero_shot_estimates_code_shares():
    """One code covers most of the corpus: EM gives it the larger share."""
    X, y, centres = coded_vectors(n_codes=3, per_code=20, spread=1.0, seed=13)
    big, _, _ = coded_vectors(n_codes=3, per_code=100, spread=1.0, seed=13)
    corpus = np.vstack([big[:100], X[20:]])  # 100 answers of C0, 20 of C1, 20 of C2
    model = ZeroShotAssigner(min_confidence=0).fit(centres, ["C0", "C1", "C2"], X=corpus)
    shares = model.summary()["estimated_code_shares"]
    assert shares["C0"] > shares["C1"] and shares["C0"] > shares["C2"]
