"""datapackage.json built and validated with frictionless (foreign keys, allowed values, Parquet and
CSV resources, sources, licence), and the columns a release adds to the events (goldstein,
source_urls)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import frictionless
import polars as pl
import pytest

from pipeline.errors import UserError
from pipeline.release.datacard import render_extras
from pipeline.release.enrich import enrich_events, source_urls
from pipeline.release.publish import Provenance, ReleaseTables, write_release
from pipeline.releases import list_versions
from schemas.codebook import load_codebook, load_goldstein
from schemas.models import Article, Event, Mention, Quarantine, conform, empty_frame
from tests.test_site import event_row, publish


def test_every_codebook_cameo_code_has_a_goldstein_value():
    table = load_goldstein()
    for name, t in load_codebook().event_types.items():
        assert str(t["cameo"]) in table, f"{name}: CAMEO {t['cameo']} has no Goldstein value in schemas/goldstein.yaml"
        assert -10 <= table[str(t["cameo"])] <= 10
    # Conflict types sit below zero and cooperation above, as the quad classes say.
    for t in load_codebook().event_types.values():
        value = table[str(t["cameo"])]
        assert (value < 0) == (t["quad_class"] in (3, 4)), t


def test_goldstein_follows_the_cameo_code_and_an_unknown_code_stops_the_release():
    events = conform(pl.DataFrame([event_row("a", "2024-01-01", cameo_code="057")]), Event)
    enriched = enrich_events(events, empty_frame(Article))
    assert enriched["goldstein"].to_list() == [8.0]
    with pytest.raises(ValueError, match=r"no Goldstein value for CAMEO code.* 999"):
        enrich_events(events.with_columns(pl.lit("999").alias("cameo_code")), empty_frame(Article))


def test_source_urls_are_the_known_urls_in_article_order_without_repeats():
    ids = [f"a{i:016x}" for i in range(4)]
    events = conform(
        pl.DataFrame(
            [
                event_row("x", "2024-01-01", article_ids=[ids[2], ids[0], ids[1]]),
                event_row("y", "2024-01-01", article_ids=[ids[3]]),
            ]
        ),
        Event,
    )
    articles = pl.DataFrame(
        {"article_id": ids, "url": ["https://a/0", None, "https://a/2", None]},
    )
    assert source_urls(events, articles).to_list() == [["https://a/2", "https://a/0"], []]
    # Two articles with one URL (a syndicated copy) give it once.
    articles = articles.with_columns(pl.lit("https://same").alias("url"))
    assert source_urls(events, articles).to_list() == [["https://same"], ["https://same"]]


@pytest.fixture
def release(tmp_path: Path) -> Path:
    out = tmp_path / "outputs"
    version = publish(out, [event_row("a", "2024-01-05"), event_row("b", "2024-03-02", "RUS", "CHN")], "2026-01-01")
    return out / "releases" / version


def test_package_has_csv_and_parquet_resources_foreign_keys_enums_sources_and_licence(release: Path):
    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    names = [r["name"] for r in package["resources"]]
    assert names == [
        f"{t}{suffix}"
        for t in ("events", "mentions", "articles", "quarantine", "changes")
        for suffix in ("", "-parquet")
    ]
    by_name = {r["name"]: r for r in package["resources"]}
    assert by_name["events-parquet"]["format"] == "parquet" and by_name["events-parquet"]["type"] == "file"
    assert {f["name"]: f["type"] for f in by_name["events-parquet"]["schema"]["fields"]}["article_ids"] == "array"
    assert {f["name"]: f["type"] for f in by_name["events"]["schema"]["fields"]}["article_ids"] == "string"
    keys = by_name["mentions"]["schema"]["foreignKeys"]
    assert {(k["fields"][0], k["reference"]["resource"]) for k in keys} == {
        ("event_id", "events"),
        ("article_id", "articles"),
    }
    fields = {f["name"]: f for f in by_name["events"]["schema"]["fields"]}
    assert set(fields["event_type"]["constraints"]["enum"]) == set(load_codebook().event_types)
    assert fields["quad_class"]["constraints"]["enum"] == [1, 2, 3, 4]
    assert fields["cameo_code"]["type"] == "string" and fields["cameo_code"]["constraints"]["pattern"] == r"\d{3,4}"
    assert (fields["goldstein"]["constraints"]["minimum"], fields["goldstein"]["constraints"]["maximum"]) == (-10, 10)
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    assert any("Goldstein" in s["title"] for s in package["sources"])
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_frictionless_catches_a_tampered_table(release: Path):
    """The validation is real: a value outside the allowed ones and a changed Parquet file fail."""
    csv = release / "events.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",meet,", ",dance,", 1), encoding="utf-8")
    report = frictionless.validate(str(release / "datapackage.json"))
    errors = {e[0] for e in report.flatten(["type"])}
    assert "constraint-error" in errors and "hash-count" in errors


def test_a_release_whose_tables_break_their_schema_is_not_published(tmp_path: Path):
    """A mention pointing at an event that is not in the release breaks the foreign key: the
    integrity check before publishing (or frictionless, behind it) says so and the release is not
    published (its temporary folder is removed by the next build)."""
    out = tmp_path / "outputs"
    events = conform(pl.DataFrame([event_row("a", "2024-01-05")]), Event)
    mention = {
        "mention_id": "m" + "1" * 16,
        "event_id": "E" + "f" * 12,
        "article_id": "a" + "0" * 16,
        "sentence_index": 0,
        "char_start": 0,
        "char_end": 5,
        "quote": "Hello",
        "event_type": "meet",
        "modality": "asserted",
        "actor_text": "USA",
        "actor_name": "USA",
        "date_precision": "unknown",
        "date_basis": "none",
        "confidence": 0.5,
        "trigger_text": "met",
    }
    registry = pl.DataFrame(schema={"mention_id": pl.String, "event_id": pl.String})
    with pytest.raises((ValueError, UserError), match=r"does not validate|do not agree"):
        write_release(
            out,
            ReleaseTables(
                events,
                conform(pl.DataFrame([mention]), Mention),
                empty_frame(Article),
                empty_frame(Quarantine),
                registry,
                None,
            ),
            Provenance("test", "dict", "inputs", "raw"),
            today=dt.date(2026, 1, 1),
            render_extras=render_extras,
        )
    assert list_versions(out) == []
