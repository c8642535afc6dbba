"""Whole-graph materialization into temporary folders, checked against the release contract."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipeline.definitions import defs
from pipeline.resources import CredenceSettings, ParquetIOManager
from schemas.models import RELEASE_TABLES, polars_schema

CONTRACT = {
    "events": "event_id, event_type, modality, actor_name, actor_country, actor_sector, target_name, "
    "target_country, target_sector, date_start, date_end, date_precision, date_basis, n_mentions, n_articles, "
    "n_sources, article_ids, mention_ids, first_published_at, cameo_code, plover_type, quad_class, confidence, "
    "has_conflict, summary, quote",
    "mentions": "mention_id, event_id, article_id, sentence_index, char_start, char_end, quote, "
    "event_type, modality, actor_text, actor_name, actor_country, actor_sector, target_text, target_name, "
    "target_country, target_sector, date_text, date_start, date_end, date_precision, date_basis, confidence",
    "articles": "article_id, source_file, title, outlet, url, published_at, published_basis, language, n_chars, sha256",
    "quarantine": "source_file, stage, reason",
}


def build(raw: Path, out: Path) -> dg.ExecuteInProcessResult:
    settings = CredenceSettings(raw_dir=str(raw), outputs_dir=str(out), gold_file="", extract_workers=1)
    job = defs.resolve_job_def("build_release")
    with dg.instance_for_test() as instance:
        return job.execute_in_process(
            instance=instance,
            resources={"settings": settings, "parquet_io": ParquetIOManager(settings=settings)},
        )


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory):
    import shutil

    from tests.conftest import SEEDS

    root = tmp_path_factory.mktemp("e2e")
    raw = root / "raw"
    raw.mkdir()
    for p in SEEDS.glob("*.txt"):
        shutil.copy2(p, raw / p.name)
    out = root / "outputs"
    result = build(raw, out)
    assert result.success
    return raw, out, result


def latest(out: Path) -> Path:
    return out / "releases" / (out / "releases" / "LATEST").read_text().strip()


def test_release_meets_the_contract(seed_build):
    _raw, out, _ = seed_build
    rel = latest(out)
    for table, cols in CONTRACT.items():
        expected = [c.strip() for c in cols.split(",")]
        parquet = pl.read_parquet(rel / f"{table}.parquet")
        csv = pl.read_csv(rel / f"{table}.csv", infer_schema=False)
        assert parquet.columns[: len(expected)] == expected or set(expected) <= set(parquet.columns), table
        assert parquet.columns == list(polars_schema(RELEASE_TABLES[table]))
        assert csv.columns == parquet.columns
        assert csv.height == parquet.height
    for name in [
        "datapackage.json",
        "SHA256SUMS",
        "README.md",
        "CHANGELOG.md",
        "CITATION.cff",
        "changes.parquet",
        "changes.csv",
    ]:
        assert (rel / name).is_file(), name
    subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=rel, check=True)


def test_every_input_is_accounted_for(seed_build):
    raw, out, _ = seed_build
    rel = latest(out)
    articles = pl.read_parquet(rel / "articles.parquet")
    quarantine = pl.read_parquet(rel / "quarantine.parquet")
    inputs = {p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()}
    accounted = set(articles["source_file"]) | set(quarantine["source_file"])
    assert inputs <= accounted
    assert articles.height == 5


def test_lists_are_native_in_parquet_and_joined_in_csv(seed_build):
    _, out, _ = seed_build
    rel = latest(out)
    events = pl.read_parquet(rel / "events.parquet")
    assert events.height > 0
    assert events.schema["article_ids"] == pl.List(pl.String)
    csv = pl.read_csv(rel / "events.csv", infer_schema=False)
    first = events.row(0, named=True)
    assert csv["article_ids"][0] == ";".join(first["article_ids"])


def test_quotes_are_verbatim_and_events_have_their_mentions(seed_build):
    _, out, _ = seed_build
    rel = latest(out)
    mentions = pl.read_parquet(rel / "mentions.parquet")
    events = pl.read_parquet(rel / "events.parquet")
    assert mentions.height > 0
    assert set(mentions["event_id"]) == set(events["event_id"])
    listed = set(events.explode("mention_ids")["mention_ids"])
    assert listed == set(mentions["mention_id"])


def test_datapackage_is_valid_frictionless(seed_build):
    _, out, _ = seed_build
    rel = latest(out)
    from frictionless import validate

    report = validate(str(rel / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    package = json.loads((rel / "datapackage.json").read_text())
    events_fields = (
        [f["name"] for f in package["resources"][0]["fields"]]
        if "fields" in package["resources"][0]
        else [f["name"] for f in package["resources"][0]["schema"]["fields"]]
    )
    assert events_fields == list(polars_schema(RELEASE_TABLES["events"]))


def test_unchanged_rebuild_publishes_no_new_version(seed_build):
    raw, out, _ = seed_build
    before = sorted(p.name for p in (out / "releases").iterdir())
    result = build(raw, out)
    assert result.success
    after = sorted(p.name for p in (out / "releases").iterdir())
    assert before == after


def test_checks_ran_and_passed(seed_build):
    _, _, result = seed_build
    evaluations = result.get_asset_check_evaluations()
    names = {e.check_name for e in evaluations}
    assert {
        "articles_match_schema",
        "mentions_quotes_verbatim",
        "events_provenance_complete",
        "release_checksums_verify",
    } <= names
    blocking_failed = [e.check_name for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert not blocking_failed
