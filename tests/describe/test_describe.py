"""Describe: keyphrases per language (c-TF-IDF over lemmas, never mixed), representative
answers central yet diverse, in each language present."""

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.describe.keyphrases import (
    class_tfidf,
    describe,
    descriptions_table,
    mmr,
    top_keyphrases,
)

ROWS = [
    # id, text, language, cluster, code, question, city
    ("f1", "avoir un logement décent", "fr", 0, "A03", "wellbeing", "Mulhouse"),
    ("f2", "un logement trop cher", "fr", 0, "A03", "illbeing", "Mulhouse"),
    ("f3", "pas de logement pour les jeunes", "fr", 0, "A03", "illbeing", "Braine"),
    ("f4", "des logements bien isolés", "fr", 0, "A03", "wellbeing", "Braine"),
    ("f5", "un logement décent", "fr", 0, "A03", "wellbeing", "Mulhouse"),
    ("n1", "een betaalbare woning", "nl", 0, "A03", "wellbeing", "Mechelen"),
    ("n2", "de woning is te klein", "nl", 0, "A03", "illbeing", "Mechelen"),
    ("n3", "een woning met een tuin", "nl", 0, "A03", "wellbeing", "Mechelen"),
    ("f6", "trouver un travail", "fr", 1, "A06", "wellbeing", "Mulhouse"),
    ("f7", "le travail stable", "fr", 1, "A06", "wellbeing", "Mulhouse"),
    ("f8", "pas de travail depuis deux ans", "fr", 1, "A06", "illbeing", "Braine"),
    ("n4", "werk vinden", "nl", 1, "A06", "wellbeing", "Mechelen"),
    ("n5", "geen werk voor jongeren", "nl", 1, "A06", "illbeing", "Mechelen"),
    ("x1", "rien", "fr", -1, "", "action", "Mulhouse"),
]


