"""Incremental extraction: only articles that are new or changed since the last build are extracted.

Articles are keyed by content (article_id is a hash of the text) and by what the coder reads beside
it (publication date, lower bound, title: a date added to sources.csv re-extracts the article), and
the cache folder
(``<outputs>/.cache/extract/<fingerprint>/``, pipeline.cache) by the extractor fingerprint
(extract/, text/ and schemas/: code, codebook and dictionaries): a change to any of them starts a
fresh cache, so everything is re-extracted. One mentions file per fingerprint, rather than
Dagster dynamic partitions, because at 30k+ articles a partition per article would be a row in the
instance and the UI each, and a run would carry tens of thousands of steps.

Each article is coded under the budget of pipeline/extract/budget.py; one over it is listed in
``skipped.parquet`` with its reason (and in the done-list), so a rebuild does not try it again. A
cache file that cannot be read (truncated, zeroed, foreign) is a cache miss, with a warning: the
articles are extracted again and the files rewritten (pipeline.cache.read_cache_frame).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import polars as pl

from pipeline import progress
from pipeline.cache import StageCache, read_cache_frame
from pipeline.extract.budget import SKIPPED
from pipeline.extract.parse import ParseCache
from pipeline.storage import write_parquet_atomic
from schemas.models import Mention, conform, empty_frame, polars_schema

ARTICLE_FIELDS = ["article_id", "text", "title", "published_at", "published_after"]
# Below this many articles a worker pool costs more than it saves.
PARALLEL_MIN_ARTICLES = 400
# Sentences per parse job: large enough for spaCy's batching, small enough to balance two workers.
PARSE_CHUNK = 2000
STAGE = "extract"
MENTIONS_FILE = "mentions.parquet"
DONE_FILE = "articles.parquet"  # the articles whose mentions MENTIONS_FILE holds, with their reading key
DONE_SCHEMA = {"article_id": pl.String, "reading": pl.String}
SKIPPED_FILE = "skipped.parquet"  # the articles of the done-list that were over budget, with the reason


@dataclass
class ExtractionStats:
    articles: int
    extracted: int
    reused: int
    fingerprint: str
    # Articles not extracted because they were over budget (SKIPPED columns: article_id, reason, detail).
    skipped: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SKIPPED))


def _candidates(batch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    from pipeline.extract.extractor import find_candidates

    return find_candidates(batch)  # (candidates, articles with a sentence over the cap)


def _parse(texts: list[str]) -> pl.DataFrame:
    from pipeline.extract.parse import parse_texts

    return parse_texts(texts)


def _code(job: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    from pipeline.extract.extractor import code_articles

    return code_articles(*job)


def _warm_worker() -> None:
    # The frames, dictionaries and the spaCy model are loaded once per worker, not per batch.
    from pipeline.extract.parse import annotator

    annotator()


def extract_parallel(
    articles: pl.DataFrame, workers: int, parse_cache: ParseCache | None = None, *, whole: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Extract in three rounds over a process pool: find the candidate sentences of batches of
    articles, parse every distinct candidate sentence the parse cache lacks (once for the whole
    build: 0.20 of the Tehran Times corpus's gated words are repeats), then code the batches.

    Spawned, not forked: a child forked from a process that has run polars operations inherits
    polars' thread pool as initialised but without its threads, and its first polars call waits
    forever (it hung the build of the 33k-article corpus). A spawned worker loads the model once
    (initializer) and then takes batches.

    ``whole``: these are all the build's articles, so the parse cache keeps only their sentences
    (bounded by the corpus); an incremental build adds its new sentences to what the cache holds
    and reads only the parses of its own candidate sentences.

    Returns (mentions, skipped): SKIPPED rows for articles with a sentence too long to parse or
    whose coding ran over budget (pipeline.extract.budget)."""
    from pipeline.extract.extractor import code_articles, find_candidates
    from pipeline.extract.parse import PARSE_SCHEMA, parse_texts

    if articles.is_empty():
        return empty_frame(Mention), pl.DataFrame(schema=SKIPPED)
    articles = articles.select(ARTICLE_FIELDS)

    def cached_parses(candidates: pl.DataFrame) -> pl.DataFrame:
        if parse_cache is None:
            return pl.DataFrame(schema=PARSE_SCHEMA)
        return parse_cache.load(candidates["key"])

    parallel = workers > 1 and articles.height >= PARALLEL_MIN_ARTICLES
    if not parallel:
        candidates, long = find_candidates(articles)
        cached = cached_parses(candidates)
        todo = _unparsed(candidates, cached)
        fresh = parse_texts(todo) if todo else pl.DataFrame(schema=PARSE_SCHEMA)
        parses = pl.concat([cached, fresh])
        mentions, over = code_articles(articles, candidates, _needed(parses, candidates))
        skipped = [long, over]
    else:
        # Interleave by size so the workers get a similar amount of text.
        order = articles.with_columns(pl.col("text").str.len_bytes().alias("_n")).sort("_n", descending=True)
        order = order.drop("_n")
        n_batches = workers * 8
        batches = [order.gather_every(n_batches, offset=i) for i in range(n_batches)]
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_warm_worker
        ) as pool:
            progress.phase("finding candidate sentences", total=articles.height, unit="articles")
            found, skipped = [], []
            for batch, (part, long) in zip(batches, pool.map(_candidates, batches), strict=True):
                found.append(part)
                skipped.append(long)
                progress.advance(batch.height)
            candidates = pl.concat(found)
            cached = cached_parses(candidates)
            todo = _unparsed(candidates, cached)
            chunks = [todo[i : i + PARSE_CHUNK] for i in range(0, len(todo), PARSE_CHUNK)]
            progress.phase("parsing", total=len(todo), unit="sentences")
            fresh = []
            for chunk, part in zip(chunks, pool.map(_parse, chunks), strict=True):
                fresh.append(part)
                progress.advance(len(chunk))
            parses = pl.concat([cached, *fresh])
            jobs = [(b, c, _needed(parses, c)) for b, c in zip(batches, found, strict=True)]
            progress.phase("coding", total=articles.height, unit="articles")
            parts = []
            for batch, (part, over) in zip(batches, pool.map(_code, jobs), strict=True):
                parts.append(part)
                skipped.append(over)
                progress.advance(batch.height)
            mentions = pl.concat([m for m in parts if m.height] or [empty_frame(Mention)])
    if parse_cache is not None:
        if whole:  # keep exactly this build's parses (cached holds only those already)
            keep = _needed(parses, candidates)
            if todo or parse_cache.stored() != (keep.height, 0):
                parse_cache.save(keep)
        elif todo:
            parse_cache.add(parses.filter(~pl.col("key").is_in(cached["key"].implode())))
    skipped_rows = pl.concat([pl.DataFrame(schema=SKIPPED), *skipped]).unique("article_id", keep="first")
    return conform(mentions, Mention), skipped_rows.sort("article_id")


