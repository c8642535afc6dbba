"""The release stage: the tables of a build -> a versioned, checksummed release folder.

:func:`publish_release` is what the Dagster asset and the scale-out job both call; publish.py
writes the folder atomically, datacard.py renders the documents, site.py the download page.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import polars as pl

from pipeline.release.datacard import render_extras, start_timeline
from pipeline.release.provenance import code_version, inputs_sha256
from pipeline.release.publish import Provenance, ReleaseOutcome, ReleaseTables, write_release
from schemas.models import Article, conform


def publish_release(
    outputs: Path,
    *,
    events: pl.DataFrame,
    mentions: pl.DataFrame,
    articles: pl.DataFrame,
    quarantine: pl.DataFrame,
    registry: pl.DataFrame,
    lineage: pl.DataFrame,
    raw_dir: Path,
    extractor_fingerprint: str,
    today: dt.date | None = None,
    allow_shrink: bool = False,
) -> ReleaseOutcome:
    """Publish the stage outputs as a new release in ``outputs`` unless the data is unchanged.
    ``extractor_fingerprint`` (what produced the mentions) goes into the manifest's provenance.
    ``allow_shrink`` publishes even a release that drops most of the previous one's articles."""
    # The timeline chart (~1.4 s of matplotlib, import included) is drawn in a thread from now on,
    # while the tables are conformed, fingerprinted and written.
    timeline = start_timeline(events)
    return write_release(
        outputs,
        ReleaseTables(events, mentions, conform(articles, Article), quarantine, registry, lineage),
        Provenance(code_version(), extractor_fingerprint, inputs_sha256(articles, quarantine), str(raw_dir)),
        today=today or dt.datetime.now(dt.UTC).date(),
        render_extras=functools.partial(render_extras, timeline=timeline),
        allow_shrink=allow_shrink,
    )
