"""build_release_partitioned: the build_release job with extraction fanned out over partitions.

Articles are put into a fixed number of buckets by their content hash (``article_id`` is 'a' + 16
hex digits of the text's sha256, so buckets are uniform and an article never changes bucket), and
each bucket is extracted by its own step (``DynamicOut``). Every op calls the stage function of its
stage (``pipeline/<stage>/stage.py``), the same ones the assets call, and runs the same blocking
checks (the registry in pipeline/validate/checks.py), so the release is identical to the one
`make run` publishes. This module imports no asset module.

Deduplication fans out too (pipeline/dedup/partitions.py): ``partition_mentions`` splits the
valid mentions by identity block, one ``dedup_partition`` step per partition clusters them and
settles their events, and ``dedup_merge`` gives the event ids over all of them (from the previous
release's registry), merges the tables in key order and runs the events' blocking checks one
partition at a time. The partitions are a ``DynamicOut`` of a configured count
(ops.partition_mentions.config: ``partitions``, raised when one would hold more than
``max_mentions_per_partition``) rather than N ops fixed in the graph: how many a build needs
depends on its data (a partition step's memory follows its mention count), which is run config,
not code; every partition is emitted, empty or not, so the step list depends only on the count.

Why a graph of its own rather than the asset job configured differently (PUDL's etl_full and
etl_fast are one asset graph under two configurations): assets cannot fan out at run time except
through a graph-backed asset, which would put the bucket steps and a hand-off of every article's
text through the IO manager into every `make run` (one process here, where extraction already
runs in a worker pool), and the assets' IO manager keeps one file per table in <outputs>/.work,
not per run, which re-execution of a failed bucket on a cluster needs. The fan-out is still
configuration (ops.partition_articles.config.buckets); what the two jobs share is the stage
functions and the checks, not Dagster glue.

It is an op job, not partitioned assets: the asset graph stays one "Materialize all" click, and the
buckets are an execution detail of this job rather than rows in the instance. It runs under the
multiprocess executor (one process per step) or, in the cluster profile, under Celery (each step a
task that one of the workers runs; ``executor="celery"``, pipeline/scale/cluster.py and
docs/scaling.md). Intermediate tables go through :class:`PartitionFrameIOManager`, one Parquet
file per step output under ``<outputs>/.work/scale/<run_id>/``, removed when the run publishes.
Each bucket keeps its own incremental extraction cache (``<outputs>/.cache/extract/buckets/<b>/``),
so a rebuild re-extracts only new or changed articles here too.
"""

import pickle
import shutil
import typing
from pathlib import Path

import dagster as dg
import polars as pl

from pipeline.automation import BUILD_TAG
from pipeline.dedup.partitions import MAX_DEDUP_MENTIONS, PartFrames, SortedPieces, articles_of, split_by_plan
from pipeline.dedup.stage import deduplicate_partition, merge_dedup, plan_dedup
from pipeline.extract.stage import (
    ARTICLE_FIELDS,
    combine_mentions,
    extract_mentions,
    extractor_fingerprint,
    skipped_quarantine,
)
from pipeline.ingest.stage import ingest_articles
from pipeline.release.site import build_site
from pipeline.release.stage import publish_release
from pipeline.resources import CredenceSettings
from pipeline.storage import atomic_path, write_bytes_atomic, write_parquet_atomic
from pipeline.validate.checks import CheckOutcome, release_verifies, run_checks
from pipeline.validate.stage import validate_mentions

DEFAULT_BUCKETS = 8
# Deduplication partitions (run config ops.partition_mentions.config): at least this many, more
# when one would hold more than MAX_DEDUP_MENTIONS (pipeline/dedup/partitions.py says why 600k).
DEFAULT_DEDUP_PARTITIONS = 8
SCALE_WORK = "scale"
PRELOAD = (
    "dagster",
    "polars",
    "pipeline.scale.jobs",
    "pipeline.ingest.stage",
    "pipeline.extract.stage",
    "pipeline.extract.extractor",
    "pipeline.validate.stage",
    "pipeline.validate.checks",
    "pipeline.dedup.stage",
    "pipeline.dedup.partitions",
    "pipeline.release.stage",
    "pipeline.release.site",
)


def bucket_of(article_ids: pl.Series, buckets: int) -> pl.Series:
    """Bucket of each article: the first 8 hex digits of its content hash, modulo ``buckets``.
    Derived from the id itself (not polars' hash, whose seed and algorithm may change between
    versions), so the assignment is the same on every machine and in every release."""
    return (article_ids.str.slice(1, 8).str.to_integer(base=16) % buckets).cast(pl.Int64).alias("bucket")


