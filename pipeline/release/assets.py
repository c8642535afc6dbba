"""Release asset: publishes the versioned files (Parquet, CSV, datapackage, checksums, data card)."""

import datetime as dt
import functools

import dagster as dg
import polars as pl

from pipeline.automation import RELEASE_FRESHNESS
from pipeline.extract.extractor import dictionaries_fingerprint
from pipeline.release.datacard import render_extras, start_timeline
from pipeline.release.provenance import code_version, inputs_sha256
from pipeline.release.publish import Provenance, ReleaseOutcome, ReleaseTables, publish_release
from pipeline.releases import read_latest, releases_dir, verify_release
from pipeline.resources import CredenceSettings
from pipeline.validate.assets import public_articles


def publish_tables(
    settings: CredenceSettings,
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    quarantine: pl.DataFrame,
    registry: pl.DataFrame,
    lineage: pl.DataFrame,
) -> ReleaseOutcome:
    """Publish the stage outputs as a release (shared by the asset graph and the scale-out job)."""
    # The timeline chart (~1.4 s of matplotlib, import included) is drawn in a thread from now on,
    # while the tables are conformed, fingerprinted and written.
    timeline = start_timeline(events)
    return publish_release(
        settings.outputs_path,
        ReleaseTables(events, mentions, public_articles(articles), quarantine, registry, lineage),
        Provenance(
            code_version(), dictionaries_fingerprint(), inputs_sha256(articles, quarantine), str(settings.raw_path)
        ),
        today=dt.datetime.now(dt.UTC).date(),
        render_extras=functools.partial(render_extras, timeline=timeline),
    )


@dg.asset(
    group_name="release",
    kinds={"parquet", "csv"},
    freshness_policy=RELEASE_FRESHNESS,
    description="The published release in `outputs/releases/<version>/`: events, mentions, articles, quarantine "
    "and changes as Parquet and CSV, datapackage.json, SHA256SUMS, README.md data card, "
    "CHANGELOG.md, CITATION.cff. Written to a temporary folder and renamed into place; "
    "unchanged data publishes no new version.",
)
def release_manifest(
    context: dg.AssetExecutionContext,
    settings: CredenceSettings,
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    quarantine: pl.DataFrame,
    event_id_registry: pl.DataFrame,
    event_lineage: pl.DataFrame,
) -> dg.MaterializeResult:
    outcome = publish_tables(settings, events, mentions, articles, quarantine, event_id_registry, event_lineage)
    m = outcome.manifest
    files_md = "| file | bytes | sha256 | rows |\n|---|---|---|---|\n" + "\n".join(
        f"| [{name}]({outcome.path / name}) | {f['bytes']} | `{f['sha256']}` | {f.get('rows', '')} |"
        for name, f in sorted(m.get("files", {}).items())
    )
    context.log.info(("published " if outcome.published else "unchanged, kept ") + outcome.version)
    return dg.MaterializeResult(
        metadata={
            "version": outcome.version,
            "published_new_version": outcome.published,
            "path": dg.MetadataValue.path(str(outcome.path)),
            "previous_version": str(m.get("previous_version")),
            "files": dg.MetadataValue.md(files_md),
            "changes": dg.MetadataValue.json(m.get("change_counts", {})),
            "counts": dg.MetadataValue.json(m.get("counts", {})),
            "download_page": dg.MetadataValue.path(str(settings.outputs_path / "index.html")),
            "dagster/row_count": m.get("counts", {}).get("events", 0),
        }
    )


@dg.asset_check(asset=release_manifest, blocking=True, description="The newest release's files match SHA256SUMS.")
def release_checksums_verify(settings: CredenceSettings) -> dg.AssetCheckResult:
    latest = read_latest(settings.outputs_path)
    if latest is None:
        return dg.AssetCheckResult(passed=False, metadata={"error": "no LATEST release"})
    problems = verify_release(releases_dir(settings.outputs_path) / latest)
    return dg.AssetCheckResult(
        passed=not problems, metadata={"version": latest, "problems": "; ".join(problems) or "none"}
    )
