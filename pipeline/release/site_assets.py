"""The download page asset and the release's quality checks that read the published folder.

``download_page`` (re)writes outputs/index.html after every release build, published or not, so the
page always lists exactly the release folders on disk. Its check verifies that every link on the
page resolves and that the sha256 shown for each file is the one in its release's SHA256SUMS.
``release_extraction_quality`` scores the newest release against the configured gold file (WARN:
a drop in quality is reported, the release is not blocked).

No ``from __future__ import annotations`` here: Dagster 1.13 compares the ``context`` annotation
with the AssetExecutionContext class itself and rejects the string a postponed annotation leaves.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

import dagster as dg

from pipeline.automation import RELEASE_FRESHNESS
from pipeline.metadata import markdown_preview
from pipeline.release.site import INDEX, build_site, load_releases, page_links
from pipeline.releases import read_latest, releases_dir
from pipeline.resources import CredenceSettings
from pipeline.runtime import gc_paused
from pipeline.storage import read_sha256sums

# Wrong rows listed in the check's report (stored in the event log on every build).
CHECK_REPORT_ROWS = 50


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


def page_link_problems(outputs: Path) -> tuple[int, list[str]]:
    """(links checked, problems): every relative link of index.html must name a file under outputs/,
    and the sha256 printed beside each release file must be the one in that release's SHA256SUMS."""
    index = outputs / INDEX
    if not index.is_file():
        return 0, [f"{index} does not exist"]
    page = index.read_text(encoding="utf-8")
    problems, checked = [], 0
    root = outputs.resolve()
    for link in page_links(page):
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith("#"):
            continue  # the page has no external links today; an anchor needs no file
        checked += 1
        target = (outputs / unquote(parts.path)).resolve()
        if not target.is_relative_to(root):
            problems.append(f"{link}: points outside the outputs folder")
        elif not target.is_file():
            problems.append(f"{link}: no such file")
    entries, _ = load_releases(outputs)
    for entry in entries:
        sums, _ = read_sha256sums(releases_dir(outputs) / entry.version)
        for f in entry.files:
            if f["name"] in sums and sums[f["name"]] != f["sha256"]:
                problems.append(
                    f"{entry.version}/{f['name']}: page shows {f['sha256'][:12]}…, SHA256SUMS has "
                    f"{sums[f['name']][:12]}…"
                )
            if f["sha256"] and f["sha256"] not in page:
                problems.append(f"{entry.version}/{f['name']}: sha256 not shown on the page")
    return checked, problems


@dg.asset_check(
    asset=download_page,
    description="Every link on the download page resolves to a file, "
    "and each sha256 shown matches the release's SHA256SUMS.",
)
def download_page_links_resolve(settings: CredenceSettings) -> dg.AssetCheckResult:
    checked, problems = page_link_problems(settings.outputs_path)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "links_checked": checked,
            "problems": len(problems),
            "sample": "; ".join(problems[:5]) or "none",
        },
    )


@dg.asset_check(
    asset="release_manifest",
    description="Extraction quality of the newest release against the configured gold file "
    "(settings.gold_file; empty disables): precision >= 0.90, recall >= 0.93, no date errors. "
    "WARN severity: reported, never blocks a release.",
)
def release_extraction_quality(settings: CredenceSettings) -> dg.AssetCheckResult:
    from pipeline.evaluate.score import evaluation_check_result, score_release

    warn = dg.AssetCheckSeverity.WARN
    if not settings.gold_file:
        return dg.AssetCheckResult(passed=True, severity=warn, metadata={"gold_file": "(none: check disabled)"})
    gold = Path(settings.gold_file)
    if not gold.is_file():
        return dg.AssetCheckResult(
            passed=False, severity=warn, metadata={"gold_file": str(gold), "error": "gold file not found"}
        )
    latest = read_latest(settings.outputs_path)
    if latest is None:
        return dg.AssetCheckResult(passed=False, severity=warn, metadata={"error": "no LATEST release to score"})
    with gc_paused():  # scoring and the report allocate many small objects
        try:
            report = score_release(releases_dir(settings.outputs_path) / latest, gold)
        except ValueError as err:  # GoldFormatError and ReleaseFormatError are ValueErrors with a clear message
            return dg.AssetCheckResult(
                passed=False, severity=warn, metadata={"gold_file": str(gold), "error": str(err)}
            )
        passed, metadata = evaluation_check_result(report)
        markdown = report.to_markdown(max_rows=CHECK_REPORT_ROWS)
    return dg.AssetCheckResult(
        passed=passed,
        severity=warn,
        metadata={
            **metadata,
            "report": dg.MetadataValue.md(markdown),
        },
    )
