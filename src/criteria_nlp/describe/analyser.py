"""Per-language tokens, lemmas and stop words, for keyphrases.

Every language goes through simplemma: its regular-expression tokenizer and its lookup
lemmas (which also drop an elided article or conjunction: "l'école" -> "école",
"lorsqu'il" -> "il"). Stop words are spaCy's list for each language, less a few content
words those lists wrongly hold (data/stopword_exceptions.yaml: Italian "lavoro", "casa"...).
Every language is handled on its own: words are never pooled across languages (a BERTopic
complaint on multilingual data).

Why not spaCy's pipelines: French used `fr_core_news_sm`'s tagger and lemmatizer, and every
language spaCy's rule-based tokenizer, until 2026-11. On 1,400 French answers the tagger's
lemmas agreed with simplemma's on 92 % of content words, its own slips were worse for a
keyphrase list (violent -> "violer", parent -> "parer", homme -> "homm") and it cost 14x the
time; importing spaCy and building its French tokenizer alone took 4 s of CPU in every run,
taken from the embedder on a 2-core machine. Keyphrases show a word as the answers wrote it
where the lemma itself never occurs (keyphrases.py), which hides the lookup's noun-to-verb
slips ("prise" -> "priser"). simplemma is imported lazily; spaCy not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from sys import intern

@dataclass(frozen=True, slots=True)  # slots: a long answer has hundreds of tokens
class Token:
    text: str
    lemma: str          # lower-cased
    is_stop: bool = False
    is_word: bool = True  # letters only (no punctuation, digits)

    @property
    def is_content(self) -> bool:
        return self.is_word and not self.is_stop and len(self.lemma) > 1


@lru_cache(maxsize=None)
def stop_words(language: str) -> frozenset[str]:
    """spaCy's stop words for `language` (empty for a language spaCy does not know)."""
    words = {w.casefold() for w in _spacy_stop_words(language)}
    return frozenset(words - set(_stopword_exceptions().get(language) or []))


def _spacy_stop_words(language: str) -> set[str]:
    """spaCy's list, read from its module file `spacy/lang/<language>/stop_words.py`: the
    file is one set literal, while importing spaCy costs 1.5 s (the package is not imported
    to find it). The regular spaCy lookup where the file cannot be read that way."""
    import importlib.util
    from pathlib import Path

    if language.isascii() and language.isalpha():
        spec = importlib.util.find_spec("spacy")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / "lang" / language / "stop_words.py"
            if path.is_file():
                module_spec = importlib.util.spec_from_file_location(f"_criteria_nlp_stop_words_{language}", path)
                module = importlib.util.module_from_spec(module_spec)
                try:
                    module_spec.loader.exec_module(module)
                    return set(module.STOP_WORDS)
                except Exception:  # noqa: BLE001 - the file changed shape: spaCy's own way below
                    break
    try:
        import spacy

        return set(spacy.util.get_lang_class(language).Defaults.stop_words)
    except Exception:  # unknown language code: no stop words rather than a failure
        return set()


@lru_cache(maxsize=1)
def _stopword_exceptions() -> dict:
    from importlib import resources

    import yaml

    return yaml.safe_load(resources.files("criteria_nlp.data").joinpath("stopword_exceptions.yaml").read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=1)
def _tokenizer():
    from simplemma.tokenizer import RegexTokenizer

    return RegexTokenizer()


@lru_cache(maxsize=500_000)
def _lookup_lemma(word: str, language: str) -> str:
    import simplemma

    try:
        # The memory-frugal backend: the default one holds every language's full dictionary in RAM
        # (0.5 GB more for the ten languages of the 100,000-answer speed benchmark).
        return simplemma.lemmatize(word, lang=language, low_memory=True).casefold()
    except ValueError:  # language not supported by simplemma
        return word.casefold()


ELIDED_MAX = 7  # letters of an elided word before an apostrophe: "l'", "dell'", "lorsqu'"


def _lemma(word: str, language: str) -> str:
    """simplemma's lemma; for a word it does not know that starts with an elided word
    ("l'invalidita", a misspelt "invalidità"), the lemma of what follows the elision."""
    lemma = _lookup_lemma(word, language)
    _, tail = _elision(word)
    if tail and ("'" in lemma or "’" in lemma) and len(lemma) == len(word):
        return _lookup_lemma(tail, language)
    return lemma


def _elision(word: str) -> tuple[str, str]:
    """("l", "école") for "l'école"; ("", "") where the word does not start with an elided
    word (a suffix such as Dutch "auto's" or English "people's" is not an elision)."""
    cut = min((i for i in (word.find("'"), word.find("’")) if i >= 0), default=-1)
    head, tail = word[:cut], word[cut + 1 :]
    if cut <= 0 or len(head) > ELIDED_MAX or len(tail) < 2 or not head.isalpha():
        return "", ""
    return head, tail


