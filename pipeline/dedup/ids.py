"""Stable event ids across releases, from an id registry (mention_id -> event_id).

The registry (``REGISTRY_SCHEMA``) has one row per mention ever released: ``active`` rows for the
mentions of this build, ``retired`` rows for mentions no longer present (their last event id is
kept, so an article that comes back gets its event back, and a retired id is never handed to a
different event).

On a rebuild every new cluster looks at the previous ids its mentions carried:

- Each previous id goes to at most one cluster and each cluster keeps at most one previous id.
  Pairs (cluster, previous id) are granted greedily by the number of the cluster's mentions that
  carried the id (majority), then the smallest mention id among them (the earliest-founded
  mention, as mention ids are content-derived), then the id itself. Most clusters carry exactly
  one id that no other cluster carries; they are granted vectorised, the rest in a small loop.
- A cluster that carried a previous id it did not keep either *split* from it (the id still names
  another event) or absorbed it in a *merge* (the id names no event any more). Both go to the
  lineage table (see ``_lineage``); nothing is renumbered silently.
- A cluster with no previous id gets ``"E" + sha256("credence-event|" + founding mention_id)[:12]``
  (a counter is appended in the rare case it collides with an id already in use or retired).
"""

from __future__ import annotations

import hashlib

import polars as pl

REGISTRY_SCHEMA = {"mention_id": pl.String, "event_id": pl.String, "status": pl.String}
LINEAGE_SCHEMA = {
    "change_type": pl.String,
    "event_id": pl.String,
    "related_event_ids": pl.List(pl.String),
    "n_mentions": pl.Int64,
}


def empty_registry() -> pl.DataFrame:
    return pl.DataFrame(schema=REGISTRY_SCHEMA)


def new_event_id(founder: str, salt: int = 0) -> str:
    payload = f"credence-event|{founder}" + (f"|{salt}" if salt else "")
    return "E" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


def assign_ids(
    membership: pl.DataFrame, founders: pl.DataFrame, registry: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Give every cluster an event id.

    membership: (mention_id, __cluster) for every current mention.
    founders:   (__cluster, __founder) one row per cluster.
    Returns (cluster_ids: (__cluster, event_id), new registry, lineage).
    """
    prev = empty_registry() if registry is None else registry.select(list(REGISTRY_SCHEMA)).cast(REGISTRY_SCHEMA)
    carried = (
        membership.join(prev.select("mention_id", pl.col("event_id").alias("__old")), on="mention_id", how="inner")
        .group_by("__cluster", "__old")
        .agg(pl.len().alias("n"), pl.col("mention_id").min().alias("first_mention"))
        .with_columns(
            pl.len().over("__cluster").alias("__olds_per_cluster"),
            pl.len().over("__old").alias("__clusters_per_old"),
        )
    )
    simple = carried.filter((pl.col("__olds_per_cluster") == 1) & (pl.col("__clusters_per_old") == 1))
    contested = carried.filter((pl.col("__olds_per_cluster") > 1) | (pl.col("__clusters_per_old") > 1)).sort(
        ["n", "first_mention", "__old", "__cluster"], descending=[True, False, False, False]
    )
    granted_clusters: dict[int, str] = {}
    taken: set[str] = set()
    for cluster, old in zip(contested["__cluster"].to_list(), contested["__old"].to_list()):
        if cluster in granted_clusters or old in taken:
            continue
        granted_clusters[cluster] = old
        taken.add(old)
    granted = pl.concat(
        [
            simple.select("__cluster", pl.col("__old").alias("event_id")),
            pl.DataFrame(
                {"__cluster": list(granted_clusters), "event_id": list(granted_clusters.values())},
                schema={"__cluster": pl.Int64, "event_id": pl.String},
            ),
        ]
    )

    fresh = founders.join(granted, on="__cluster", how="anti").sort("__founder")
    in_use = set(prev["event_id"].to_list()) | set(granted["event_id"].to_list())
    fresh_ids: list[str] = []
    for founder in fresh["__founder"].to_list():
        salt = 0
        candidate = new_event_id(founder)
        while candidate in in_use:
            salt += 1
            candidate = new_event_id(founder, salt)
        in_use.add(candidate)
        fresh_ids.append(candidate)
    cluster_ids = pl.concat(
        [
            granted,
            fresh.select("__cluster").with_columns(pl.Series("event_id", fresh_ids, dtype=pl.String)),
        ]
    ).sort("__cluster")

    lineage = _lineage(carried, cluster_ids)
    active = membership.join(cluster_ids, on="__cluster", how="left", maintain_order="left").select(
        "mention_id", "event_id", pl.lit("active").alias("status")
    )
    retired = prev.join(membership.select("mention_id"), on="mention_id", how="anti").with_columns(
        pl.lit("retired").alias("status")
    )
    new_registry = pl.concat([active, retired.select(list(REGISTRY_SCHEMA))]).cast(REGISTRY_SCHEMA)
    if retired.height or not membership["mention_id"].is_sorted():
        new_registry = new_registry.sort("mention_id")
    return cluster_ids, new_registry, lineage


def _lineage(carried: pl.DataFrame, cluster_ids: pl.DataFrame) -> pl.DataFrame:
    """Lineage of each cluster that carried a previous id other than its own.

    If that previous id still names some event, the cluster *split* from it; if it names none
    any more, it was *merged* into the cluster (into each such cluster, in the rare case that a
    lost id's mentions went several ways).
    """
    surviving = cluster_ids.select(pl.col("event_id").alias("__old"), pl.lit(True).alias("__survives"))
    moved = (
        carried.join(cluster_ids, on="__cluster")
        .filter(pl.col("__old") != pl.col("event_id"))
        .join(surviving, on="__old", how="left")
        .with_columns(
            pl.when(pl.col("__survives")).then(pl.lit("split")).otherwise(pl.lit("merged")).alias("change_type")
        )
    )
    return (
        moved.group_by("change_type", "event_id")
        .agg(pl.col("__old").sort().alias("related_event_ids"), pl.col("n").sum().alias("n_mentions"))
        .cast(LINEAGE_SCHEMA)
        .select(list(LINEAGE_SCHEMA))
        .sort("change_type", "event_id")
    )
