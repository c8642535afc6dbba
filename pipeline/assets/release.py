"""Release asset: publishes the versioned files (Parquet, CSV, datapackage, checksums, data card) through
pipeline/release/stage.py. Its checks are in pipeline/checks.py."""

import dagster as dg
import polars as pl

from pipeline.automation import RELEASE_FRESHNESS
from pipeline.extract.stage import extractor_fingerprint
from pipeline.release.stage import publish_release
from pipeline.resources import CredenceSettings


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