STORE_CHUNK = 1000  # analyses committed to the disk cache together
ANALYSIS_FORMAT = 4  # bump when the analysis or what is kept of it changes: older cached analyses are then ignored


def analysis_namespace(language: str) -> str:
    """Everything the analysis of one language depends on: the stored analyses' cache key."""
    import hashlib
    from importlib import metadata

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "none"

    exceptions = hashlib.sha1(repr(sorted(_stopword_exceptions().get(language) or [])).encode("utf-8")).hexdigest()[:12]
    return (f"analysis:v{ANALYSIS_FORMAT}:{language}:spacy-stop-words-{version('spacy')}:"
            f"simplemma-{version('simplemma')}:stop-{exceptions}")


def pack_words(tokens: tuple[Token, ...]) -> tuple[str, ...]:
    """What describe reads of an analysis, flat: (lemma, word as written, lemma, word...) of the
    content words. About a tenth of the memory of the tokens (millions at 100,000 answers)."""
    packed = []
    for t in tokens:
        if t.is_content:
            packed += (t.lemma, intern(without_elision(t.text.strip("'’").casefold(), t.lemma)))
    return tuple(packed)


def encode_words(packed: tuple[str, ...]) -> bytes:
    import json

    return json.dumps(packed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_words(blob: bytes) -> tuple[str, ...]:
    import json

    return tuple(intern(word) for word in json.loads(blob))


MAX_ANALYSED = 300_000  # distinct texts an Analyser keeps; on overflow it starts again


class Analyser:
    """The content words (lemma, word as written) of answers, each (language, text) analysed once.

    A run owns one: its keyphrases, code keyphrases and indicator names read the same
    answers, and `prefetch` analyses them in a background thread while the embedder works.
    Only the content words are kept (`pack_words`), in memory and, with `use_cache`, in the
    content cache of `cache_dir`. `close()` frees them."""

    def __init__(self, max_cached: int = MAX_ANALYSED, *, cache_dir=None, use_cache: bool = False):
        self.max_cached = max_cached
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}
        self.cache_dir = cache_dir
        self.use_cache = use_cache  # keep analyses on disk too, in the content cache of cache_dir
        self._stores: dict = {}
        self.stats = {"analysed": 0, "cache_hits": 0}

    def analyse(self, texts: list[str], language: str) -> list[tuple[Token, ...]]:
        """Every token of each text, with lower-cased lemmas and stop-word flags (computed, one
        analysis per distinct text, nothing kept)."""
        texts = [str(t) for t in texts]
        unique = list(dict.fromkeys(texts))
        analysed = dict(zip(unique, _analyse_uncached(unique, language)))
        return [analysed[t] for t in texts]

    def packed_words(self, texts: list[str], language: str) -> list[tuple[str, ...]]:
        """`pack_words` of each text, kept for the next call."""
        texts = [str(t) for t in texts]
        cache = self._cache
        missing = [t for t in dict.fromkeys(texts) if (language, t) not in cache]
        if len(missing) > self.max_cached:  # more distinct texts than the cache holds
            packed = dict(zip(missing, self._pack_missing(missing, language)))
            return [packed[t] if t in packed else cache[(language, t)] for t in texts]
        if missing:
            if len(cache) + len(missing) > self.max_cached:
                cache.clear()
            cache.update(((language, t), words) for t, words in zip(missing, self._pack_missing(missing, language)))
        return [cache[(language, t)] for t in texts]

    def add(self, language: str, texts: list[str], packed: list[tuple[str, ...]]) -> None:
        """Keep analyses made elsewhere (the run's side process; its statistics are its own)."""
        if len(self._cache) + len(texts) > self.max_cached:
            return  # more than this analyser keeps: the texts are analysed again when asked
        self._cache.update(((language, str(t)), words) for t, words in zip(texts, packed))

    def _pack_missing(self, texts: list[str], language: str) -> list[tuple[str, ...]]:
        """Analyses of texts not in memory: from the disk cache where stored, else computed
        (and stored chunk by chunk, so a killed run keeps what it did)."""
        store = self._store(language)
        if store is None:
            self.stats["analysed"] += len(texts)
            return [pack_words(tokens) for tokens in _analyse_uncached(texts, language)]
        found = {t: decode_words(v) for t, v in store.get_many(texts).items()}
        todo = [t for t in texts if t not in found]
        for start in range(0, len(todo), STORE_CHUNK):
            chunk = todo[start : start + STORE_CHUNK]
            packed = [pack_words(tokens) for tokens in _analyse_uncached(chunk, language)]
            store.put_many((t, encode_words(words)) for t, words in zip(chunk, packed))
            found.update(zip(chunk, packed))
        self.stats["analysed"] += len(todo)
        self.stats["cache_hits"] += len(texts) - len(todo)
        return [found[t] for t in texts]

    def _store(self, language: str):
        if not self.use_cache:
            return None
        if language not in self._stores:
            from criteria_nlp.io.content_cache import ContentCache
            from criteria_nlp.io.paths import analyses_dir

            self._stores[language] = ContentCache(analyses_dir(self.cache_dir), analysis_namespace(language))
        return self._stores[language]

    def content_lemmas(self, texts: list[str], language: str) -> list[list[str]]:
        """Lemmas of the content words of each text (stop words, punctuation, digits removed)."""
        return [list(words[::2]) for words in self.packed_words(texts, language)]

    def content_words(self, texts: list[str], language: str) -> list[list[tuple[str, str]]]:
        """(lemma, the word as written, lower-cased) of the content words of each text."""
        return [list(zip(words[::2], words[1::2])) for words in self.packed_words(texts, language)]

    def analysed_keys(self) -> set[tuple[str, str]]:
        return set(self._cache)

    def prefetch(self, texts_by_language: dict[str, list[str]]) -> "AnalysisPrefetch":
        return AnalysisPrefetch(texts_by_language, self)

    def close(self) -> None:
        """Free the kept analyses and word lemmas (later stages reuse the memory)."""
        import gc

        self._cache.clear()
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        _tokenizer.cache_clear()
        _lookup_lemma.cache_clear()
        gc.collect()