@pytest.fixture(scope="module")
def data():
    frame = pd.DataFrame(ROWS, columns=["id", "text", "language", "cluster", "code", "question", "city"])
    rng = np.random.RandomState(0)
    topics = rng.randn(2, 16)
    vectors = np.array([topics[max(c, 0)] + 0.3 * rng.randn(16) for c in frame["cluster"]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return frame, vectors


def test_keyphrases_are_per_language_and_lemmatised(data):
    frame, vectors = data
    groups = {d.key: d for d in describe(frame, vectors)}
    assert set(groups) == {0, 1}  # -1 (non-answer) is not a group
    housing = groups[0]
    assert housing.keyphrases["fr"][0] == "logement"  # "logements" lemmatised with "logement"
    assert housing.keyphrases["nl"][0] == "woning"
    assert not set(" ".join(housing.keyphrases["fr"]).split()) & {"woning", "een", "de"}
    assert not set(" ".join(housing.keyphrases["nl"]).split()) & {"logement", "un", "de", "een", "is", "te"}
    assert groups[1].keyphrases["fr"][0] == "travail" and groups[1].keyphrases["nl"][0] == "werk"
    assert housing.languages == {"fr": 5, "nl": 3} and housing.questions["wellbeing"] == 5 and housing.code == "A03"


def test_class_tfidf_prefers_terms_specific_to_a_class():
    weights = class_tfidf({"a": [["logement", "jeune"], ["logement", "cher"]], "b": [["travail", "jeune"], ["travail"]]})
    assert weights["a"]["logement"][0] > weights["a"]["jeune"][0]
    assert weights["a"]["logement"][1] == 2  # documents of the class containing it
    assert "logement cher" in weights["a"]  # bigrams of adjacent content lemmas
    assert top_keyphrases(weights["a"], 2, k=2)[0] == "logement"


def test_representatives_are_central_diverse_and_in_each_language(data):
    frame, vectors = data
    housing = {d.key: d for d in describe(frame, vectors)}[0]
    fr = housing.representatives["fr"]
    assert 3 <= len(fr) <= 5 and len(set(fr)) == len(fr)
    assert all(frame.loc[r, "language"] == "fr" and frame.loc[r, "cluster"] == 0 for r in fr)
    assert len(housing.representatives["nl"]) == 3
    assert fr[0] == housing.by_centrality([r for r in housing.members if frame.loc[r, "language"] == "fr"])[0]


def test_mmr_skips_near_duplicates():
    vectors = np.array([[0.9, 0.436, 0.0], [0.88, 0.43, 0.07], [0.85, -0.3, 0.43], [0.0, 1.0, 0.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert mmr(vectors, np.array([1.0, 0.0, 0.0]), k=2) == [0, 2]  # not the near-copy of the first
    assert mmr(vectors, np.array([1.0, 0.0, 0.0]), k=2, diversity=0.0) == [0, 1]  # pure relevance would take it


def test_table_has_the_shared_columns_and_describes_codes_too(data):
    frame, vectors = data
    table = descriptions_table(describe(frame, vectors), frame)
    assert list(table.columns[:10]) == ["cluster", "cluster_label", "code", "size", "languages", "cities", "groups", "questions", "keyphrases", "representatives"]
    row = table.set_index("cluster").loc[0]
    assert row["languages"] == "fr:5; nl:3" and row["keyphrases"].startswith("fr: logement") and " | nl: woning" in row["keyphrases"]
    assert row["size"] == 8
    codes = descriptions_table(describe(frame, vectors, by="code"), frame, by="code")
    assert sorted(codes["code"]) == ["A03", "A06"]


def test_content_words_wrongly_listed_as_stop_words_are_kept():
    from criteria_nlp.describe.analyser import content_lemmas, stop_words

    assert "lavoro" not in stop_words("it") and "il" in stop_words("it")
    assert content_lemmas(["avere un lavoro vicino a casa"], "it") == [["lavoro", "casa"]]


def test_analysis_is_kept_once_per_text_and_survives_a_full_cache():
    from criteria_nlp.describe.analyser import Analyser

    texts = ["avere un lavoro vicino a casa", "una casa pulita", "avere un lavoro vicino a casa"]
    expected = [["lavoro", "casa"], ["casa", "pulito"], ["lavoro", "casa"]]
    analyser = Analyser()
    assert analyser.content_lemmas(texts, "it") == expected
    assert analyser.analysed_keys() == {("it", texts[0]), ("it", texts[1])}  # one analysis per distinct text
    first = analyser.analyse(texts, "it")
    assert first[0] is first[2]
    # A cache smaller than the texts at hand: same answers, nothing lost.
    small = Analyser(max_cached=1)
    assert small.content_lemmas(texts, "it") == expected
    assert small.content_lemmas(texts[:1], "it") == expected[:1]


def test_analysis_prefetched_in_the_background_is_ready_for_describe(monkeypatch):
    from criteria_nlp.describe.analyser import Analyser

    texts = {"it": ["una casa pulita", "avere un lavoro"], "nl": ["een betaalbare woning"]}
    analyser = Analyser()
    prefetch = analyser.prefetch(texts)
    prefetch.wait()
    assert prefetch.error is None
    assert {("it", "una casa pulita"), ("it", "avere un lavoro"), ("nl", "een betaalbare woning")} <= analyser.analysed_keys()

    def broken(self, texts, language):
        raise RuntimeError("no lemmatiser")

    monkeypatch.setattr(Analyser, "packed_words", broken)
    failed = Analyser().prefetch(texts)
    failed.wait()  # never raises in the background: describe analyses again and reports
    assert isinstance(failed.error, RuntimeError)


def test_keyphrases_are_shown_as_the_answers_wrote_them():
    from criteria_nlp.describe.keyphrases import as_written

    docs = [[("priser", "prise"), ("charge", "charge")], [("priser", "prise"), ("charge", "charge")],
            [("logement", "logements"), ("cher", "chers")], [("logement", "logement")]]
    # A lemma never written ("priser") is shown as written; one that occurs is kept; bigrams too.
    assert as_written(["priser", "logement", "priser charge", "logement cher"], docs) == [
        "prise", "logement", "prise charge", "logements chers"]
    assert as_written(["absent"], docs) == ["absent"]
