"""What a rebuild keeps from the previous deduplication: article word masks, component clusterings
and events' syndicated sources.

All are pure functions of content, so reusing them cannot change a result, only its cost:

- word masks are keyed by article id, which is a hash of the article's text;
- a component's clustering is keyed by a hash of every field the clustering reads
  (cluster.cluster_mentions_reusing);
- an event's syndication merges are keyed by a hash of its articles and their source keys
  (settle.source_keys_reusing).

The files are keyed by a fingerprint of the code and codebook that produce them (pipeline/dedup/
and schemas/, globbed by pipeline.cache; a change to either starts afresh) and hold only what the
current build used, so they stay the size of the corpus. Like every stage's cache they live in
``<outputs>/.cache/dedup/<fingerprint>/`` (never published), under the stage's lock, and are
replaced atomically (uncompressed: an incremental build rewrites some of them, and zstd cost more
than the rest of the saving); an unreadable file is ignored with a warning (the build recomputes), never fatal. On the
33k-article corpus, adding one article leaves all but a few components unchanged, which is what
makes deduplication of an incremental build cheap.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from pipeline.cache import SCHEMAS_DIR, StageCache, read_cache_frame, source_fingerprint
from pipeline.dedup.cluster import COMPONENTS_SCHEMA
from pipeline.dedup.core import DedupResult, article_texts, build_events
from pipeline.dedup.keys import WORD_MASK_BITS, ArticleMasks, text_ids
from pipeline.dedup.settle import SOURCES_SCHEMA
from pipeline.storage import atomic_path, write_parquet_atomic

STAGE = "dedup"
CACHE_VERSION = "2"  # 2: files in the stage cache folder (pipeline.cache)
MASKS_SCHEMA = {"article_id": pl.String, "mask": pl.Binary}
log = logging.getLogger(__name__)


def dedup_fingerprint() -> str:
    return source_fingerprint(Path(__file__).resolve().parent, SCHEMAS_DIR, salt=f"dedup-cache {CACHE_VERSION}")


class DedupCache:
    def __init__(self, cache_root: Path, fingerprint: str | None = None):
        self.stage = StageCache(cache_root, STAGE, fingerprint or dedup_fingerprint())
        self.dir = self.stage.dir
        self.fingerprint = self.stage.fingerprint
        self.masks_file = self.stage.file("masks.parquet")
        self.components_file = self.stage.file("components.parquet")
        self.sources_file = self.stage.file("sources.parquet")
        self._saved_masks = -1  # rows of the masks file as loaded, all still wanted (-1: rewrite it)
        self._saved_components: pl.DataFrame | None = None
        self._saved_sources: pl.DataFrame | None = None

    def load_masks(self, texts: dict[str, str]) -> ArticleMasks:
        masks = ArticleMasks(texts)
        frame = _read(self.masks_file, MASKS_SCHEMA)
        if frame is not None:
            kept = frame.filter(
                pl.col("article_id").is_in(text_ids(texts).implode())
                & (pl.col("mask").bin.size() == WORD_MASK_BITS // 8)
            ).unique("article_id")
            masks.seed_bytes(dict(zip(kept["article_id"].to_list(), kept["mask"].to_list())))
            # The file can stay as it is only if every row of it was still wanted.
            self._saved_masks = kept.height if kept.height == frame.height else -1
        return masks

    def load_components(self) -> pl.DataFrame | None:
        self._saved_components = _read(self.components_file, COMPONENTS_SCHEMA)
        return self._saved_components

    def load_sources(self) -> pl.DataFrame | None:
        self._saved_sources = _read(self.sources_file, SOURCES_SCHEMA)
        return self._saved_sources

    def load_for_partition(
        self, mention_ids: pl.Series, article_ids: pl.Series
    ) -> tuple[pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]:
        """(the masks of these articles, the components rows of these mentions, every sources row):
        what one partition of the scale-out dedup can reuse, read without the rest of the files
        (the sources table is read whole: an event's key is known only once it is settled). Read
        without the stage lock: the files are replaced atomically, and either version is exact."""
        masks = _read_where(
            self.masks_file,
            MASKS_SCHEMA,
            pl.col("article_id").is_in(article_ids.implode()) & (pl.col("mask").bin.size() == WORD_MASK_BITS // 8),
        )
        if masks is not None:
            masks = masks.unique("article_id", keep="first", maintain_order=True)
        mine = pl.col("mention_id").is_in(mention_ids.implode())
        components = _read_where(self.components_file, COMPONENTS_SCHEMA, mine)
        return masks, components, _read(self.sources_file, SOURCES_SCHEMA)

    def save_pieces(self, masks, components, sources: pl.LazyFrame) -> None:
        """Write the three files of the scale-out dedup's merge (masks and components as
        partitions.SortedPieces, written a piece at a time; sources small) and drop other
        fingerprints' files. Call under ``stage.locked()``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for pieces, path in ((masks, self.masks_file), (components, self.components_file)):
            with atomic_path(path) as tmp:
                pieces.write_parquet(tmp, compression="none")
        with atomic_path(self.sources_file) as tmp:
            sources.select(list(SOURCES_SCHEMA)).cast(SOURCES_SCHEMA).collect().write_parquet(
                tmp, compression="uncompressed"
            )
        self.stage.sweep()

    def save(self, masks: ArticleMasks, components: pl.DataFrame, sources: pl.DataFrame | None = None) -> None:
        """Keep the masks of the current articles and this build's components and sources; drop
        other fingerprints' files (an older code or codebook). A file that would be written with
        what it already holds (no article added or gone, no component or event changed) is left as
        it is."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # Masks are only ever added to the loaded ones (all of them current articles'): the same
        # count is the same set.
        if masks.count() != self._saved_masks:
            known = masks.known_bytes()
            frame = pl.DataFrame({"article_id": list(known), "mask": list(known.values())}, schema=MASKS_SCHEMA)
            frame = frame.filter(pl.col("article_id").is_in(text_ids(masks.texts).implode())).sort("article_id")
            if frame.height != self._saved_masks:
                write_parquet_atomic(frame, self.masks_file, compression="uncompressed")
        components = components.select(list(COMPONENTS_SCHEMA))
        if self._saved_components is None or not components.equals(self._saved_components):
            write_parquet_atomic(components, self.components_file, compression="uncompressed")
        if sources is not None:
            sources = sources.select(list(SOURCES_SCHEMA))
            if self._saved_sources is None or not sources.equals(self._saved_sources):
                write_parquet_atomic(sources, self.sources_file, compression="uncompressed")
        self.stage.sweep()


def deduplicate_with_cache(
    mentions: pl.DataFrame, articles: pl.DataFrame, registry: pl.DataFrame | None, cache_root: Path
) -> tuple[DedupResult, str]:
    """build_events() with the previous build's masks and components (shared by the dedup asset and
    the scale-out job); returns the result and a one-line account of what was reused."""
    cache = DedupCache(cache_root)
    with cache.stage.locked():
        masks = cache.load_masks(article_texts(articles))
        reused_masks = masks.count()
        components = cache.load_components()
        sources = cache.load_sources()
        result = build_events(
            mentions, articles, registry, masks=masks, previous_components=components, previous_sources=sources
        )
        cache.save(masks, result.components, result.sources)
    return result, (
        f"reused {reused_masks} article masks, the clustering of "
        f"{0 if components is None else components.height} mentions and the sources of "
        f"{0 if sources is None else sources['key'].n_unique()} events from the previous build"
    )


def _read(path: Path, schema: dict) -> pl.DataFrame | None:
    return read_cache_frame(path, schema, "dedup cache")


def _read_where(path: Path, schema: dict, keep: pl.Expr) -> pl.DataFrame | None:
    """The rows of a cache file that ``keep`` selects, read lazily; None, as read_cache_frame, when
    the file is missing or damaged (with a warning naming it)."""
    if not path.is_file():
        return None
    try:
        frame = pl.scan_parquet(path)
        if dict(frame.collect_schema()) != dict(schema):
            log.warning("dedup cache file %s has other columns than expected; ignored, this build recomputes it", path)
            return None
        return frame.filter(keep).collect()
    except Exception as exc:  # noqa: BLE001 - any damage is a cache miss, as in pipeline.cache.read_cache_frame
        log.warning("dedup cache file %s is unreadable (%s); ignored, this build recomputes it", path, exc)
        return None
