"""Discovery: K chosen by the data, row order irrelevant, duplicates and outliers handled,
meaning grouped across languages."""

import numpy as np
import pandas as pd

from criteria_nlp.discover.discoverer import (
    Discoverer,
    canonical_labels,
    cluster_summary,
    discover_within_codes,
)
from criteria_nlp.discover.graph import modularity, neighbour_graphs
from criteria_nlp.evaluate import cluster_metrics, cross_lingual_consistency
from criteria_nlp.vectors import centre_by_language


def parallel_corpus(n_topics=4, per_topic=15, languages=("fr", "nl"), dim=48, seed=0, language_shift=0.6):
    """Sentences of `n_topics` topics, each written in every language: a translation shares
    the sentence's meaning vector and adds its language's direction."""
    rng = np.random.RandomState(seed)
    topics = rng.normal(size=(n_topics, dim))
    shifts = {lang: language_shift * rng.normal(size=dim) for lang in languages}
    rows = []
    for t in range(n_topics):
        for s in range(per_topic):
            meaning = topics[t] + 0.45 * rng.normal(size=dim)
            for lang in languages:
                vector = meaning + shifts[lang] + 0.05 * rng.normal(size=dim)
                rows.append({"id": f"{lang}-{t}-{s}", "text": f"{lang} sentence {t} {s}", "language": lang,
                             "topic": f"t{t}", "pair": f"{t}-{s}", "vector": vector / np.linalg.norm(vector)})
    frame = pd.DataFrame(rows)
    return frame, np.vstack(frame.pop("vector").to_numpy())


def fit(frame, vectors, **kwargs):
    kwargs.setdefault("lexical", False)  # the synthetic texts carry no words worth comparing
    return Discoverer(**kwargs).fit(vectors, frame["language"].tolist(), frame["id"].tolist(), frame["text"].tolist())


def test_finds_the_topics_without_being_told_k():
    frame, vectors = parallel_corpus()
    model = fit(frame, vectors)
    # A sparse graph (6 neighbours among 120 answers, as on small real sets) may split a topic in two.
    assert model.n_clusters_ in (4, 5)
    assert "modularity" in model.k_choice_
    assert cluster_metrics(frame["topic"], model.labels_)["ami"] > 0.9
    assert model.unassigned_share_ <= 0.10


def test_translations_land_in_the_same_cluster():
    frame, vectors = parallel_corpus(language_shift=1.5)
    model = fit(frame, vectors)
    assert cross_lingual_consistency(model.labels_, frame["pair"], frame["language"]) >= 0.95
    # Without removing each language's mean, language dominates and splits translations.
    raw = fit(frame, vectors, centre_languages=False, vote=0, lexical=False, n_clusters=4)
    assert cross_lingual_consistency(raw.labels_, frame["pair"], frame["language"]) < 0.5


def test_row_order_changes_nothing():
    frame, vectors = parallel_corpus(seed=1)
    first = fit(frame, vectors)
    order = np.random.RandomState(7).permutation(len(frame))
    shuffled = fit(frame.iloc[order].reset_index(drop=True), vectors[order])
    back = np.empty_like(shuffled.labels_)
    back[order] = shuffled.labels_
    np.testing.assert_array_equal(first.labels_, back)  # same membership and same ids


def test_same_seed_same_result_and_given_k_is_used():
    frame, vectors = parallel_corpus(seed=2)
    a, b = fit(frame, vectors, seed=3), fit(frame, vectors, seed=3)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert fit(frame, vectors, n_clusters=6).n_clusters_ <= 6
    assert "given" in fit(frame, vectors, n_clusters=6).k_choice_


def test_duplicates_are_clustered_once_and_share_a_cluster():
    frame, vectors = parallel_corpus(n_topics=3, per_topic=10)
    copies = frame.iloc[[0] * 40].copy()
    copies["id"] = [f"dup-{i}" for i in range(40)]
    copies["text"] = ["FR SENTENCE 0 0."] * 40  # same text up to case and punctuation
    both = pd.concat([frame, copies], ignore_index=True)
    model = fit(both, np.vstack([vectors, vectors[[0] * 40]]))
    assert model.n_items_ == len(frame)
    assert len(set(model.labels_[[0] + list(range(len(frame), len(both)))])) == 1


