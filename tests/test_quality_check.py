"""The quality check scores only the articles a gold file covers (issue 17: against the seeds' gold
it scored every event of the Tehran Times bundle and reported precision 0.0001; one unrelated article
flipped it to failing)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from pipeline.checks import release_extraction_quality
from pipeline.evaluate.coverage import gold_paths, load_golds, score_covered
from pipeline.evaluate.gold import GoldFormatError
from pipeline.resources import CredenceSettings
from tests.test_evaluate import FILES, GOLD, articles_frame, event, events_frame, mention, mentions_frame, perfect_rows


def write_release(folder: Path, rows: list[dict], mentions: list[dict], files: dict[int, str]) -> Path:
    folder.mkdir(parents=True)
    events_frame(rows).write_parquet(folder / "events.parquet")
    mentions_frame(mentions).write_parquet(folder / "mentions.parquet")
    articles_frame(files).write_parquet(folder / "articles.parquet")
    (folder / "release_manifest.json").write_text("{}", encoding="utf-8")
    return folder


def perfect_mentions() -> list[dict]:
    return [
        mention(1, "E000000000001", 0, "accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20"),
        mention(2, "E000000000002", 1, "meet", "AFG", "KAZ", "2025-07-10", "2025-07-10"),
        mention(3, "E000000000003", 2, "reject", "KAZ", "AFG", "2023-08-01", "2023-08-31"),
    ]


def unrelated(n: int) -> tuple[dict, dict]:
    """An event and its mention from an article no gold file names (file index 3)."""
    eid = f"E{900000000000 + n}"
    return (
        event(eid, "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01", [3]),
        mention(100 + n, eid, 3, "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01"),
    )


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "seed_gold.yaml"
    path.write_text(GOLD, encoding="utf-8")
    return path


def test_unrelated_articles_are_not_scored(tmp_path: Path, gold: Path):
    extra = [unrelated(n) for n in range(20)]
    rows = perfect_rows() + [e for e, _ in extra]
    release = write_release(tmp_path / "r", rows, perfect_mentions() + [m for _, m in extra], FILES)
    covered = score_covered(release, [gold])
    assert covered.report is not None
    assert (covered.report.precision, covered.report.recall) == (1.0, 1.0)
    assert covered.report.passed()
    assert covered.scored_files == ["seeds/000_a.txt", "seeds/001_b.txt", "seeds/002_c.txt"]
    assert (covered.n_events_scored, covered.n_events) == (3, 23)
    assert (covered.n_mentions_scored, covered.n_mentions) == (3, 23)
    assert "Scored 3 of the release's 4 articles" in covered.describe()
    # The same release scored whole (the old check) fails: every unrelated event is a wrong row.
    from pipeline.evaluate.score import score_release

    assert not score_release(release, gold).passed()


def test_a_wrong_event_in_a_covered_article_still_counts(tmp_path: Path, gold: Path):
    rows = [*perfect_rows(), event("E000000000007", "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01", [0])]
    covered = score_covered(write_release(tmp_path / "r", rows, perfect_mentions(), FILES), [gold])
    assert covered.report.default.n_counted == 4 and covered.report.precision == 0.75


def test_gold_events_of_files_the_release_lacks_leave_recall(tmp_path: Path, gold: Path):
    files = {0: "seeds/000_a.txt", 1: "seeds/001_b.txt", 3: "other/003_d.txt"}  # no 002_c.txt
    rows = perfect_rows()[:2]
    covered = score_covered(write_release(tmp_path / "r", rows, perfect_mentions()[:2], files), [gold])
    assert covered.absent_files == ["002_c.txt"]
    assert covered.report.recall == 1.0  # G3 (told only in 002_c.txt) cannot be found here
    # O1 is told in 001_b.txt and 002_c.txt: scored, reduced to the file the release has.
    assert covered.n_gold_scored == 3 and covered.n_gold == 4
    assert "absent from this release" in covered.describe()


def test_a_release_the_gold_does_not_cover_is_not_measured(tmp_path: Path, gold: Path):
    e, m = unrelated(1)
    covered = score_covered(write_release(tmp_path / "r", [e], [m], {3: "other/003_d.txt"}), [gold])
    assert covered.report is None and covered.scored_files == []
    assert "cover none of the 1 articles" in covered.describe()


def test_several_gold_files_are_pooled_with_their_ids_apart(tmp_path: Path, gold: Path):
    other = tmp_path / "other_gold.yaml"
    other.write_text(
        "events:\n  - {id: G1, type: meet, actor: IRN, target: IRQ, window: [2020-01-01, 2020-01-02],"
        " mentions: [003_d.txt]}\n",
        encoding="utf-8",
    )
    events = load_golds([gold, other])
    assert len({g.id for g in events}) == len(events) == 5
    assert "other_gold:G1" in {g.id for g in events}
    assert gold_paths(f"{gold}{os.pathsep}{other}{os.pathsep}") == [gold, other]
    e, m = unrelated(1)
    release = write_release(tmp_path / "r", [*perfect_rows(), e], [*perfect_mentions(), m], FILES)
    covered = score_covered(release, [gold, other])
    assert len(covered.scored_files) == 4 and covered.report.precision == 1.0 and covered.report.recall == 1.0
    with pytest.raises(GoldFormatError, match="gold file not found"):
        load_golds([gold, tmp_path / "missing.yaml"])


def _check(outputs: Path, gold_file: str) -> dg.AssetCheckResult:
    settings = CredenceSettings(raw_dir=str(outputs), outputs_dir=str(outputs), gold_file=gold_file)
    return release_extraction_quality(dg.build_asset_check_context(), settings=settings)


def test_the_asset_check_passes_on_the_covered_part_and_says_what_it_scored(tmp_path: Path, gold: Path):
    outputs = tmp_path / "out"
    e, m = unrelated(1)
    write_release(outputs / "releases" / "2026.01.01", [*perfect_rows(), e], [*perfect_mentions(), m], FILES)
    (outputs / "releases" / "LATEST").write_text("2026.01.01\n", encoding="utf-8")
    result = _check(outputs, str(gold))
    assert result.passed and result.severity == dg.AssetCheckSeverity.WARN
    meta = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    assert meta["scored_articles"] == 3 and meta["release_articles"] == 4
    assert meta["scored_events"] == 3 and meta["release_events"] == 4
    assert "seeds/000_a.txt" in meta["scored_files"] and "003_d" not in meta["scored_files"]
    assert meta["precision"] == 1.0


def test_the_asset_check_warns_when_the_gold_covers_nothing(tmp_path: Path, gold: Path):
    outputs = tmp_path / "out"
    e, m = unrelated(1)
    write_release(outputs / "releases" / "2026.01.01", [e], [m], {3: "other/003_d.txt"})
    (outputs / "releases" / "LATEST").write_text("2026.01.01\n", encoding="utf-8")
    result = _check(outputs, str(gold))
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    meta = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    assert meta["result"] == "not measured" and meta["scored_articles"] == 0
    assert "cover none" in meta["scope"]
    missing = _check(outputs, str(tmp_path / "nope.yaml"))
    assert not missing.passed and "gold file not found" in missing.metadata["error"].value