# ---------------------------------------------------------------------------------------------
# IO manager


def _wants_lazy(context: dg.InputContext) -> bool:
    """Whether the input is annotated pl.LazyFrame (or a list of them, for a fan-in)."""
    wanted = context.dagster_type.typing_type
    return wanted is pl.LazyFrame or typing.get_args(wanted) == (pl.LazyFrame,)


class PartitionFrameIOManager(dg.IOManager):
    """One file per step output: Parquet for polars frames, pickle for anything else. Paths come
    from Dagster's output identifier (run id, step key, output name, mapping key), so a re-execution
    of failed steps reads its parent run's outputs. A LazyFrame output is streamed to its file
    (sink_parquet), a dedup SortedPieces written a piece at a time (neither is ever whole in
    memory); an input annotated pl.LazyFrame is a scan of the file (the step reads the rows and
    columns it selects), any other is read whole."""

    def __init__(self, base: Path):
        self.base = base

    def _path(self, identifier: list[str]) -> Path:
        # Mapped step keys look like "extract_partition[b3]": brackets would be glob patterns to
        # readers that expand paths (polars, fsspec), so they become dots.
        return self.base.joinpath(*(part.replace("[", ".").replace("]", "") for part in identifier))

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        path = self._path(context.get_identifier())
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, pl.DataFrame):
            write_parquet_atomic(obj, path, compression="zstd", compression_level=1, statistics=False)
        elif isinstance(obj, pl.LazyFrame):
            with atomic_path(path) as tmp:
                obj.sink_parquet(tmp, compression="zstd", compression_level=1, statistics=False)
        elif isinstance(obj, SortedPieces):
            with atomic_path(path) as tmp:
                obj.write_parquet(tmp)
        else:
            write_bytes_atomic(path, pickle.dumps(obj), durable=False)
        polars = isinstance(obj, pl.DataFrame | pl.LazyFrame | SortedPieces)
        context.add_output_metadata({"kind": "polars" if polars else "pickle"})
        # The kind is in the file's first bytes too: Parquet starts with PAR1.

    def load_input(self, context: dg.InputContext):
        path = self._path(context.upstream_output.get_identifier())
        with path.open("rb") as f:
            magic = f.read(4)
        if magic == b"PAR1":
            return pl.scan_parquet(path) if _wants_lazy(context) else pl.read_parquet(path)
        return pickle.loads(path.read_bytes())


@dg.io_manager(
    required_resource_keys={"settings"},
    description="Intermediate tables of build_release_partitioned under <outputs>/.work/scale/.",
)
def partition_io_manager(init_context: dg.InitResourceContext) -> PartitionFrameIOManager:
    return PartitionFrameIOManager(init_context.resources.settings.work_path / SCALE_WORK)


# ---------------------------------------------------------------------------------------------
# Ops: each calls the same functions as the asset of its stage


class PartitionConfig(dg.Config):
    buckets: int = DEFAULT_BUCKETS


def _fail_on_checks(context, results: dict[str, CheckOutcome]) -> None:
    """The assets' blocking checks (the same registry, pipeline/validate/checks.py), run on this
    job's tables: a failure stops the job before publishing."""
    failed = {name: r for name, r in results.items() if not r.passed and r.blocking}
    for name, r in results.items():
        state = "passed" if r.passed else "FAILED" if r.blocking else "WARNING"
        context.log.info(f"check {name}: {state} {r.metadata}")
    if failed:
        raise dg.Failure(
            description=f"blocking checks failed: {', '.join(sorted(failed))}",
            metadata={name: str(r.metadata) for name, r in failed.items()},
        )


@dg.op(
    out={"articles": dg.Out(io_manager_key="scale_io"), "ingest_quarantine": dg.Out(io_manager_key="scale_io")},
    description="Raw folder -> articles + ingest quarantine (as the ingest asset).",
)
def ingest_op(context: dg.OpExecutionContext, settings: CredenceSettings):
    result = ingest_articles(settings.raw_path, settings.cache_path, workers=settings.extract_workers)
    context.log.info(f"ingested {result.articles.height} articles, quarantined {result.quarantine.height} inputs")
    return result.articles, result.quarantine


