"""Deduplication entry point: mentions -> events with stable ids, plus the new id registry.

    result = build_events(mentions, articles, registry)   # registry: previous one, or None

Stages: ``cluster.cluster_mentions`` (blocking, overlap components, greedy no-chaining
assignment; the rules are documented there), ``settle.settle`` (one Event row per cluster),
``ids.assign_ids`` (stable ids, registry, merge/split lineage). ``changelog.build_changes`` turns
the previous release's events, these events and the lineage into the change log.

Pure function of its inputs (no files written, no clock read): the release step persists
``DedupResult.registry`` when it publishes, and passes it back on the next build. Same inputs
give byte-identical tables, whatever their row order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.dedup.cluster import COMPONENTS_SCHEMA, assemble, cluster_narrow
from pipeline.dedup.ids import LINEAGE_SCHEMA, REGISTRY_SCHEMA, assign_ids
from pipeline.dedup.keys import ArticleMasks, ArticleTexts
from pipeline.dedup.settle import SETTLE_READS, SOURCES_SCHEMA, settle_reusing
from schemas.codebook import Codebook, load_codebook
from schemas.models import Event, Mention, conform, empty_frame, polars_schema


@dataclass(frozen=True)
class DedupResult:
    events: pl.DataFrame  # schemas.models.Event columns, sorted by event_id
    mentions: pl.DataFrame  # schemas.models.Mention columns with event_id filled, sorted by mention_id
    registry: pl.DataFrame  # ids.REGISTRY_SCHEMA: mention_id, event_id, status (active|retired)
    lineage: pl.DataFrame  # ids.LINEAGE_SCHEMA: change_type (merged|split), event_id, related_event_ids, n_mentions
    components: pl.DataFrame  # cluster.COMPONENTS_SCHEMA: how this build clustered (for the next build to reuse)
    # settle.SOURCES_SCHEMA: how this build merged syndicated sources per event (for the next build to reuse)
    sources: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SOURCES_SCHEMA))


def article_texts(articles: pl.DataFrame) -> ArticleTexts:
    """article_id -> text of the articles (read from the column on demand; empty without texts)."""
    if "text" not in articles.columns:
        return ArticleTexts(pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.String))
    rows = articles.select("article_id", "text").drop_nulls()
    return ArticleTexts(rows["article_id"], rows["text"])


def _article_meta(articles: pl.DataFrame) -> pl.DataFrame:
    cols = {"article_id": pl.String, "outlet": pl.String, "published_at": pl.Date, "collected_at": pl.Date}
    present = [pl.col(c).cast(t) if c in articles.columns else pl.lit(None, dtype=t).alias(c) for c, t in cols.items()]
    return articles.select(present).unique("article_id", keep="first").sort("article_id")


def bound_by_publication(mentions: pl.DataFrame, meta: pl.DataFrame) -> pl.DataFrame:
    """Mentions (Mention columns, row order kept) with asserted acts bounded by their article: an
    asserted event happened by the time its article was published (or collected, sources.csv's
    collected_at), so its interval ends there; one dated wholly after that contradicts it and
    becomes precision unknown, ending there (its date_text and basis stay, so the reader sees what
    the text said). The extractor dates most acts this way already (text/dates); this is the
    guarantee the blocking check ``no_asserted_event_after_publication`` relies on."""
    limit = meta.select("article_id", pl.min_horizontal("published_at", "collected_at").alias("__limit")).filter(
        pl.col("__limit").is_not_null()
    )
    if limit.height == 0:
        return mentions
    m = mentions.join(limit, on="article_id", how="left", maintain_order="left")
    bounded = (pl.col("modality") == "asserted") & pl.col("__limit").is_not_null()
    after = bounded & (pl.col("date_start") > pl.col("__limit"))
    past_end = bounded & (pl.col("date_end").is_null() | (pl.col("date_end") > pl.col("__limit")))
    return m.with_columns(
        pl.when(after).then(None).otherwise(pl.col("date_start")).alias("date_start"),
        pl.when(past_end).then(pl.col("__limit")).otherwise(pl.col("date_end")).alias("date_end"),
        pl.when(after).then(pl.lit("unknown")).otherwise(pl.col("date_precision")).alias("date_precision"),
    ).drop("__limit")


def with_publication(mentions: pl.DataFrame, meta: pl.DataFrame) -> pl.DataFrame:
    """Conformed mentions bounded by their articles' publication (bound_by_publication) with the
    article's publication day as ``__pub`` (for the "years apart never" rule of clustering). A
    function of each row and its article alone, so a part of the mentions gets the same rows."""
    mentions = bound_by_publication(conform(mentions, Mention), meta)
    published = meta.select("article_id", pl.col("published_at").cast(pl.Int32).alias("__pub"))
    return mentions.join(published, on="article_id", how="left", maintain_order="left")


@dataclass(frozen=True)
class Settled:
    """Clustered and settled mentions, before event ids: what one partition computes on its own."""

    mentions: pl.DataFrame  # Mention columns (event_id not yet filled) and __cluster, sorted by mention_id
    events: pl.DataFrame  # settle's rows: the Event columns but event_id, with __cluster and __founder
    components: pl.DataFrame  # cluster.COMPONENTS_SCHEMA
    sources: pl.DataFrame  # settle.SOURCES_SCHEMA


def cluster_and_settle(
    mentions: pl.DataFrame,
    meta: pl.DataFrame,
    masks: ArticleMasks,
    codebook: Codebook,
    *,
    previous_components: pl.DataFrame | None = None,
    previous_sources: pl.DataFrame | None = None,
) -> Settled:
    """Cluster ``mentions`` (with_publication's rows, at least one) and settle each cluster.
    ``meta`` (_article_meta) and ``masks`` (whose texts are the articles') need to hold only the
    articles of these mentions."""
    texts = masks.texts
    # Sorted by mention_id once here: the mentions table and the registry keep this order
    # (order-preserving joins below), which saves sorting a million strings twice more.
    prepared, narrow, components = cluster_narrow(mentions, texts, codebook, masks, previous_components)
    # = cluster_mentions_reusing(...)[0].sort("mention_id"), with only the columns read from here on
    # (settling, the output mentions): fewer to gather, join and sort.
    wanted = set(polars_schema(Mention)) | set(SETTLE_READS)
    clustered = assemble(prepared.select([c for c in prepared.columns if c in wanted]), narrow.sort("mention_id"))
    del prepared, narrow
    events, sources = settle_reusing(clustered, meta, texts, codebook, masks, previous_sources)
    keep = [c for c in polars_schema(Mention) if c in clustered.columns and c != "event_id"]
    return Settled(clustered.select(*keep, "__cluster"), events, components, sources)


def with_event_ids(settled: Settled, cluster_ids: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events sorted by event_id, mentions sorted by mention_id) of ``settled``, with the ids of
    ``cluster_ids`` (__cluster, event_id: assign_ids's first result, covering these clusters)."""
    events = conform(settled.events.join(cluster_ids, on="__cluster"), Event).sort("event_id")
    mentions = conform(settled.mentions.join(cluster_ids, on="__cluster", how="left", maintain_order="left"), Mention)
    return events, mentions


def build_events(
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    registry: pl.DataFrame | None,
    codebook: Codebook | None = None,
    *,
    masks: ArticleMasks | None = None,
    previous_components: pl.DataFrame | None = None,
    previous_sources: pl.DataFrame | None = None,
) -> DedupResult:
    """``masks`` may come pre-filled with known article masks (ArticleMasks(article_texts(articles))
    plus seeded masks; it is filled further, so a caller can keep them). ``previous_components``
    is a previous result's ``components``: unchanged components are not clustered again (see
    cluster.cluster_mentions_reusing), ``previous_sources`` its ``sources``: the syndicated sources
    of unchanged events are not screened again (settle.source_keys_reusing). None of them changes
    the result."""
    cb = codebook or load_codebook()
    mentions = conform(mentions, Mention)
    if mentions.height == 0:
        return empty_result(registry, mentions)

    meta = _article_meta(articles)
    mentions = with_publication(mentions, meta)
    # Article vocabularies, shared by clustering and settling.
    masks = masks if masks is not None else ArticleMasks(article_texts(articles))
    settled = cluster_and_settle(
        mentions, meta, masks, cb, previous_components=previous_components, previous_sources=previous_sources
    )
    cluster_ids, new_registry, lineage = assign_ids(
        settled.mentions.select("mention_id", "__cluster"), settled.events.select("__cluster", "__founder"), registry
    )
    events, out_mentions = with_event_ids(settled, cluster_ids)
    # One chunk each, so that what is written from them does not depend on how they were built.
    return DedupResult(
        events=events.rechunk(),
        mentions=out_mentions.rechunk(),
        registry=new_registry.rechunk(),
        lineage=lineage.rechunk(),
        components=settled.components,
        sources=settled.sources,
    )


def empty_result(registry: pl.DataFrame | None, mentions: pl.DataFrame | None = None) -> DedupResult:
    """The result of no mentions (``mentions``: the empty, conformed input, when there is one): no
    events, and every mention of ``registry`` retired."""
    retired = (
        pl.DataFrame(schema=REGISTRY_SCHEMA)
        if registry is None
        else registry.select(list(REGISTRY_SCHEMA))
        .cast(REGISTRY_SCHEMA)
        .with_columns(pl.lit("retired").alias("status"))
        .sort("mention_id")
    )
    return DedupResult(
        empty_frame(Event),
        empty_frame(Mention) if mentions is None else mentions,
        retired,
        pl.DataFrame(schema=LINEAGE_SCHEMA),
        pl.DataFrame(schema=COMPONENTS_SCHEMA),
        pl.DataFrame(schema=SOURCES_SCHEMA),
    )