def test_outliers_are_capped_by_max_unassigned():
    frame, vectors = parallel_corpus(n_topics=3, per_topic=12, languages=("fr",))
    rng = np.random.RandomState(4)
    noise = rng.normal(size=(12, vectors.shape[1]))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    extra = pd.DataFrame({"id": [f"n{i}" for i in range(12)], "text": [f"noise {i}" for i in range(12)], "language": "fr"})
    both, all_vectors = pd.concat([frame, extra], ignore_index=True), np.vstack([vectors, noise])
    capped = fit(both, all_vectors, max_unassigned=0.05)
    assert capped.unassigned_share_ <= 0.05
    assert fit(both, all_vectors, max_unassigned=0.0).unassigned_share_ == 0.0
    loose = fit(both, all_vectors, max_unassigned=0.5)
    assert loose.unassigned_share_ <= 0.5
    # The unassigned answers are the noise, not the topic sentences.
    assert set(np.flatnonzero(loose.labels_ == -1)) <= set(range(len(frame), len(both)))


def test_words_separate_answers_the_embedding_confuses():
    rng = np.random.RandomState(0)
    base = rng.normal(size=32)
    vectors = base + 0.02 * rng.normal(size=(60, 32))  # one blob for the "embedding"
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = [("ampel rot warten", "beleuchtung dunkel lampe")[i % 2] + f" strasse{i}" for i in range(60)]
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(60)], "text": words, "language": "de"})
    truth = [i % 2 for i in range(60)]
    with_words = Discoverer(n_clusters=2, lexical=True, seed=0).fit(vectors, frame["language"], frame["id"], frame["text"])
    without = Discoverer(n_clusters=2, lexical=False, seed=0).fit(vectors, frame["language"], frame["id"], frame["text"])
    assert cluster_metrics(truth, with_words.labels_)["ami"] > cluster_metrics(truth, without.labels_)["ami"] + 0.2


