"""What a rebuild keeps from the previous deduplication: article word masks and component clusterings.

Both are pure functions of content, so reusing them cannot change a result, only its cost:

- word masks are keyed by article id, which is a hash of the article's text;
- a component's clustering is keyed by a hash of every field the clustering reads
  (cluster.cluster_mentions_reusing).

The files are keyed by a fingerprint of the code and codebook that produce them (a change to
either starts afresh) and hold only what the current build used, so they stay the size of the
corpus. Like the extraction cache they live in ``<outputs>/.cache`` (``dedup/``; never published) and are
replaced atomically; an unreadable file is ignored (the build recomputes), never fatal. On the
33k-article corpus, adding one article leaves all but a few components unchanged, which is what
makes deduplication of an incremental build cheap.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from pipeline.dedup.cluster import COMPONENTS_SCHEMA
from pipeline.dedup.core import DedupResult, article_texts, deduplicate
from pipeline.dedup.keys import WORD_MASK_BITS, ArticleMasks
from pipeline.extract.cache import atomic_write
from schemas.codebook import CODEBOOK_PATH

CACHE_VERSION = "1"
MASKS_SCHEMA = {"article_id": pl.String, "mask": pl.Binary}
_SOURCES = ("keys.py", "cluster.py", "cache.py")


def dedup_fingerprint() -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    h.update(Path(CODEBOOK_PATH).read_bytes())
    return h.hexdigest()[:20]


class DedupCache:
    def __init__(self, cache_dir: Path, fingerprint: str | None = None):
        # A folder of its own: the extraction cache removes other *.parquet files beside its own.
        self.dir = Path(cache_dir) / "dedup"
        self.fingerprint = fingerprint or dedup_fingerprint()
        self.masks_file = self.dir / f"dedup-masks-{self.fingerprint}.parquet"
        self.components_file = self.dir / f"dedup-components-{self.fingerprint}.parquet"
        self._saved_masks = -1  # rows of the masks file as loaded, all still wanted (-1: rewrite it)
        self._saved_components: pl.DataFrame | None = None

    def load_masks(self, texts: dict[str, str]) -> ArticleMasks:
        masks = ArticleMasks(texts)
        frame = _read(self.masks_file, MASKS_SCHEMA)
        if frame is not None:
            n_bytes = WORD_MASK_BITS // 8
            kept = {a: int.from_bytes(b, "little") for a, b in zip(frame["article_id"].to_list(), frame["mask"].to_list())
                    if a in texts and len(b) == n_bytes}
            masks.seed(kept)
            # The file can stay as it is only if every row of it was still wanted.
            self._saved_masks = len(kept) if len(kept) == frame.height else -1
        return masks

    def load_components(self) -> pl.DataFrame | None:
        self._saved_components = _read(self.components_file, COMPONENTS_SCHEMA)
        return self._saved_components

    def save(self, masks: ArticleMasks, components: pl.DataFrame) -> None:
        """Keep the masks of the current articles and this build's components; drop other
        fingerprints' files (an older code or codebook). A file that would be written with what it
        already holds (no article added or gone, no component changed) is left as it is."""
        self.dir.mkdir(parents=True, exist_ok=True)
        n_bytes = WORD_MASK_BITS // 8
        known = sorted((a, m) for a, m in masks.known().items() if a in masks.texts)
        if len(known) != self._saved_masks:  # masks are only ever added to the loaded ones: same count, same set
            atomic_write(pl.DataFrame({"article_id": [a for a, _ in known],
                                       "mask": [m.to_bytes(n_bytes, "little") for _, m in known]},
                                      schema=MASKS_SCHEMA), self.masks_file)
        components = components.select(list(COMPONENTS_SCHEMA))
        if self._saved_components is None or not components.equals(self._saved_components):
            atomic_write(components, self.components_file)
        for old in self.dir.glob("dedup-*.parquet"):
            if self.fingerprint not in old.name:
                old.unlink(missing_ok=True)


def deduplicate_with_cache(mentions: pl.DataFrame, articles: pl.DataFrame, registry: pl.DataFrame | None,
                           cache_dir: Path) -> tuple[DedupResult, str]:
    """deduplicate() with the previous build's masks and components (shared by the dedup asset and
    the scale-out job); returns the result and a one-line account of what was reused."""
    cache = DedupCache(cache_dir)
    masks = cache.load_masks(article_texts(articles))
    reused_masks = len(masks.known())
    components = cache.load_components()
    result = deduplicate(mentions, articles, registry, masks=masks, previous_components=components)
    cache.save(masks, result.components)
    return result, (f"reused {reused_masks} article masks and the clustering of "
                    f"{0 if components is None else components.height} mentions from the previous build")


def _read(path: Path, schema: dict) -> pl.DataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = pl.read_parquet(path)
    except Exception:  # noqa: BLE001 - a torn or foreign file is a cache miss, never a failed build
        return None
    if dict(frame.schema) != schema:
        return None
    return frame
