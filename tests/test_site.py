"""The download page (pipeline.release.site), its asset and checks, and the timeline chart.

Releases are written by the real release writer (write_release + the data card renderers) from
small hand-made event tables, so the page is tested on the manifest format it reads in production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipeline.release.chart import (
    core_years,
    country_month_counts,
    country_period_counts,
    timeline_png,
)
from pipeline.release.datacard import render_extras
from pipeline.release.publish import Provenance, ReleaseTables, write_release
from pipeline.release.site import INDEX, build_site, newest_events, page_link_problems, page_links
from pipeline.releases import read_latest, releases_dir
from schemas.models import Article, Event, Mention, Quarantine, conform, empty_frame

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ARTICLE = "a" + "0" * 16


def event_row(key: str, start: str | None, actor: str = "USA", target: str | None = "IRN", **over) -> dict:
    eid = "E" + hashlib.sha256(key.encode()).hexdigest()[:12]
    d = dt.date.fromisoformat(start) if start else None
    row = {
        "event_id": eid,
        "event_type": "meet",
        "modality": "asserted",
        "actor_name": actor,
        "actor_country": actor,
        "actor_sector": "GOV",
        "target_name": target,
        "target_country": target,
        "target_sector": "GOV" if target else None,
        "date_start": d,
        "date_end": d,
        "date_precision": "day" if d else "unknown",
        "date_basis": "explicit" if d else "none",
        "n_mentions": 1,
        "n_articles": 1,
        "n_sources": 1,
        "article_ids": [ARTICLE],
        "mention_ids": ["m" + hashlib.sha256(key.encode()).hexdigest()[:16]],
        "first_published_at": d,
        "cameo_code": "040",
        "plover_type": "CONSULT",
        "quad_class": 1,
        "confidence": 0.8,
        "has_conflict": False,
        "summary": f"{actor} met {target} <b>{key}</b>",
        "quote": f"Quote for {key} | with a pipe.",
        "outlets": [],
        "conflict_fields": [],
    }
    row.update(over)
    return row


def publish(outputs: Path, rows: list[dict], today: str) -> str:
    events = conform(pl.DataFrame(rows), Event)
    quarantine = conform(
        pl.DataFrame(
            [
                {
                    "source_file": "empty.txt",
                    "line": None,
                    "stage": "ingest",
                    "reason_code": "empty_file",
                    "reason": "The file is empty.",
                    "record_id": None,
                    "duplicate_of": None,
                    "detail": None,
                }
            ]
        ),
        Quarantine,
    )
    registry = pl.DataFrame({"mention_id": [], "event_id": []}, schema={"mention_id": pl.String, "event_id": pl.String})
    outcome = write_release(
        outputs,
        # The one article every event names: a release's tables must agree (publishing checks it).
        ReleaseTables(
            events,
            empty_frame(Mention),
            conform(
                pl.DataFrame(
                    {
                        "article_id": [ARTICLE],
                        "source_file": ["a.txt"],
                        "title": ["A title"],
                        "published_basis": ["unknown"],
                        "language": ["en"],
                        "n_chars": [100],
                        "sha256": ["0" * 64],
                    }
                ),
                Article,
            ),
            quarantine,
            registry,
            None,
        ),
        Provenance("test", "dict", "inputs", "raw"),
        today=dt.date.fromisoformat(today),
        render_extras=render_extras,
    )
    assert outcome.published
    return outcome.version


@pytest.fixture
def two_releases(tmp_path: Path) -> Path:
    out = tmp_path / "outputs"
    publish(out, [event_row("a", "2024-01-05"), event_row("b", "2024-03-02", "RUS", "CHN")], "2026-01-01")
    publish(
        out,
        [
            event_row("a", "2024-01-05"),
            event_row("b", "2024-03-02", "RUS", "CHN"),
            event_row("c", "2024-06-30", "FRA", "DEU"),
            event_row("d", None, "GBR", None),
        ],
        "2026-01-02",
    )
    return out


def test_page_lists_releases_newest_first_with_files_sizes_hashes_and_rows(two_releases: Path):
    result = build_site(two_releases)
    page = (two_releases / INDEX).read_text(encoding="utf-8")
    assert result.versions == ["2026.01.02", "2026.01.01"]
    assert page.index('id="release-2026.01.02"') < page.index('id="release-2026.01.01"')
    assert '<strong id="latest">2026.01.02</strong>' in page
    for version in result.versions:
        manifest = json.loads((releases_dir(two_releases) / version / "release_manifest.json").read_text())
        for name, info in manifest["files"].items():
            assert f'href="releases/{version}/{name}"' in page
            assert info["sha256"] in page
        assert f'href="releases/{version}/SHA256SUMS"' in page
    # Row counts of the newest release's events table, and its change summary against the previous one.
    assert '<td class="num">4</td>' in page
    assert "since 2026.01.01: 2 added" in page
    assert "first release: 2 added" in page


def test_every_link_resolves_and_hashes_match_sha256sums(two_releases: Path):
    build_site(two_releases)
    checked, problems = page_link_problems(two_releases)
    assert problems == []
    assert checked > 20


def test_link_check_catches_a_missing_file_and_a_wrong_hash(two_releases: Path):
    build_site(two_releases)
    folder = releases_dir(two_releases) / "2026.01.01"
    (folder / "events.csv").unlink()
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    lines = ["0" * 64 + "  CITATION.cff" if line.endswith("  CITATION.cff") else line for line in lines]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    _, problems = page_link_problems(two_releases)
    assert any("releases/2026.01.01/events.csv: no such file" in p for p in problems)
    assert any("CITATION.cff: page shows" in p for p in problems)


def test_page_escapes_data_and_shows_newest_events_and_timeline(two_releases: Path):
    result = build_site(two_releases)
    page = (two_releases / INDEX).read_text(encoding="utf-8")
    assert "<b>c</b>" not in page and "&lt;b&gt;c&lt;/b&gt;" in page
    assert result.timeline == "releases/2026.01.02/timeline.png"
    assert f'src="{result.timeline}"' in page
    assert (two_releases / result.timeline).read_bytes().startswith(PNG_MAGIC)
    # Newest first by date, undated last.
    assert result.preview["event_id"].to_list()[0] == event_row("c", "2024-06-30")["event_id"]
    assert result.preview["event_id"].to_list()[-1] == event_row("d", None)["event_id"]
    # The data card is rendered (its title becomes a heading), not dumped as text.
    assert "<h1>Credence diplomatic events, release 2026.01.02</h1>" in page


def test_all_links_are_relative_and_inside_outputs_but_the_local_explorer(two_releases: Path, monkeypatch):
    monkeypatch.setenv("CREDENCE_EXPLORE_PORT", "8123")
    build_site(two_releases)
    links = page_links((two_releases / INDEX).read_text(encoding="utf-8"))
    absolute = [link for link in links if link.startswith(("/", "http:", "https:", "file:"))]
    # The only absolute link: the explorer (make explore) on 127.0.0.1, on the configured port.
    assert absolute == ["http://127.0.0.1:8123/credence"]
    assert "releases/2026.01.02/credence.sqlite" in links


def test_page_without_releases_says_so(tmp_path: Path):
    result = build_site(tmp_path)
    assert result.versions == [] and result.latest is None
    assert "No release has been published yet" in (tmp_path / INDEX).read_text(encoding="utf-8")


def test_page_is_replaced_atomically_without_leftovers(two_releases: Path):
    (two_releases / INDEX).write_text("old page")
    build_site(two_releases)
    assert (two_releases / INDEX).read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in two_releases.iterdir() if p.name.endswith(".tmp")] == []


def test_release_without_timeline_gets_one_rendered_beside_the_page(two_releases: Path):
    latest = read_latest(two_releases)
    (releases_dir(two_releases) / latest / "timeline.png").unlink()
    manifest_path = releases_dir(two_releases) / latest / "release_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]["timeline.png"]
    manifest_path.write_text(json.dumps(manifest))
    result = build_site(two_releases)
    assert result.timeline == f"site/timeline-{latest}.png"
    assert (two_releases / result.timeline).read_bytes().startswith(PNG_MAGIC)


def test_unreadable_manifest_is_reported_not_fatal(two_releases: Path):
    (releases_dir(two_releases) / "2026.01.01" / "release_manifest.json").write_text("{not json")
    result = build_site(two_releases)
    assert result.versions == ["2026.01.02"]
    assert any("2026.01.01: manifest unreadable" in p for p in result.problems)


def test_newest_events_orders_by_date_then_id():
    df = conform(
        pl.DataFrame([event_row("x", "2024-01-01"), event_row("y", "2025-01-01"), event_row("z", None)]), Event
    )
    assert newest_events(df)["event_id"].to_list() == [event_row(k, None)["event_id"] for k in ("y", "x", "z")]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">II", data[16:24])


def test_timeline_counts_each_event_once_by_actor_country_and_is_deterministic():
    df = conform(
        pl.DataFrame(
            [
                event_row("a", "2024-01-05", "USA", "IRN"),
                event_row("b", "2024-01-20", "USA", "USA"),
                event_row("c", "2024-03-02", "RUS", None),
                event_row("d", None, "GBR", None, first_published_at=None),
            ]
        ),
        Event,
    )
    counts, not_shown = country_month_counts(df)
    assert not_shown == 1
    got = {(m.isoformat(), c): n for m, c, n in counts.iter_rows()}
    assert got == {("2024-01-01", "USA"): 2, ("2024-03-01", "RUS"): 1}
    png = timeline_png(df)
    assert png == timeline_png(df)
    assert _png_size(png) == (1000, 420)
    assert timeline_png(df.head(0)).startswith(PNG_MAGIC)


def test_timeline_pools_countries_beyond_the_top_ones():
    codes = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ", "KKK", "LLL"]
    rows = [event_row(f"k{i}", "2024-01-01", code, None) for i, code in enumerate(codes)]
    df = conform(pl.DataFrame(rows), Event)
    counts, _ = country_month_counts(df, top=3)
    assert set(counts["country"].to_list()) == set(sorted(df["actor_country"].to_list())[:3]) | {"other"}
    assert counts["events"].sum() == 12


def test_timeline_leaves_out_open_and_unknown_dates_and_says_so():
    """Issue 17: events with only a lower bound were drawn at that bound (the seeds' "2021" bar held
    five events of 2023-2025). Only events with both ends and a precision are placed."""
    lower_only = event_row("lower", "2021-08-15", date_end=None, date_precision="year")
    unknown = event_row("unknown", "2021-08-15", date_precision="unknown")
    dated = [event_row(f"d{i}", f"2024-0{i + 1}-10") for i in range(3)]
    df = conform(pl.DataFrame([lower_only, unknown, *dated]), Event)
    counts, stats, label = country_period_counts(df)
    assert label == "month" and counts["events"].sum() == 3
    assert (stats.total, stats.shown, stats.undated) == (5, 3, 2)
    assert counts["period"].min() == dt.date(2024, 1, 1)  # the axis starts at the first dated event
    assert stats.note(label) == "Shown: 3 of 5 events. Not shown: 2 undated or open-ended."


def test_timeline_is_as_precise_as_the_data():
    def year_event(k: str, year: int) -> dict:
        return event_row(k, f"{year}-01-01", date_end=dt.date(year, 12, 31), date_precision="year")

    months = [event_row(f"m{i}", f"2024-{i + 1:02d}-03") for i in range(10)]
    # One year-precision event among ten of a month: a monthly chart, the year one counted apart.
    _, stats, label = country_period_counts(conform(pl.DataFrame([*months, year_event("y", 2024)]), Event))
    assert label == "month" and (stats.shown, stats.too_wide) == (10, 1)
    # Mostly year-precision events: a yearly chart holding them all.
    years = [year_event(f"y{i}", 2020 + i % 4) for i in range(8)]
    _counts, stats, label = country_period_counts(conform(pl.DataFrame([*months[:2], *years]), Event))
    assert label == "year" and stats.shown == 10 and stats.too_wide == 0


def test_timeline_clips_to_the_range_of_most_dated_events():
    rows = [event_row(f"e{i}", f"{2000 + i % 20}-06-0{1 + i % 9}") for i in range(100)]
    rows += [event_row("old", "1828-02-10"), event_row("plan", "2040-01-01")]
    df = conform(pl.DataFrame(rows), Event)
    assert core_years(df["date_start"].dt.year()) == (2000, 2019)
    counts, stats, label = country_period_counts(df)
    assert label == "year" and stats.outside == 2 and stats.shown == 100
    assert (counts["period"].min(), counts["period"].max()) == (dt.date(2000, 1, 1), dt.date(2019, 1, 1))
    assert "2 dated outside 2000-2019" in stats.note(label)
    # A small release keeps every event: 95% of 7 rounds up to all of them.
    few = conform(pl.DataFrame([event_row("a", "2021-01-01"), *rows[:5], rows[-1]]), Event)
    assert country_period_counts(few)[1].outside == 0


def test_download_page_asset_and_link_check_materialize(two_releases: Path, tmp_path: Path):
    from pipeline.assets.site import download_page
    from pipeline.checks import download_page_links_resolve
    from pipeline.resources import CredenceSettings

    settings = CredenceSettings(raw_dir=str(tmp_path / "raw"), outputs_dir=str(two_releases), gold_file="")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [download_page, download_page_links_resolve],
            instance=instance,
            resources={"settings": settings},
            selection=[download_page],
        )
    assert result.success
    mat = result.asset_materializations_for_node("download_page")[0]
    assert mat.metadata["latest_version"].value == "2026.01.02"
    assert mat.metadata["releases_listed"].value == 2
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("download_page_links_resolve", True)]


def test_extraction_quality_check_is_warn_and_disabled_without_gold(two_releases: Path, tmp_path: Path):
    from pipeline.checks import release_extraction_quality
    from pipeline.resources import CredenceSettings

    off = release_extraction_quality(CredenceSettings(raw_dir="r", outputs_dir=str(two_releases), gold_file=""))
    assert off.passed and off.severity == dg.AssetCheckSeverity.WARN
    missing = release_extraction_quality(
        CredenceSettings(raw_dir="r", outputs_dir=str(two_releases), gold_file=str(tmp_path / "nope.yaml"))
    )
    assert not missing.passed and missing.severity == dg.AssetCheckSeverity.WARN
    gold = Path(__file__).resolve().parent.parent / "examples" / "gold" / "seed_events.yaml"
    scored = release_extraction_quality(
        CredenceSettings(raw_dir="r", outputs_dir=str(two_releases), gold_file=str(gold))
    )
    # The release has none of the seed gold's articles: nothing is scored, and the WARN says so.
    assert not scored.passed and scored.severity == dg.AssetCheckSeverity.WARN
    assert scored.metadata["result"].value == "not measured" and scored.metadata["scored_articles"].value == 0


def test_timeline_period_widens_with_the_span_of_dates():
    df = conform(
        pl.DataFrame([event_row("old", "2005-03-01", "USA", None), event_row("new", "2024-08-21", "USA", "AFG")]), Event
    )
    counts, stats, label = country_period_counts(df)
    assert label == "year" and stats.shown == 2
    assert {(p.isoformat(), c) for p, c, _ in counts.iter_rows()} == {("2005-01-01", "USA"), ("2024-01-01", "USA")}
    quarters = conform(pl.DataFrame([event_row("q1", "2020-01-05"), event_row("q2", "2024-12-01")]), Event)
    assert country_period_counts(quarters)[2] == "quarter"


def test_chart_and_preview_follow_latest_when_it_is_not_the_newest_folder(two_releases: Path):
    (releases_dir(two_releases) / "LATEST").write_text("2026.01.01\n")
    result = build_site(two_releases)
    assert result.latest == "2026.01.01"
    assert result.timeline == "releases/2026.01.01/timeline.png"
    assert result.preview.height == 2
    page = (two_releases / INDEX).read_text(encoding="utf-8")
    assert page.index('<span class="badge">latest</span>') > page.index('id="release-2026.01.01"')
