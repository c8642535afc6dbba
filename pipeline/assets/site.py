"""The download page asset (its checks are in pipeline/checks.py).

``download_page`` (re)writes outputs/index.html after every release build, published or not, so the
page always lists exactly the release folders on disk (pipeline/release/site.py).

No ``from __future__ import annotations`` here: Dagster 1.13 compares the ``context`` annotation
with the AssetExecutionContext class itself and rejects the string a postponed annotation leaves.
"""

import dagster as dg

from pipeline.automation import RELEASE_FRESHNESS
from pipeline.metadata import markdown_preview
from pipeline.release.site import build_site
from pipeline.resources import CredenceSettings


@dg.asset(
    group_name="release",
    deps=["release_manifest"],
    kinds={"html"},
    freshness_policy=RELEASE_FRESHNESS,
    description="The static download page outputs/index.html: every release newest first with links to "
    "its files (relative paths), sizes, sha256, row counts and change summary, the data card, "
    "a timeline chart of events by month and country and a preview of the newest events. "
    "Generated from the releases' release_manifest.json files and replaced atomically; "
    "`make serve` serves it on 127.0.0.1:8000.",
)
def download_page(context: dg.AssetExecutionContext, settings: CredenceSettings) -> dg.MaterializeResult:
    result = build_site(settings.outputs_path)
    for problem in result.problems:
        context.log.warning(problem)
    context.log.info(f"wrote {result.path} listing {len(result.versions)} releases")
    meta = {
        "path": dg.MetadataValue.path(str(result.path)),
        "url": dg.MetadataValue.url(result.path.as_uri()),
        "serve": "make serve, then http://127.0.0.1:8000/",
        "latest_version": result.latest or "none",
        "releases_listed": len(result.versions),
        "versions": ", ".join(result.versions),
        "problems": "; ".join(result.problems) or "none",
    }
    if result.timeline:
        meta["timeline"] = dg.MetadataValue.path(str(settings.outputs_path / result.timeline))
    if result.preview is not None:
        meta["preview"] = dg.MetadataValue.md(markdown_preview(result.preview, n=15))
    return dg.MaterializeResult(metadata=meta)
