"""The asset checks. Blocking table checks come from one factory over the validate stage's check
registry (pipeline/validate/checks.py: ``CHECKS``, after PUDL's ``asset_check_from_schema``): the
scale-out job runs the same entries on its tables, so both paths are guarded by the same code. The
release checks read the published folder: its checksums (blocking), the download page's links, and
the extraction quality against a gold file (WARN).

No ``from __future__ import annotations`` here: Dagster reads the check functions' annotations.
"""

import inspect

import dagster as dg

from pipeline.release.site import page_link_problems
from pipeline.releases import read_latest, releases_dir
from pipeline.resources import CredenceSettings
from pipeline.runtime import gc_paused
from pipeline.validate.checks import CHECKS, CheckOutcome, TableCheck, release_verifies

# Wrong rows listed in the quality check's report (stored in the event log on every build).
CHECK_REPORT_ROWS = 50


def check_result(outcome: CheckOutcome, blocking: bool = True) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(passed=outcome.passed, metadata=outcome.metadata, severity=severity)


def asset_check_from_registry(check: TableCheck) -> dg.AssetChecksDefinition:
    """An asset check on ``check.table`` that runs ``check.fn``, blocking unless the entry is a
    warning (then severity WARN). Its parameters are the plain function's (the guarded table first,
    then ``check.needs`` by name), so Dagster loads exactly the tables the function reads."""

    params = list(inspect.signature(check.fn).parameters.values())
    names = [params[0].name, *check.needs]  # Dagster passes the tables by these names
    if len(params) != len(names):
        raise ValueError(
            f"check {check.name}: {check.fn.__name__} takes {len(params)} tables, the registry names {names}"
        )

    def run(**tables) -> dg.AssetCheckResult:
        return check_result(check.fn(*(tables[name] for name in names)), check.blocking)

    run.__name__ = run.__qualname__ = check.name
    run.__doc__ = check.fn.__doc__
    run.__signature__ = inspect.Signature(
        [p.replace(name=name, annotation=inspect.Parameter.empty) for p, name in zip(params, names)]
    )
    return dg.asset_check(
        asset=check.table,
        name=check.name,
        blocking=check.blocking,
        description=check.description,
        additional_ins={name: dg.AssetIn(name) for name in check.needs},
    )(run)


TABLE_CHECKS = [asset_check_from_registry(check) for check in CHECKS]


@dg.asset_check(asset="release_manifest", blocking=True, description="The newest release's files match SHA256SUMS.")
def release_checksums_verify(settings: CredenceSettings) -> dg.AssetCheckResult:
    return check_result(release_verifies(settings.outputs_path))


@dg.asset_check(
    asset="download_page",
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
    description="Extraction quality of the newest release, scored only on the articles the configured "
    "gold file(s) cover (settings.gold_file: paths joined by ':'; empty disables): precision >= 0.90, "
    "recall >= 0.93, no date errors. The report says which articles and events were scored; a release "
    "the gold covers nowhere warns that nothing was measured. WARN severity: never blocks a release.",
)
def release_extraction_quality(settings: CredenceSettings) -> dg.AssetCheckResult:
    from pipeline.evaluate.coverage import gold_paths, score_covered
    from pipeline.evaluate.score import evaluation_check_result

    warn = dg.AssetCheckSeverity.WARN
    paths = gold_paths(settings.gold_file)
    if not paths:
        return dg.AssetCheckResult(passed=True, severity=warn, metadata={"gold_file": "(none: check disabled)"})
    latest = read_latest(settings.outputs_path)
    if latest is None:
        return dg.AssetCheckResult(passed=False, severity=warn, metadata={"error": "no LATEST release to score"})
    gold_files = ", ".join(map(str, paths))
    with gc_paused():  # scoring and the report allocate many small objects
        try:
            covered = score_covered(releases_dir(settings.outputs_path) / latest, paths)
        except ValueError as err:  # GoldFormatError and ReleaseFormatError are ValueErrors with a clear message
            return dg.AssetCheckResult(
                passed=False, severity=warn, metadata={"gold_file": gold_files, "error": str(err)}
            )
        scope = {
            "gold_file": gold_files,
            "scope": covered.describe(),
            "scored_articles": len(covered.scored_files),
            "release_articles": covered.n_articles,
            "scored_events": covered.n_events_scored,
            "release_events": covered.n_events,
            "scored_mentions": covered.n_mentions_scored,
            "scored_gold_events": f"{covered.n_gold_scored}/{covered.n_gold}",
            "scored_files": dg.MetadataValue.md(
                "\n".join(f"- `{f}`" for f in covered.scored_files[:CHECK_REPORT_ROWS]) or "(none)"
            ),
        }
        if covered.report is None:
            # Not a pass: nothing was measured, and a green check would say the opposite.
            return dg.AssetCheckResult(passed=False, severity=warn, metadata={**scope, "result": "not measured"})
        passed, metadata = evaluation_check_result(covered.report)
        markdown = covered.describe() + "\n\n" + covered.report.to_markdown(max_rows=CHECK_REPORT_ROWS)
    return dg.AssetCheckResult(
        passed=passed,
        severity=warn,
        metadata={**metadata, **scope, "report": dg.MetadataValue.md(markdown)},
    )


ASSET_CHECKS = [*TABLE_CHECKS, release_checksums_verify, download_page_links_resolve, release_extraction_quality]
