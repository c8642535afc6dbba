"""Incremental extraction: only articles that are new or changed since the last build are extracted.

Articles are keyed by content (article_id is a hash of the text), and the cache folder
(``<outputs>/.cache/extract/<fingerprint>/``, pipeline.cache) by the extractor fingerprint
(extract/, text/ and schemas/: code, codebook and dictionaries): a change to any of them starts a
fresh cache, so everything is re-extracted. One mentions file per fingerprint, rather than
Dagster dynamic partitions, because at 30k+ articles a partition per article would be a row in the
instance and the UI each, and a run would carry tens of thousands of steps.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import polars as pl

from pipeline import progress
from pipeline.cache import StageCache
from pipeline.extract.parse import ParseCache
from pipeline.storage import write_parquet_atomic
from schemas.models import Mention, conform, empty_frame

ARTICLE_FIELDS = ["article_id", "text", "title", "published_at", "published_after"]
# Below this many articles a worker pool costs more than it saves.
PARALLEL_MIN_ARTICLES = 400
# Sentences per parse job: large enough for spaCy's batching, small enough to balance two workers.
PARSE_CHUNK = 2000
STAGE = "extract"
MENTIONS_FILE = "mentions.parquet"
DONE_FILE = "articles.parquet"  # the article ids whose mentions MENTIONS_FILE holds


@dataclass
class ExtractionStats:
    articles: int
    extracted: int
    reused: int
    fingerprint: str


def _candidates(batch: pl.DataFrame) -> pl.DataFrame:
    from pipeline.extract.extractor import find_candidates

    return find_candidates(batch)


def _parse(texts: list[str]) -> pl.DataFrame:
    from pipeline.extract.parse import parse_texts

    return parse_texts(texts)


def _code(job: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    from pipeline.extract.extractor import code_articles

    return code_articles(*job)


def _warm_worker() -> None:
    # The frames, dictionaries and the spaCy model are loaded once per worker, not per batch.
    from pipeline.extract.parse import annotator

    annotator()


def extract_parallel(
    articles: pl.DataFrame, workers: int, parse_cache: ParseCache | None = None, *, whole: bool = True
) -> pl.DataFrame:
    """Extract in three rounds over a process pool: find the candidate sentences of batches of
    articles, parse every distinct candidate sentence the parse cache lacks (once for the whole
    build: 0.20 of the Tehran Times corpus's gated words are repeats), then code the batches.

    Spawned, not forked: a child forked from a process that has run polars operations inherits
    polars' thread pool as initialised but without its threads, and its first polars call waits
    forever (it hung the build of the 33k-article corpus). A spawned worker loads the model once
    (initializer) and then takes batches.

    ``whole``: these are all the build's articles, so the parse cache keeps only their sentences
    (bounded by the corpus); an incremental build adds its new sentences to what the cache holds."""
    from pipeline.extract.extractor import code_articles, find_candidates
    from pipeline.extract.parse import PARSE_SCHEMA, parse_texts

    if articles.is_empty():
        return empty_frame(Mention)
    articles = articles.select(ARTICLE_FIELDS)
    cached = parse_cache.load() if parse_cache is not None else pl.DataFrame(schema=PARSE_SCHEMA)
    parallel = workers > 1 and articles.height >= PARALLEL_MIN_ARTICLES
    if not parallel:
        candidates = find_candidates(articles)
        todo = _unparsed(candidates, cached)
        fresh = parse_texts(todo) if todo else pl.DataFrame(schema=PARSE_SCHEMA)
        parses = pl.concat([cached, fresh])
        mentions = code_articles(articles, candidates, _needed(parses, candidates))
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
            found = []
            for batch, part in zip(batches, pool.map(_candidates, batches), strict=True):
                found.append(part)
                progress.advance(batch.height)
            candidates = pl.concat(found)
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
            for batch, part in zip(batches, pool.map(_code, jobs), strict=True):
                parts.append(part)
                progress.advance(batch.height)
            mentions = pl.concat([m for m in parts if m.height] or [empty_frame(Mention)])
    if parse_cache is not None:
        keep = _needed(parses, candidates) if whole else parses.unique("key", keep="first")
        if keep.height != cached.height or todo:
            parse_cache.save(keep)
    return conform(mentions, Mention)


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
    cached = pl.read_parquet(cache_file) if cache_file.is_file() and done_file.is_file() else empty_frame(Mention)
    done = (
        pl.read_parquet(done_file)["article_id"]
        if cache_file.is_file() and done_file.is_file()
        else pl.Series("article_id", [], pl.String)
    )
    current = articles["article_id"]
    todo = articles.filter(~pl.col("article_id").is_in(done.implode()))
    fresh = extract_parallel(todo, workers, parse_cache, whole=todo.height == articles.height)
    mentions = (
        pl.concat([cached.filter(pl.col("article_id").is_in(current.implode())), fresh])
        .unique("mention_id", keep="first")
        .sort("mention_id")
    )
    mentions = conform(mentions, Mention)
    # Keep the cache to the current articles: deterministic and bounded by the corpus.
    if todo.height or cached.height != mentions.height or done.len() != current.len():
        cache.sweep()  # other extractor versions' caches
        # Mentions first, then the done-list: a kill between the two leaves a done-list that is
        # older than the mentions, so the next build re-extracts a few articles (harmless), never
        # the reverse (articles marked done whose mentions were not written).
        write_parquet_atomic(mentions, cache_file)
        write_parquet_atomic(pl.DataFrame({"article_id": current.sort()}), done_file)
    return mentions, ExtractionStats(articles.height, todo.height, articles.height - todo.height, cache.fingerprint)
