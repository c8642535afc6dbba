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

    The steps are also separate functions (carried_ids, grant_ids), so the partitioned
    deduplication (partitions.py) can take them one part of the mentions at a time.
    """
    prev = empty_registry() if registry is None else registry.select(list(REGISTRY_SCHEMA)).cast(REGISTRY_SCHEMA)
    carried = carried_ids(membership, prev)
    cluster_ids, lineage = grant_ids(carried, founders, prev["event_id"])
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


def carried_ids(membership: pl.DataFrame, prev: pl.DataFrame) -> pl.DataFrame:
    """(__cluster, __old, n, first_mention): each previous id the clusters' mentions carried, how
    many of the cluster's mentions carried it and the smallest of them. A cluster's rows come from
    its own mentions only, so the rows of parts of the mentions, concatenated, are the rows of all."""
    pairs = membership.join(prev.select("mention_id", pl.col("event_id").alias("__old")), on="mention_id", how="inner")
    return carried_from_pairs(pairs)


def carried_from_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """carried_ids from the (mention_id, __cluster, __old) rows of current mentions found in the
    previous registry, however they were found."""
    return pairs.group_by("__cluster", "__old").agg(
        pl.len().alias("n"), pl.col("mention_id").min().alias("first_mention")
    )


def grant_ids(
    carried: pl.DataFrame, founders: pl.DataFrame, previous_ids: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(cluster_ids, lineage) from every cluster's carried ids (carried_ids, in any row order),
    the founders and the event ids of the previous registry (active and retired, repeats allowed):
    every id in use, since the carried ids come from it."""
    # A pair is simple when its cluster carries no other id and no other cluster carries its id.
    # (is_duplicated rather than counts over windows: the windows' hash tables of 8.8M ids cost
    # 1.25 GB on a rebuild of 10M mentions, is_duplicated 0.46 GB.)
    simple_pair = ~carried["__cluster"].is_duplicated() & ~carried["__old"].is_duplicated()
    simple = carried.filter(simple_pair)
    contested = carried.filter(~simple_pair).sort(
        ["n", "first_mention", "__old", "__cluster"], descending=[True, False, False, False]
    )
    del simple_pair
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
    del founders  # (a caller that handed them over holds no other reference: 8.8M rows at 10M mentions)
    # Every granted id is a previous id, so the previous ids are all the ids in use.
    fresh_ids = _fresh_ids(fresh["__founder"], previous_ids)
    cluster_ids = pl.concat([granted, fresh.select("__cluster").with_columns(fresh_ids)]).sort("__cluster")
    return cluster_ids, _lineage(carried, cluster_ids)


_ID_CHUNK = 500_000  # founders hashed per Python pass (bounds the transient strings)


def _fresh_ids(founders: pl.Series, in_use: pl.Series) -> pl.Series:
    """The new ids of ``founders`` (sorted), none of them in ``in_use``: new_event_id of each, and
    where that is taken (by ``in_use`` or by an earlier founder), the next salt, as the founders
    are taken in order. The first hash of each founder is computed in chunks and checked in bulk;
    only if one of them collides (never seen: 12 hex digits) are the ids given one by one with
    Python sets, exactly as that rule reads. The bulk path keeps a rebuild of 10M mentions from
    turning every previous id into a Python string (1 GB of transient objects)."""
    if founders.len() == 0:
        return pl.Series("event_id", [], dtype=pl.String)
    first = pl.concat(
        [
            pl.Series("event_id", [new_event_id(f) for f in founders.slice(lo, _ID_CHUNK).to_list()], dtype=pl.String)
            for lo in range(0, founders.len(), _ID_CHUNK)
        ]
        or [pl.Series("event_id", [], dtype=pl.String)]
    )
    # Taken or repeated ids are looked for among 64-bit hashes first (equal ids have equal
    # hashes), and among the ids themselves only if a hash repeats: a hash table of 8.8M strings
    # cost 0.5 GB of the merge's peak at 10M mentions.
    hashes, used = first.hash(seed=0), in_use.hash(seed=0)
    suspect = hashes.is_duplicated().any() or hashes.is_in(used.implode()).any()
    if not suspect or not (first.is_in(in_use.implode()).any() or first.is_duplicated().any()):
        return first  # no founder's first id is taken, so the rule gives every founder its first id
    taken = set(in_use.to_list())
    ids: list[str] = []
    for founder in founders.to_list():
        salt = 0
        candidate = new_event_id(founder)
        while candidate in taken:
            salt += 1
            candidate = new_event_id(founder, salt)
        taken.add(candidate)
        ids.append(candidate)
    return pl.Series("event_id", ids, dtype=pl.String)


def _lineage(carried: pl.DataFrame, cluster_ids: pl.DataFrame) -> pl.DataFrame:
    """Lineage of each cluster that carried a previous id other than its own.

    If that previous id still names some event, the cluster *split* from it; if it names none
    any more, it was *merged* into the cluster (into each such cluster, in the rare case that a
    lost id's mentions went several ways).
    """
    surviving = cluster_ids.select(pl.col("event_id").alias("__old"), pl.lit(True).alias("__survives"))
    # Lazily, so the join of every carried row with its cluster's id (8.8M rows on a rebuild of
    # 10M mentions, 0.7 GB) is filtered as it is made rather than held whole.
    moved = (
        carried.lazy()
        .select("__cluster", "__old", "n")
        .join(cluster_ids.lazy(), on="__cluster")
        .filter(pl.col("__old") != pl.col("event_id"))
        .collect(engine="streaming")
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