class AnalysisPrefetch:
    """Analyses answers in a background thread while the embedder works, so describe finds
    them ready: torch and ONNX Runtime release the GIL while they compute, and the analysis
    (simplemma, mostly Python) would otherwise run alone after embedding.

    `texts_by_language`: language -> the answers' texts. A failure here is not raised: the
    main thread analyses the missing texts again and reports the error itself."""

    def __init__(self, texts_by_language: dict[str, list[str]], analyser: Analyser | None = None):
        import threading

        self.analyser = analyser if analyser is not None else Analyser()
        self.error: Exception | None = None
        # A daemon thread: a run that fails or is interrupted does not wait for it.
        self._thread = threading.Thread(target=self._run, args=(dict(texts_by_language),), name="criteria-nlp-analysis", daemon=True)
        self._thread.start()

    def _run(self, texts_by_language: dict[str, list[str]]) -> None:
        try:
            for language in sorted(texts_by_language):
                self.analyser.packed_words(texts_by_language[language], language)  # analysed now, kept for later
        except Exception as exc:  # noqa: BLE001 - see the class docstring
            self.error = exc

    def wait(self) -> None:
        self._thread.join()


def analyse(texts: list[str], language: str, analyser: Analyser | None = None) -> list[tuple[Token, ...]]:
    """`Analyser.analyse` with the run's analyser, or a new one (nothing kept between calls)."""
    return (analyser if analyser is not None else Analyser()).analyse(texts, language)


def content_lemmas(texts: list[str], language: str, analyser: Analyser | None = None) -> list[list[str]]:
    return (analyser if analyser is not None else Analyser()).content_lemmas(texts, language)


def without_elision(written: str, lemma: str) -> str:
    """The written word less the elided words the lemmatiser dropped: "l'école" -> "école",
    "d'aujourd'hui" -> "aujourd'hui" (its lemma keeps one apostrophe); "auto's" stays."""
    while written.count("'") + written.count("’") > lemma.count("'") + lemma.count("’"):
        _, tail = _elision(written)
        if not tail:
            break
        written = tail
    return written


def content_words(texts: list[str], language: str, analyser: Analyser | None = None) -> list[list[tuple[str, str]]]:
    return (analyser if analyser is not None else Analyser()).content_words(texts, language)


def _analyse_uncached(texts: list[str], language: str):
    split = _tokenizer().split_text
    stops = stop_words(language)
    for text in texts:
        tokens = []
        for piece in split(text):
            word = piece.strip("'’")
            is_word = bool(word) and word.replace("-", "").replace("'", "").replace("’", "").isalpha()
            lemma = _lemma(word, language) if is_word else word.casefold()
            is_stop = piece.casefold() in stops or lemma in stops or word.casefold() in stops
            # An elided function word ("lorsqu'", "puisqu'") is in the lists only whole.
            is_stop = is_stop or (piece[-1:] in "'’" and word.casefold() + "e" in stops)
            # A hyphenated function word ("из-за", "peut-être") is made of stop words.
            is_stop = is_stop or ("-" in word and all(part in stops for part in word.casefold().split("-") if part))
            # Interned: the same words recur across answers, one copy of each string is enough.
            tokens.append(Token(intern(piece), intern(lemma), is_stop, is_word))
        yield tuple(tokens)