def word_and_meaning_corpus(words_follow_topics: bool, n=90, seed=0):
    """Three topics of 30 answers, well apart in the vectors. The words either name the topic
    or are drawn at random from one shared vocabulary."""
    rng = np.random.RandomState(seed)
    topic = np.arange(n) % 3
    vectors = 3 * rng.normal(size=(3, 32))[topic] + rng.normal(size=(n, 32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    if words_follow_topics:
        vocab = [["ampel", "rot", "warten", "kreuzung", "grün", "schaltung", "signal", "taste"],
                 ["lampe", "dunkel", "licht", "nacht", "hell", "laterne", "sicht", "abend"],
                 ["radweg", "breit", "spur", "asphalt", "belag", "schmal", "loch", "kante"]]
        texts = [" ".join(rng.choice(vocab[t], size=3, replace=False)) + f" satz{i}" for i, t in enumerate(topic)]
    else:
        shared = ["stadt", "leben", "gut", "schlecht", "viel", "wenig", "immer", "nie", "hier", "dort"]
        texts = [" ".join(rng.choice(shared, size=3, replace=False)) + f" satz{i}" for i in range(n)]
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": texts, "language": "de"})
    return frame, vectors, topic


def test_the_word_weight_kept_is_the_one_modular_on_meaning_and_words():
    """Each word weight is tried and the partition most modular on both views is kept: words
    drawn at random, which no partition of the topics makes modular, count least."""
    from criteria_nlp.discover.discoverer import WORD_WEIGHTS

    frame, vectors, topic = word_and_meaning_corpus(words_follow_topics=False)
    model = Discoverer(seed=0).fit(vectors, frame["language"], frame["id"], frame["text"])
    assert set(model.weight_scores_) == set(WORD_WEIGHTS)
    assert model.word_weight_ == min(WORD_WEIGHTS) == max(model.weight_scores_, key=model.weight_scores_.get)
    assert f"words x{min(WORD_WEIGHTS):g}" in model.k_choice_
    assert cluster_metrics(topic, model.labels_)["ami"] > 0.9
    # Words that name the topics agree with the meaning: the topics are modular on both views.
    frame, vectors, topic = word_and_meaning_corpus(words_follow_topics=True)
    agreeing = Discoverer(seed=0).fit(vectors, frame["language"], frame["id"], frame["text"])
    assert min(agreeing.weight_scores_.values()) > max(model.weight_scores_.values()) + 0.1
    assert cluster_metrics(topic, agreeing.labels_)["ami"] > 0.9


def test_large_sets_use_one_word_weight(monkeypatch):
    import criteria_nlp.discover.discoverer as discover

    frame, vectors, _ = word_and_meaning_corpus(True)
    monkeypatch.setattr(discover, "WEIGHT_SEARCH_UP_TO", 50)
    model = Discoverer(seed=0).fit(vectors, frame["language"], frame["id"], frame["text"])
    assert model.word_weight_ == 1.0 and model.weight_scores_ == {}
    assert "words x" not in model.k_choice_
    chosen = Discoverer(seed=0, word_weights=(2.0,)).fit(vectors, frame["language"], frame["id"], frame["text"])
    assert chosen.word_weight_ == 2.0 and chosen.weight_scores_ == {}


def test_tiny_inputs():
    model = Discoverer().fit(np.eye(3), ["fr"] * 3, ["a", "b", "c"], ["x", "y", "z"])
    assert list(model.labels_) == [0, 0, 0]
    assert Discoverer().fit(np.zeros((0, 4))).labels_.shape == (0,)


def test_canonical_labels_ignore_original_numbering():
    labels = canonical_labels(np.array([5, 5, 2, 2, 2, -1]), ["e", "f", "a", "b", "c", "d"])
    assert list(labels) == [1, 1, 0, 0, 0, -1]


def test_centre_by_language_removes_language_means():
    vectors = np.vstack([np.ones((6, 3)) + np.eye(3)[[0, 1, 2, 0, 1, 2]], -np.ones((6, 3)) + np.eye(3)[[0, 1, 2, 0, 1, 2]]])
    centred = centre_by_language(vectors, ["fr"] * 6 + ["nl"] * 6)
    np.testing.assert_allclose(centred[:6], centred[6:])


def test_neighbour_graph_and_modularity():
    frame, vectors = parallel_corpus(n_topics=2, per_topic=10, languages=("fr",))
    (graph,), closest = neighbour_graphs(vectors, 5, None, [0.0])
    assert (graph != graph.T).nnz == 0
    assert closest.shape == (len(vectors), 5)
    truth = frame["topic"].map({"t0": 0, "t1": 1}).to_numpy()
    assert modularity(graph, truth) > modularity(graph, np.arange(len(truth)) % 2)


def test_groups_inside_codes_get_global_ids():
    frame, vectors = parallel_corpus(n_topics=4, per_topic=12, languages=("fr",))
    codes = np.where(frame["topic"].isin(["t0", "t1"]), "A", np.where(frame["topic"] == "t2", "B", ""))
    labels, groups = discover_within_codes(vectors, codes, languages=frame["language"].tolist(),
                                           texts=frame["text"].tolist(), keys=frame["id"].tolist(), min_group=4)
    assert set(groups["code"]) == {"A", "B", ""}
    assert list(groups["cluster"]) == list(range(len(groups)))
    for cluster, code in zip(groups["cluster"], groups["code"]):
        members = labels == cluster
        assert set(codes[members]) == {code}
    # code A holds two topics: its groups separate them
    a_groups = groups[groups["code"] == "A"]["cluster"]
    assert len(a_groups) >= 2
    mask = codes == "A"
    assert cluster_metrics(frame["topic"][mask], labels[mask])["ami"] > 0.8
    summary = cluster_summary(frame, labels, vectors)
    assert list(summary["cluster"]) == sorted(set(labels[labels >= 0]))
    assert (summary["size"].sum() + (labels == -1).sum()) == len(frame)


def test_large_runs_use_one_word_weight_in_every_code(monkeypatch):
    import criteria_nlp.discover.discoverer as discover

    frame, vectors, topic = word_and_meaning_corpus(words_follow_topics=True)
    codes = np.where(topic < 2, "A", "")
    kwargs = dict(languages=frame["language"].tolist(), texts=frame["text"].tolist(), keys=frame["id"].tolist(), min_group=4)
    _, searched = discover_within_codes(vectors, codes, **kwargs)
    assert searched["k_choice"].str.contains("words x").all()
    monkeypatch.setattr(discover, "WITHIN_CODES_SEARCH_UP_TO", len(frame) - 1)
    _, capped = discover_within_codes(vectors, codes, **kwargs)
    assert not capped["k_choice"].str.contains("words x").any()


def test_codes_fitted_on_several_threads_give_the_same_groups(monkeypatch):
    import criteria_nlp.embed.device as device
    from threadpoolctl import threadpool_info

    frame, vectors = parallel_corpus(n_topics=6, per_topic=12, languages=("fr", "nl"))
    codes = np.array(["A", "A", "B", "B", "C", ""])[frame["topic"].str[1:].astype(int).to_numpy()]
    args = dict(languages=frame["language"].tolist(), texts=frame["text"].tolist(), keys=frame["id"].tolist(), min_group=3)
    blas_before = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    monkeypatch.setattr(device, "usable_cpus", lambda: 1)
    one_thread = discover_within_codes(vectors, codes, **args)
    monkeypatch.setattr(device, "usable_cpus", lambda: 3)
    threads = discover_within_codes(vectors, codes, **args)
    assert (one_thread[0] == threads[0]).all()
    pd.testing.assert_frame_equal(one_thread[1], threads[1])
    assert len(threads[1]) > 4
    # The BLAS limit of the fits is lifted afterwards (set once, not raced by the threads).
    assert [(p["internal_api"], p["num_threads"]) for p in threadpool_info()] == blas_before


def test_top_k_matches_a_stable_full_sort_ties_included():
    from criteria_nlp.discover.graph import _top_k

    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = rng.integers(0, 4, size=(6, 11)).astype(float)  # many ties
        scores[0, 2] = -np.inf
        k = int(rng.integers(0, 12))
        assert (_top_k(scores, k) == np.argsort(-scores, axis=1, kind="stable")[:, :k]).all()
    # Rows wide enough for the chunk bound (TOP_K_CHUNK columns a chunk), a ragged last chunk.
    for _ in range(60):
        width = int(rng.integers(300, 3000))
        scores = rng.integers(0, 6, size=(5, width)).astype(float) if rng.random() < 0.5 else rng.standard_normal((5, width))
        scores[:, int(rng.integers(0, width))] = -np.inf
        k = int(rng.integers(1, 25))
        assert (_top_k(scores, k) == np.argsort(-scores, axis=1, kind="stable")[:, :k]).all()


def test_the_graph_built_on_several_threads_is_the_same(monkeypatch):
    import criteria_nlp.discover.graph as graph_module
    from criteria_nlp.discover.graph import lexical_matrix

    frame, vectors = parallel_corpus(n_topics=5, per_topic=30, languages=("fr", "nl"))
    texts, languages = frame["text"].tolist(), frame["language"].tolist()
    one, one_closest = neighbour_graphs(vectors, 8, lexical_matrix(texts), [0.25], languages, block=64)
    monkeypatch.setattr(graph_module, "PARALLEL_GRAPH_FROM", 10)
    monkeypatch.setattr(graph_module, "usable_cpus", lambda: 3)
    several, several_closest = neighbour_graphs(vectors, 8, lexical_matrix(texts), [0.25], languages, block=64)
    assert (one[0] != several[0]).nnz == 0 and (one_closest == several_closest).all()


def test_graphs_of_several_weights_in_one_pass_are_the_graphs_built_one_by_one():
    from criteria_nlp.discover.graph import lexical_matrix

    frame, vectors = parallel_corpus(n_topics=5, per_topic=30, languages=("fr", "nl"))
    # Words shared by chance within and across topics, so the weights give different graphs.
    rng = np.random.RandomState(1)
    texts = [" ".join(rng.choice(["rue", "vélo", "arbre", "bruit", "parc", "bus"], size=2)) for _ in range(len(frame))]
    lexical, languages = lexical_matrix(texts), frame["language"].tolist()
    weights = [0.0, 0.5, 2.0, 1000.0]
    graphs, closest = neighbour_graphs(vectors, 8, lexical, weights, languages, block=64)
    for weight, graph in zip(weights, graphs):
        (alone,), alone_closest = neighbour_graphs(vectors, 8, lexical, [weight], languages, block=64)
        assert (graph != alone).nnz == 0 and (closest == alone_closest).all()
    assert (graphs[0] != graphs[-1]).nnz > 0


def test_large_corpora_solver_finds_the_same_clusters(monkeypatch):
    """Beyond LOBPCG_FROM answers the spectral embedding uses LOBPCG (ARPACK's factorisation
    costs minutes and gigabytes there): on the same data it must find the same clusters."""
    import criteria_nlp.discover.discoverer as discover

    frame, vectors = parallel_corpus(n_topics=6, per_topic=40, languages=("fr", "nl", "it"))
    exact = fit(frame, vectors)
    monkeypatch.setattr(discover, "LOBPCG_FROM", 10)
    fast = fit(frame, vectors)
    assert fast.n_clusters_ == exact.n_clusters_ and fast.k_scores_ == exact.k_scores_
    assert cluster_metrics(exact.labels_, fast.labels_)["ami"] > 0.99