def _reading_key() -> pl.Expr:
    """What the coder reads beside an article's text (its publication date or lower bound, and
    whether and what its title is), as one string."""
    return pl.concat_str(
        [
            pl.col("published_at").cast(pl.String).fill_null("-"),
            pl.col("published_after").cast(pl.String).fill_null("-"),
            pl.when(pl.col("title").is_null()).then(pl.lit("-")).otherwise(pl.lit("t:") + pl.col("title")),
        ],
        separator="|",
    ).alias("reading")


def _unparsed(candidates: pl.DataFrame, cached: pl.DataFrame) -> list[str]:
    """The distinct candidate sentences (their parsed text) that the cache does not hold."""
    missing = candidates.unique("key", keep="first", maintain_order=True)
    return missing.filter(~pl.col("key").is_in(cached["key"].implode()))["parse_text"].to_list()


def _needed(parses: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """The parses of this build's candidate sentences (the cache keeps no others)."""
    return parses.unique("key", keep="first").filter(pl.col("key").is_in(candidates["key"].unique().implode()))


def extraction_cache(cache_root: Path, part: str | None = None) -> StageCache:
    """The extraction cache under ``cache_root`` for the current extractor (``part``: one bucket
    of the scale-out job, which keeps a cache of its own)."""
    from pipeline.extract.extractor import extractor_fingerprint

    return StageCache(cache_root, STAGE, extractor_fingerprint(), part)


def extract_incremental(
    articles: pl.DataFrame, cache: StageCache, workers: int, parse_cache: ParseCache | None = None
) -> tuple[pl.DataFrame, ExtractionStats]:
    # The lock keeps the mentions file and the done-list a pair: interleaved writes by two builds
    # could leave a done-list naming articles whose mentions are not in the mentions file, and
    # those articles would never be extracted again.
    with cache.locked():
        return _extract_incremental_locked(articles, cache, workers, parse_cache)


def _extract_incremental_locked(
    articles: pl.DataFrame, cache: StageCache, workers: int, parse_cache: ParseCache | None
) -> tuple[pl.DataFrame, ExtractionStats]:
    cache_file = cache.file(MENTIONS_FILE)
    done_file = cache.file(DONE_FILE)
    skipped_file = cache.file(SKIPPED_FILE)
    # The files are one record: when any of them is missing or unreadable, none is used.
    cached = read_cache_frame(cache_file, polars_schema(Mention), "extraction cache")
    done = read_cache_frame(done_file, DONE_SCHEMA, "extraction cache")
    was_skipped = read_cache_frame(skipped_file, SKIPPED, "extraction cache")
    if cached is None or done is None or was_skipped is None:
        cached, done = empty_frame(Mention), pl.DataFrame(schema=DONE_SCHEMA)
        was_skipped = pl.DataFrame(schema=SKIPPED)
    current = articles.select("article_id", _reading_key())
    # An article is extracted again when its text or what the coder reads beside it changed: the
    # text changes its id; a publication date or title added to sources.csv changes its reading key
    # (the dates of its mentions are resolved against it).
    kept = current.join(done, on=["article_id", "reading"], how="semi")["article_id"]
    todo = articles.filter(~pl.col("article_id").is_in(kept.implode()))
    fresh, fresh_skipped = extract_parallel(todo, workers, parse_cache, whole=todo.height == articles.height)
    mentions = (
        pl.concat([cached.filter(pl.col("article_id").is_in(kept.implode())), fresh])
        .unique("mention_id", keep="first")
        .sort("mention_id")
    )
    mentions = conform(mentions, Mention)
    skipped = (
        pl.concat([was_skipped.filter(pl.col("article_id").is_in(kept.implode())), fresh_skipped])
        .unique("article_id", keep="first")
        .sort("article_id")
    )
    # Keep the cache to the current articles: deterministic and bounded by the corpus.
    if todo.height or cached.height != mentions.height or done.height != current.height:
        cache.sweep()  # other extractor versions' caches
        # Mentions and skipped articles first, then the done-list: a kill between them leaves a
        # done-list older than the rest, so the next build re-extracts a few articles (harmless),
        # never the reverse (articles marked done whose mentions were not written).
        write_parquet_atomic(mentions, cache_file)
        write_parquet_atomic(skipped, skipped_file)
        write_parquet_atomic(current.sort("article_id"), done_file)
    stats = ExtractionStats(articles.height, todo.height, articles.height - todo.height, cache.fingerprint, skipped)
    return mentions, stats
