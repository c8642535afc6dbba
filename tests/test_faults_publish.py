"""Publishing guards of issue 18: a release's tables must agree (item 1) and a release may not
silently drop most of the previous one (item 5). Runs the release writer on a seeds build's tables."""

from __future__ import annotations

import shutil

import dagster as dg
import polars as pl
import pytest

from pipeline.definitions import defs
from pipeline.release.stage import publish_release
from pipeline.releases import list_versions, read_latest, releases_dir
from pipeline.resources import CredenceSettings, ParquetIOManager


@pytest.fixture(scope="module")
def seeds_tables(tmp_path_factory):
    """The tables a seeds build hands to the release step (from its .work folder)."""
    from tests.conftest import SEEDS

    root = tmp_path_factory.mktemp("publish")
    raw, out = root / "raw", root / "outputs"
    shutil.copytree(SEEDS, raw)
    settings = CredenceSettings(raw_dir=str(raw), outputs_dir=str(out), gold_file="", extract_workers=1)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("build_release").execute_in_process(
            instance=instance, resources={"settings": settings, "parquet_io": ParquetIOManager(settings=settings)}
        )
    assert result.success
    work = out / ".work"
    names = ("events", "mentions", "articles", "quarantine", "event_id_registry", "event_lineage")
    return {name: pl.read_parquet(work / f"{name}.parquet") for name in names}, raw


def publish(out, tables, raw, **kw):
    return publish_release(
        out,
        events=tables["events"],
        mentions=tables["mentions"],
        articles=tables["articles"],
        quarantine=tables["quarantine"],
        registry=tables["event_id_registry"],
        lineage=tables["event_lineage"],
        raw_dir=raw,
        extractor_fingerprint="f" * 64,
        **kw,
    )


def test_tables_of_two_builds_are_never_published_together(tmp_path, seeds_tables):
    """Item 1. Another build's `articles` beside this build's events and mentions (what two builds
    sharing .work/ handed to the release step): the writer refuses, and publishes nothing."""
    tables, raw = seeds_tables
    other = dict(tables)
    other["articles"] = tables["articles"].head(2)  # a different corpus's articles
    with pytest.raises(Exception) as err:
        publish(tmp_path, other, raw)
    assert type(err.value).__name__ == "UserError", err.value
    assert "events name" in err.value.what and "mentions name articles" in err.value.what
    assert list_versions(tmp_path) == [] and read_latest(tmp_path) is None
    assert not [p for p in releases_dir(tmp_path).iterdir() if p.name != ".release.lock"]
    # The same build's own tables publish.
    assert publish(tmp_path, tables, raw).published


def test_mentions_of_missing_events_are_refused(tmp_path, seeds_tables):
    tables, raw = seeds_tables
    other = dict(tables)
    other["events"] = tables["events"].tail(3)
    with pytest.raises(Exception, match="mentions name events"):
        publish(tmp_path, other, raw)


def test_a_release_dropping_most_articles_needs_allow_shrink(tmp_path, seeds_tables):
    """Item 5. After a release of 5 articles, one of none (an empty raw folder) is refused with a
    message that says how to publish it anyway; with allow_shrink it is published."""
    tables, raw = seeds_tables
    first = publish(tmp_path, tables, raw)
    empty = {name: frame.clear() for name, frame in tables.items()}
    with pytest.raises(Exception) as err:
        publish(tmp_path, empty, raw)
    assert type(err.value).__name__ == "UserError", err.value
    assert "drop 5 of the 5 articles" in err.value.what and "--allow-shrink" in err.value.todo
    assert read_latest(tmp_path) == first.version and list_versions(tmp_path) == [first.version]
    outcome = publish(tmp_path, empty, raw, allow_shrink=True)
    assert outcome.published and read_latest(tmp_path) == outcome.version


def test_dropping_less_than_half_is_published(tmp_path, seeds_tables):
    tables, raw = seeds_tables
    publish(tmp_path, tables, raw)
    dropped = tables["articles"]["article_id"][0]
    fewer = dict(tables)
    fewer["articles"] = tables["articles"].filter(pl.col("article_id") != dropped)
    fewer["mentions"] = tables["mentions"].filter(pl.col("article_id") != dropped)
    keep = fewer["mentions"]["event_id"].unique().implode()
    fewer["events"] = (
        tables["events"]
        .filter(pl.col("event_id").is_in(keep))
        .with_columns(pl.col("article_ids").list.filter(pl.element() != dropped))
    )
    assert publish(tmp_path, fewer, raw).published