@dg.op(
    out=dg.DynamicOut(io_manager_key="scale_io"),
    description="Articles -> a fixed number of buckets by content hash; one output (and extraction step) per bucket.",
)
def partition_articles(context: dg.OpExecutionContext, config: PartitionConfig, articles: pl.DataFrame):
    if config.buckets < 1:
        raise dg.Failure(description="buckets must be at least 1")
    keyed = articles.select(ARTICLE_FIELDS).with_columns(bucket_of(articles["article_id"], config.buckets))
    width = len(str(config.buckets - 1))
    for b in range(config.buckets):
        part = keyed.filter(pl.col("bucket") == b).drop("bucket")
        # Every bucket is emitted, empty or not: the step list depends only on the bucket count.
        yield dg.DynamicOutput(part, mapping_key=f"b{b:0{width}d}", metadata={"articles": part.height})


@dg.op(
    out={"mentions": dg.Out(io_manager_key="scale_io"), "skipped": dg.Out(io_manager_key="scale_io")},
    description="One bucket's articles -> mentions and the articles left out over budget (incremental, "
    "per-bucket cache).",
)
def extract_partition(context: dg.OpExecutionContext, settings: CredenceSettings, part: pl.DataFrame):
    key = context.get_mapping_key() or "all"
    # One process per step already: no worker pool inside it.
    mentions, stats = extract_mentions(part, settings.cache_path, workers=1, part=f"buckets/{key}")
    context.log.info(f"bucket {key}: extracted {stats.extracted}, reused {stats.reused} -> {mentions.height} mentions")
    context.add_output_metadata(
        {"articles_extracted": stats.extracted, "articles_reused": stats.reused, "mentions": mentions.height},
        output_name="mentions",
    )
    return mentions, stats.skipped


@dg.op(
    out={"valid_mentions": dg.Out(io_manager_key="scale_io"), "quarantine": dg.Out(io_manager_key="scale_io")},
    description="All buckets' mentions -> valid mentions + quarantine (as the validate asset), with its "
    "blocking checks.",
)
def validate_op(
    context: dg.OpExecutionContext,
    parts: list[pl.DataFrame],
    skipped: list[pl.DataFrame],
    articles: pl.DataFrame,
    ingest_quarantine: pl.DataFrame,
):
    extracted = combine_mentions(parts)
    _fail_on_checks(context, run_checks({"articles": articles}, {"articles"}))
    left_out = skipped_quarantine(pl.concat(skipped).sort("article_id"), articles)
    checked = validate_mentions(extracted, articles, ingest_quarantine, left_out)
    tables = {"valid_mentions": checked.valid, "quarantine": checked.quarantine, "articles": articles}
    _fail_on_checks(context, run_checks(tables, {"valid_mentions", "quarantine"}))
    context.log.info(f"{extracted.height} mentions, {checked.rejected} quarantined")
    return checked.valid, checked.quarantine


class DedupPartitionConfig(dg.Config):
    partitions: int = DEFAULT_DEDUP_PARTITIONS
    max_mentions_per_partition: int = MAX_DEDUP_MENTIONS


@dg.op(
    out=dg.DynamicOut(io_manager_key="scale_io"),
    description="Valid mentions -> deduplication partitions by identity block (event type and actor keys; "
    "an oversized block cut only between overlap components); one output (and dedup step) per partition.",
)
def partition_mentions(
    context: dg.OpExecutionContext,
    config: DedupPartitionConfig,
    valid_mentions: pl.LazyFrame,
    articles: pl.LazyFrame,
):
    if config.partitions < 1 or config.max_mentions_per_partition < 1:
        raise dg.Failure(description="partitions and max_mentions_per_partition must be at least 1")
    plan = plan_dedup(
        valid_mentions, articles, partitions=config.partitions, max_per_partition=config.max_mentions_per_partition
    )
    context.log.info(plan.describe())
    width = len(str(plan.partitions - 1))
    for p, part in enumerate(split_by_plan(valid_mentions, plan)):
        # Every partition is emitted, empty or not, and streamed to its file (never whole here).
        yield dg.DynamicOutput(part, mapping_key=f"p{p:0{width}d}", metadata={"mentions": plan.sizes[p]})


@dg.op(
    out={
        "settled_mentions": dg.Out(io_manager_key="scale_io"),
        "settled_events": dg.Out(io_manager_key="scale_io"),
        "components": dg.Out(io_manager_key="scale_io"),
        "sources": dg.Out(io_manager_key="scale_io"),
        "masks": dg.Out(io_manager_key="scale_io"),
    },
    description="One partition's mentions clustered and its events settled (reading only its articles; "
    "reusing the dedup cache's components, sources and masks).",
)
def dedup_partition(
    context: dg.OpExecutionContext, settings: CredenceSettings, part: pl.DataFrame, articles: pl.LazyFrame
):
    key = context.get_mapping_key() or "p0"
    result, found = deduplicate_partition(part, articles, int(key[1:]), cache_root=settings.cache_path)
    s = result.settled
    context.log.info(f"partition {key}: {part.height} mentions -> {s.events.height} events ({found})")
    context.add_output_metadata(
        {"mentions": part.height, "events": s.events.height, **found}, output_name="settled_events"
    )
    return s.mentions, s.events, s.components, s.sources, result.masks


