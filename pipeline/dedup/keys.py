"""Matching keys for deduplication: actor keys, date bounds as integers, article vocabularies.

Everything here is a pure function of its inputs (no hash randomness, no dict order), so the
clustering that uses it is reproducible.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Mapping

import polars as pl
from rapidfuzz import fuzz

# Open interval ends become sentinels far outside any real date (days since 1970-01-01), so that
# interval overlap and width are plain integer comparisons in the hot loop.
OPEN_START = -(10**8)
OPEN_END = 10**8

# Precision rank: smaller is more precise. Used to order mentions (most precise first).
PRECISION_RANK = {"day": 0, "week": 1, "month": 2, "year": 3, "unknown": 4}

_NON_COUNTRY_CODES = {"IGO"}


def normalize_name(name: str | None) -> str:
    """Fold spelling variants of a canonical name: accents, case, punctuation, a leading 'the'."""
    if name is None:
        return ""
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    folded = re.sub(r"[^0-9a-z]+", " ", folded).strip()
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


def same_person(a: str, b: str) -> bool:
    """Whether two normalized person names are spelling variants of one person ("Sergei Lavrov" /
    "Sergey Lavrov", "Lavrov" / "Sergei Lavrov"); rapidfuzz's token-set ratio, plus a
    surname-only comparison when one side is a bare surname."""
    if a == b:
        return True
    if fuzz.token_set_ratio(a, b) >= 75:
        return True
    ta, tb = a.split(), b.split()
    return bool(ta and tb) and (len(ta) == 1 or len(tb) == 1) and fuzz.ratio(ta[-1], tb[-1]) >= 88


def party_key_expr(country_col: str, name_col: str) -> pl.Expr:
    """Actor key: the ISO3 country when it is a country (not IGO), else the normalized name.

    Prefixes keep the two kinds apart, so a name can never collide with a country code.
    """
    is_country = pl.col(country_col).is_not_null() & ~pl.col(country_col).is_in(sorted(_NON_COUNTRY_CODES))
    return (
        pl.when(is_country)
        .then(pl.lit("c:") + pl.col(country_col))
        .when(pl.col(name_col).is_not_null())
        .then(pl.lit("n:") + pl.col(f"__norm_{name_col}"))
        .otherwise(None)  # no party (a missing target): a null key, never equal to a name
    )


def add_party_keys(mentions: pl.DataFrame) -> pl.DataFrame:
    """Add __actor_key and __target_key. Name normalization runs once per distinct name."""
    names = (
        pl.concat([mentions.select(pl.col("actor_name").alias("n")), mentions.select(pl.col("target_name").alias("n"))])
        .unique()
        .drop_nulls()
    )
    lookup = dict(zip(names["n"].to_list(), [normalize_name(n) for n in names["n"].to_list()]))
    out = mentions.with_columns(
        pl.col("actor_name").replace_strict(lookup, default="", return_dtype=pl.String).alias("__norm_actor_name"),
        pl.col("target_name").replace_strict(lookup, default="", return_dtype=pl.String).alias("__norm_target_name"),
    )
    people = (
        pl.concat(
            [mentions.select(pl.col(c).alias("n")) for c in ("actor_person", "target_person") if c in mentions.columns]
            or [pl.DataFrame({"n": []}, schema={"n": pl.String})]
        )
        .unique()
        .drop_nulls()
    )
    person_lookup = dict(zip(people["n"].to_list(), [normalize_name(n) for n in people["n"].to_list()]))
    person = {
        side: (
            pl.col(f"{side}_person").replace_strict(person_lookup, default=None, return_dtype=pl.String)
            if f"{side}_person" in mentions.columns
            else pl.lit(None, dtype=pl.String)
        )
        for side in ("actor", "target")
    }
    return out.with_columns(
        party_key_expr("actor_country", "actor_name").alias("__actor_key"),
        party_key_expr("target_country", "target_name").alias("__target_key"),
        person["actor"].alias("__actor_person"),
        person["target"].alias("__target_person"),
    ).drop("__norm_actor_name", "__norm_target_name")


# Small English stop list: function words carry no story identity. Written out here rather than
# pulled from nltk/spaCy to avoid a heavy dependency (and a corpus download) for ~100 words.
STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own s said same she should so some
such than that the their theirs them then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your yours
""".split()
)