def _combine_outcomes(per_part: list[dict[str, CheckOutcome]]) -> dict[str, CheckOutcome]:
    """The partitions' outcomes of each check as one: passed when it passed everywhere; counts
    summed, other values (samples) joined, first five."""
    combined: dict[str, CheckOutcome] = {}
    for name in per_part[0] if per_part else ():
        outcomes = [p[name] for p in per_part]
        metadata: dict = {}
        for o in outcomes:
            for k, v in o.metadata.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    metadata[k] = metadata.get(k, 0) + v
                elif v not in ("none", None):
                    metadata.setdefault(k, []).append(str(v))
        metadata = {k: "; ".join(v[:5]) if isinstance(v, list) else v for k, v in metadata.items()}
        for k, v in outcomes[0].metadata.items():
            metadata.setdefault(k, v)
        combined[name] = CheckOutcome(all(o.passed for o in outcomes), metadata, outcomes[0].blocking)
    return combined


@dg.op(
    out={
        "events": dg.Out(io_manager_key="scale_io"),
        "mentions": dg.Out(io_manager_key="scale_io"),
        "event_id_registry": dg.Out(io_manager_key="scale_io"),
        "event_lineage": dg.Out(io_manager_key="scale_io"),
    },
    description="Every partition's events -> stable event ids (the previous release's registry), lineage, "
    "the merged events and mentions (as the dedup asset), with its blocking checks; rewrites the dedup cache.",
)
def dedup_merge(
    context: dg.OpExecutionContext,
    settings: CredenceSettings,
    settled_mentions: list[pl.LazyFrame],
    settled_events: list[pl.LazyFrame],
    components: list[pl.LazyFrame],
    sources: list[pl.LazyFrame],
    masks: list[pl.LazyFrame],
    articles: pl.LazyFrame,
):
    parts = [PartFrames(*frames) for frames in zip(settled_mentions, settled_events, components, sources, masks)]
    outcomes: list[dict[str, CheckOutcome]] = []

    def check(_: int, events: pl.DataFrame, mentions: pl.DataFrame) -> None:
        # Every events check is per event or per mention, and a partition holds all the mentions
        # of its events, so checking each partition checks the table (event ids are checked
        # unique across partitions by merge_parts).
        tables = {"events": events, "mentions": mentions, "articles": articles_of(mentions, articles, with_text=False)}
        outcomes.append(run_checks(tables, {"events"}))

    scratch = settings.work_path / SCALE_WORK / context.run_id / "dedup_merge"
    merged = merge_dedup(
        parts, outputs=settings.outputs_path, cache_root=settings.cache_path, scratch=scratch, check=check
    )
    _fail_on_checks(context, _combine_outcomes(outcomes))
    context.log.info(f"{merged.n_mentions} mentions in {len(parts)} partitions -> {merged.n_events} events")
    # events, mentions and the registry are SortedPieces: written a key range at a time by the IO
    # manager, never whole here.
    return merged.events, merged.mentions, merged.registry, merged.lineage


@dg.op(
    description="Publishes the release (as the release_manifest asset), verifies its checksums and "
    "rewrites the download page (as the download_page asset)."
)
def publish_op(
    context: dg.OpExecutionContext,
    settings: CredenceSettings,
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    quarantine: pl.DataFrame,
    event_id_registry: pl.DataFrame,
    event_lineage: pl.DataFrame,
) -> None:
    outcome = publish_release(
        settings.outputs_path,
        events=events,
        mentions=mentions,
        articles=articles,
        quarantine=quarantine,
        registry=event_id_registry,
        lineage=event_lineage,
        raw_dir=settings.raw_path,
        extractor_fingerprint=extractor_fingerprint(),
        allow_shrink=settings.allow_shrink,
    )
    _fail_on_checks(context, {"release_checksums_verify": release_verifies(settings.outputs_path)})
    context.log.info(("published " if outcome.published else "unchanged, kept ") + outcome.version)
    site = build_site(settings.outputs_path)
    for problem in site.problems:
        context.log.warning(problem)
    context.add_output_metadata(
        {
            "version": outcome.version,
            "published_new_version": outcome.published,
            "path": dg.MetadataValue.path(str(outcome.path)),
            "download_page": dg.MetadataValue.path(str(site.path)),
        }
    )
    # The run published: its intermediate tables are no longer needed for a re-execution.
    shutil.rmtree(settings.work_path / SCALE_WORK / context.run_id, ignore_errors=True)


@dg.graph(
    description="Ingest, extract per content-hash bucket, validate, deduplicate per identity partition, merge "
    "and publish."
)
def partitioned_build():
    articles, ingest_quarantine = ingest_op()
    mentions, skipped = partition_articles(articles).map(extract_partition)
    valid_mentions, quarantine = validate_op(mentions.collect(), skipped.collect(), articles, ingest_quarantine)
    settled_mentions, settled_events, components, sources, masks = partition_mentions(valid_mentions, articles).map(
        lambda part: dedup_partition(part, articles)
    )
    events, mentions, registry, lineage = dedup_merge(
        settled_mentions.collect(),
        settled_events.collect(),
        components.collect(),
        sources.collect(),
        masks.collect(),
        articles,
    )
    publish_op(events, mentions, articles, quarantine, registry, lineage)


# The cluster profile's Celery broker and result backend (Redis URLs; `make cluster-up` writes them
# into <cluster>/cluster.env, a managed deployment sets them itself). Read from the environment by
# the executor here and by the workers (pipeline/scale/celery_app.py) alike, so the two always name
# the same broker and no password lands in a run's config in the instance.
BROKER_ENV = "CREDENCE_CELERY_BROKER"
BACKEND_ENV = "CREDENCE_CELERY_BACKEND"
EXECUTORS = ("multiprocess", "celery")


def celery_executor_def() -> dg.ExecutorDefinition:
    """dagster-celery's executor on the cluster's broker: each step is a Celery task that a worker
    process runs (``execute_plan``), reconstructing this job from its module and arguments and
    reporting to the run's instance, which must therefore be one every worker reaches (Postgres)."""
    from dagster_celery import celery_executor  # the cluster extra (make setup-cluster)

    return celery_executor.configured(
        {"broker": {"env": BROKER_ENV}, "backend": {"env": BACKEND_ENV}}, name="celery_redis"
    )


def partitioned_job(
    raw_dir: str | None = None,
    outputs_dir: str | None = None,
    gold_file: str | None = None,
    max_concurrent: int | None = None,
    executor: str = "multiprocess",
) -> dg.JobDefinition:
    """The job with its folders bound; by default from CREDENCE_RAW_DIR / CREDENCE_OUTPUTS_DIR, as
    every other entry point. Used with ``dg.build_reconstructable_job`` to run it with other folders
    (the multiprocess executor re-creates the job in each step's process from these arguments, a
    Celery worker in its own process from the same arguments).

    ``executor``: "multiprocess" (this machine, one process per step) or "celery" (the cluster
    profile: steps go to Celery workers through the broker of CREDENCE_CELERY_BROKER; docs/scaling.md).
    Only the executor differs: graph, resources, IO manager and stage functions are the same."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: one of {', '.join(EXECUTORS)}")
    env = CredenceSettings.from_env()
    settings = CredenceSettings(
        raw_dir=raw_dir or env.raw_dir,
        outputs_dir=outputs_dir or env.outputs_dir,
        gold_file=env.gold_file if gold_file is None else gold_file,
        extract_workers=1,
        # Its steps run in processes of their own: python -m pipeline.scale holds the build lock
        # around the whole job, and its tables are in a folder of its own run.
        hold_build_lock=False,
    )
    # forkserver with the stage modules preloaded: each step forks a process that has already
    # imported Dagster, polars and the pipeline, instead of spawning an interpreter that imports
    # them again (seconds per step, more than a bucket's extraction on a small corpus).
    if executor == "celery":
        # How many steps run at once is the workers' business (their number and concurrency).
        executor_def = celery_executor_def()
    else:
        executor_config = {"start_method": {"forkserver": {"preload_modules": list(PRELOAD)}}}
        if max_concurrent:
            executor_config["max_concurrent"] = max_concurrent
        executor_def = dg.multiprocess_executor.configured(executor_config, name="multiprocess_forkserver")
    return partitioned_build.to_job(
        name="build_release_partitioned",
        description="The build_release job with extraction fanned out over content-hash buckets of the "
        "articles (one step each, run config ops.partition_articles.config.buckets, default "
        f"{DEFAULT_BUCKETS}); validation, dedup and release read every bucket. Publishes the "
        "same release as build_release.",
        resource_defs={"settings": settings, "scale_io": partition_io_manager},
        executor_def=executor_def,
        tags={BUILD_TAG: "release"},  # the instance admits one build at a time (pipeline/instance_home.py)
    )


build_release_partitioned = partitioned_job()