_WORD_RE = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def content_words(text: str | None) -> frozenset[str]:
    """Lower-cased words of 3+ letters that are not stop words: the article's vocabulary."""
    if not text:
        return frozenset()
    return frozenset(w for w in _WORD_RE.findall(text.lower()) if w not in STOPWORDS)


def shingles(text: str | None, k: int = 3) -> frozenset[tuple[str, ...]]:
    """Word k-shingles: near-identical texts (syndicated copies) share almost all of them."""
    if not text:
        return frozenset()
    words = re.findall(r"\w+", text.lower())
    if len(words) < k:
        return frozenset([tuple(words)])
    return frozenset(tuple(words[i : i + k]) for i in range(len(words) - k + 1))


# Vocabularies and shingle sets as bit masks (Python ints): one bit per hashed word or shingle
# (crc32, stable across runs). Jaccard on masks is two big-int operations and a popcount, far
# cheaper than on frozensets, which matters when an undated mention is compared with hundreds of
# clusters. Word masks are 4,096 bits (a tie-breaker between candidate events tolerates the
# collisions); shingle masks, which decide syndicated copies, are 32,768 bits.
WORD_MASK_BITS = 1 << 12
SHINGLE_MASK_BITS = 1 << 15


def hashed_mask(items, bits: int) -> int:
    # Set the bits in a bytearray and convert once: OR-ing into a growing int is quadratic.
    buf = bytearray(bits // 8)
    for item in items:
        h = zlib.crc32(item.encode("utf-8")) % bits
        buf[h >> 3] |= 1 << (h & 7)
    return int.from_bytes(buf, "little")


def word_mask(text: str | None) -> int:
    return hashed_mask(content_words(text), WORD_MASK_BITS)


def shingle_mask(text: str | None, k: int = 3) -> int:
    return hashed_mask((" ".join(s) for s in shingles(text, k)), SHINGLE_MASK_BITS)


class ArticleTexts(Mapping):
    """article_id -> text, read from a polars column only when asked for.

    Deduplication needs the texts of a few thousand articles at most (those whose masks are not
    cached, and the few candidate syndicated copies); turning all of them into Python strings first
    cost a third of a second per build on the 33k corpus."""

    def __init__(self, article_ids: pl.Series, texts: pl.Series):
        self._row = dict(zip(article_ids.to_list(), range(article_ids.len())))
        self._texts = texts
        self.ids = article_ids

    def __getitem__(self, article_id: str) -> str:
        return self._texts[self._row[article_id]]

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._row

    def __iter__(self):
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def many(self, article_ids: list[str]) -> list[str | None]:
        return self._gather(article_ids, lambda texts: texts, None)

    def lengths(self, article_ids: list[str]) -> list[int]:
        """len() of each text (0 when unknown), computed in polars."""
        return self._gather(article_ids, lambda texts: texts.str.len_chars().fill_null(0), 0)

    def _gather(self, article_ids: list[str], column, missing) -> list:
        """``column`` of the texts of ``article_ids`` (one polars gather), ``missing`` for unknown ids."""
        rows = [self._row.get(a) for a in article_ids]
        found = iter(column(self._texts.gather([r for r in rows if r is not None])).to_list())
        return [next(found) if r is not None else missing for r in rows]


def text_ids(texts: Mapping[str, str]) -> pl.Series:
    """The article ids that have a text, as a polars String Series (for vectorised membership)."""
    if isinstance(texts, ArticleTexts):
        return texts.ids
    return pl.Series(list(texts), dtype=pl.String)


def text_lengths(texts: Mapping[str, str], article_ids: list[str]) -> list[int]:
    if isinstance(texts, ArticleTexts):
        return texts.lengths(article_ids)
    return [len(texts.get(a) or "") for a in article_ids]


def texts_of(texts: Mapping[str, str], article_ids: list[str]) -> list[str | None]:
    if isinstance(texts, ArticleTexts):
        return texts.many(article_ids)
    return [texts.get(a) for a in article_ids]


class ArticleMasks:
    """Word masks of the articles, computed once per build and shared by clustering (affinity
    between candidate events) and settling (the syndication screen)."""

    def __init__(self, texts: dict[str, str]):
        self.texts = texts
        self._words: dict[str, int] = {}
        # Seeded masks as WORD_MASK_BITS // 8 little-endian bytes, turned into ints only when
        # used: a build uses a few of the tens of thousands a cache holds.
        self._raw: dict[str, bytes] = {}

    def words(self, article_id: str) -> int:
        mask = self._words.get(article_id)
        if mask is None:
            raw = self._raw.get(article_id)
            mask = int.from_bytes(raw, "little") if raw is not None else word_mask(self.texts.get(article_id))
            self._words[article_id] = mask
        return mask

    def seed_bytes(self, known: dict[str, bytes]) -> None:
        """Masks computed earlier (by the previous build, see dedup.cache), each as
        WORD_MASK_BITS // 8 little-endian bytes."""
        n_bytes = WORD_MASK_BITS // 8
        if any(len(b) != n_bytes for b in known.values()):
            raise ValueError(f"word masks are {n_bytes} bytes")
        self._raw.update(known)

    def known(self) -> dict[str, int]:
        out = {a: int.from_bytes(b, "little") for a, b in self._raw.items()}
        out.update(self._words)
        return out

    def known_bytes(self) -> dict[str, bytes]:
        """known() as WORD_MASK_BITS // 8 little-endian bytes per article."""
        n_bytes = WORD_MASK_BITS // 8
        out = dict(self._raw)
        out.update((a, m.to_bytes(n_bytes, "little")) for a, m in self._words.items() if a not in self._raw)
        return out

    def count(self) -> int:
        """How many masks are known (no __len__: an ArticleMasks with none is still truthy)."""
        return len(self._raw) + sum(1 for a in self._words if a not in self._raw)

    def precompute(self, article_ids) -> None:
        """Compute the word masks of many articles at once (see :func:`bulk_word_masks`): the
        same masks as :meth:`words`, at a third of the cost on thousands of articles."""
        todo = sorted({a for a in article_ids if a not in self._words and a not in self._raw and a in self.texts})
        if todo:
            texts = texts_of(self.texts, todo)
            self._words.update({a: 0 for a, t in zip(todo, texts) if not t})  # word_mask of no text
            todo = [(a, t) for a, t in zip(todo, texts) if t]
            if todo:
                self._words.update(bulk_word_masks([a for a, _ in todo], [t for _, t in todo]))

    def _packed(self, article_ids: list[str]):
        """The word masks of the articles as rows of a numpy uint8 matrix (little-endian bits)."""
        import numpy as np

        n_bytes = WORD_MASK_BITS // 8
        raw = self._raw
        return np.frombuffer(
            b"".join(raw[a] if a in raw else self.words(a).to_bytes(n_bytes, "little") for a in article_ids),
            dtype=np.uint8,
        ).reshape(len(article_ids), n_bytes)

    def pair_similarity(self, left: list[str], right: list[str]):
        """Word-mask Jaccard of each pair (left[i], right[i]) as a numpy float64 array, equal to
        mask_jaccard() of the pair (counts are exact integers; the division is IEEE float64,
        correctly rounded like Python's int / int)."""
        import numpy as np

        ids = sorted(set(left) | set(right))
        self.precompute(ids)
        row = {a: i for i, a in enumerate(ids)}
        table = self._packed(ids).view(np.uint64)
        sizes = np.bitwise_count(table).sum(axis=1, dtype=np.int64)
        li = np.fromiter((row[a] for a in left), dtype=np.int64, count=len(left))
        ri = np.fromiter((row[a] for a in right), dtype=np.int64, count=len(right))
        inter = np.bitwise_count(table[li] & table[ri]).sum(axis=1, dtype=np.int64)
        union = sizes[li] + sizes[ri] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, inter / np.maximum(union, 1), 0.0)

    def similarity_matrix(self, article_ids: list[str]) -> list[list[float]]:
        """Word-mask Jaccard of every pair of the given articles, as nested lists (row i, column
        j): mask_jaccard(words(a_i), words(a_j)) exactly, as one matrix product instead of
        n^2 big-integer operations. Intersections are counts of at most WORD_MASK_BITS, exact in
        float32; the division is done in float64 like Python's, so the values are identical."""
        import numpy as np

        bits = np.unpackbits(self._packed(article_ids), axis=1, bitorder="little").astype(np.float32)
        inter = (bits @ bits.T).astype(np.float64)
        sizes = np.diag(inter)
        union = sizes[:, None] + sizes[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            jac = np.where(union > 0, inter / union, 0.0)
        return jac.tolist()


# The vectorised twin of _WORD_RE for polars' (Rust) regex engine: Python's [^\W\d_] is a letter
# (category L) or a non-decimal number (Nl, No); Rust's \w would also admit combining marks.
_WORD_RE_RUST = r"[\p{L}\p{Nl}\p{No}]{3,}"
_BULK_CHUNK = 8192  # articles per bit matrix: 8192 x 4096 booleans = 32 MB


def bulk_word_masks(article_ids: list[str], texts: list[str]) -> dict[str, int]:
    """word_mask() of each text, computed with polars and numpy: words are extracted and filtered
    in Rust, crc32 runs once per distinct word (not once per occurrence), and the bits are set in
    a boolean matrix packed into bytes. Equal to word_mask() bit for bit (a test checks it)."""
    import numpy as np

    out: dict[str, int] = {}
    stop = sorted(STOPWORDS)
    for lo in range(0, len(texts), _BULK_CHUNK):
        ids, chunk = article_ids[lo : lo + _BULK_CHUNK], texts[lo : lo + _BULK_CHUNK]
        words = (
            pl.DataFrame({"text": chunk}, schema={"text": pl.String})
            .lazy()
            .with_row_index("i")
            .select("i", pl.col("text").str.to_lowercase().str.extract_all(_WORD_RE_RUST).alias("w"))
            .explode("w")
            .drop_nulls("w")
            .filter(~pl.col("w").is_in(stop))
            .select("i", pl.col("w").cast(pl.Categorical).alias("w"))
            .collect()
        )
        # Distinct words through the categorical's dictionary: crc32 once per word.
        codes = words["w"].to_physical().cast(pl.Int64).to_numpy()
        vocab = words["w"].unique()
        bit_of = np.zeros(int(codes.max()) + 1 if codes.size else 1, dtype=np.int64)
        bit_of[vocab.to_physical().cast(pl.Int64).to_numpy()] = [
            zlib.crc32(w.encode("utf-8")) % WORD_MASK_BITS for w in vocab.cast(pl.String).to_list()
        ]
        matrix = np.zeros((len(chunk), WORD_MASK_BITS), dtype=bool)
        matrix[words["i"].to_numpy(), bit_of[codes]] = True
        packed = np.packbits(matrix, axis=1, bitorder="little")  # bit h -> byte h >> 3, bit h & 7
        out.update((ids[k], int.from_bytes(packed[k].tobytes(), "little")) for k in range(len(chunk)))
    return out


def mask_jaccard(a: int, b: int) -> float:
    union = (a | b).bit_count()
    return (a & b).bit_count() / union if union else 0.0


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)
