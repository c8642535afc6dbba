"""Evaluation against a gold file: synthetic release tables and gold YAML written in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipeline.evaluate.__main__ import main
from pipeline.evaluate.gold import GoldFormatError, load_gold
from pipeline.evaluate.score import (
    EvalReport,
    check_release,
    evaluation_check_result,
    file_matches,
    score_release,
    score_tables,
)
from schemas.models import Article, Event, Mention, conform

PROJECT_ROOT = Path(__file__).resolve().parent.parent
D = dt.date.fromisoformat


def aid(n: int) -> str:
    return f"a{n:016x}"


def mid(n: int) -> str:
    return f"m{n:016x}"


def articles_frame(files: dict[int, str]) -> pl.DataFrame:
    return conform(pl.DataFrame({"article_id": [aid(n) for n in files], "source_file": list(files.values())}), Article)


def event(
    event_id: str,
    event_type: str,
    actor: str,
    target: str | None,
    start: str | None,
    end: str | None,
    articles: list[int],
    modality: str = "asserted",
    precision: str = "day",
    mentions: list[int] | None = None,
    quote: str = "a quote",
) -> dict:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "modality": modality,
        "actor_country": actor,
        "target_country": target,
        "date_start": D(start) if start else None,
        "date_end": D(end) if end else None,
        "date_precision": precision,
        "article_ids": [aid(a) for a in articles],
        "mention_ids": [mid(m) for m in (mentions or [])],
        "quote": quote,
    }


def events_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "event_id": pl.String,
        "event_type": pl.String,
        "modality": pl.String,
        "actor_country": pl.String,
        "target_country": pl.String,
        "date_start": pl.Date,
        "date_end": pl.Date,
        "date_precision": pl.String,
        "article_ids": pl.List(pl.String),
        "mention_ids": pl.List(pl.String),
        "quote": pl.String,
    }
    return conform(pl.DataFrame(rows, schema=schema), Event)


def mention(
    n: int,
    event_id: str | None,
    article: int,
    event_type: str,
    actor: str,
    target: str | None,
    start: str | None,
    end: str | None,
    modality: str = "asserted",
) -> dict:
    return {
        "mention_id": mid(n),
        "event_id": event_id,
        "article_id": aid(article),
        "event_type": event_type,
        "modality": modality,
        "actor_country": actor,
        "target_country": target,
        "date_start": D(start) if start else None,
        "date_end": D(end) if end else None,
    }


def mentions_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "mention_id": pl.String,
        "event_id": pl.String,
        "article_id": pl.String,
        "event_type": pl.String,
        "modality": pl.String,
        "actor_country": pl.String,
        "target_country": pl.String,
        "date_start": pl.Date,
        "date_end": pl.Date,
    }
    return conform(pl.DataFrame(rows, schema=schema), Mention)


def write_gold(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gold.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOLD = """
events:
  - id: G1
    type: accept_credentials
    actor: KAZ
    target: AFG
    window: [2024-08-14, 2024-08-22]
    mentions: [000_a.txt]
    required: true
    evidence: "Kazakhstan has accepted the credentials"
  - id: G2
    type: meet
    actor: AFG
    target: KAZ
    window: [2025-07-03, 2025-12-31]
    mentions: [001_b.txt]
    required: true
  - id: G3
    type: reject
    alt: [{type: delist_organization, modality: denied}]
    actor: KAZ
    target: AFG
    window: [2023-08-01, 2023-08-31]
    mentions: [002_c.txt]
    required: true
  - id: O1
    type: seize_power
    actor: AFG
    target: AFG
    window: [2021-08-01, 2021-08-31]
    mentions: [001_b.txt, 002_c.txt]
    required: false
"""

FILES = {0: "seeds/000_a.txt", 1: "seeds/001_b.txt", 2: "seeds/002_c.txt", 3: "other/003_d.txt"}


def score(
    tmp_path: Path,
    rows: list[dict],
    gold_text: str = GOLD,
    mentions: list[dict] | None = None,
    files: dict[int, str] = FILES,
) -> EvalReport:
    gold = load_gold(write_gold(tmp_path, gold_text))
    return score_tables(events_frame(rows), mentions_frame(mentions or []), articles_frame(files), gold)


def perfect_rows() -> list[dict]:
    return [
        event("E000000000001", "accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20", [0]),
        event("E000000000002", "meet", "AFG", "KAZ", "2025-07-10", "2025-07-10", [1]),
        event("E000000000003", "reject", "KAZ", "AFG", "2023-08-01", "2023-08-31", [2], precision="month"),
    ]


def test_exact_matches_score_one(tmp_path):
    report = score(tmp_path, perfect_rows())
    d = report.default
    assert (d.precision, d.recall, d.f1) == (1.0, 1.0, 1.0)
    assert d.n_counted == 3 and d.n_dated_correct == 3 and not d.misses and not d.wrong_rows
    assert report.passed()
    passed, metadata = evaluation_check_result(report)
    assert passed
    assert all(isinstance(v, (int, float, str)) for v in metadata.values())
    assert metadata["precision"] == 1.0 and metadata["date_errors"] == 0
    # No mentions in these tables: every (gold event, article) pair is missed.
    assert metadata["mention_pairs_matched"] == "0/3" and metadata["mention_recall"] == 0.0
    assert metadata["mention_precision"] == "n/a" and metadata["event_confidence_auc"] == "n/a"


def test_wrong_actor_direction_is_a_wrong_row_and_a_miss(tmp_path):
    rows = perfect_rows()
    rows[0] = event("E000000000001", "accept_credentials", "AFG", "KAZ", "2024-08-20", "2024-08-20", [0])
    report = score(tmp_path, rows)
    d = report.default
    assert d.precision == pytest.approx(2 / 3) and d.recall == pytest.approx(2 / 3)
    assert [m["gold_id"] for m in d.misses] == ["G1"]
    assert [w["event_id"] for w in d.wrong_rows] == ["E000000000001"]
    assert not report.passed()


def test_symmetric_type_matches_either_direction(tmp_path):
    rows = perfect_rows()
    rows[1] = event("E000000000002", "meet", "KAZ", "AFG", "2025-07-10", "2025-07-10", [1])
    assert score(tmp_path, rows).default.recall == 1.0


def test_alt_coding_matches_only_with_its_modality(tmp_path):
    rows = [
        *perfect_rows()[:2],
        event("E000000000003", "delist_organization", "KAZ", "AFG", "2023-08-10", "2023-08-10", [2], modality="denied"),
    ]
    d = score(tmp_path, rows).default
    assert d.recall == 1.0 and d.precision == 1.0 and d.n_counted == 3
    # The same type asserted is not the alt coding: counted, and wrong.
    rows[2] = event("E000000000003", "delist_organization", "KAZ", "AFG", "2023-08-10", "2023-08-10", [2])
    d = score(tmp_path, rows).default
    assert [m["gold_id"] for m in d.misses] == ["G3"]
    assert [w["event_id"] for w in d.wrong_rows] == ["E000000000003"]


def test_prediction_matching_only_an_optional_event_is_left_out(tmp_path):
    rows = [*perfect_rows(), event("E000000000004", "seize_power", "AFG", "AFG", "2021-08-15", "2021-08-15", [1])]
    d = score(tmp_path, rows).default
    assert d.n_optional_only == 1 and d.n_counted == 3 and d.precision == 1.0
    # The same row outside the optional window matches nothing: a wrong row.
    rows[-1] = event("E000000000004", "seize_power", "AFG", "AFG", "2022-08-15", "2022-08-15", [1])
    d = score(tmp_path, rows).default
    assert d.n_optional_only == 0 and d.n_counted == 4 and d.precision == pytest.approx(0.75)


def test_hypothetical_excluded_by_default_but_counted_in_all_modalities(tmp_path):
    rows = perfect_rows()
    rows[0] = event(
        "E000000000001", "accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20", [0], modality="hypothetical"
    )
    rows.append(
        event(
            "E000000000009",
            "recognize_government",
            "KAZ",
            "AFG",
            "2024-08-20",
            "2024-08-20",
            [0],
            modality="hypothetical",
        )
    )
    report = score(tmp_path, rows)
    d, a = report.default, report.all_modalities
    assert d.n_not_counted_modality == 2 and d.n_counted == 2
    assert d.precision == 1.0 and d.recall == pytest.approx(2 / 3)
    assert a.n_not_counted_modality == 0 and a.n_counted == 4
    assert a.recall == 1.0 and a.precision == pytest.approx(3 / 4)
    assert [w["event_id"] for w in a.wrong_rows] == ["E000000000009"]
    markdown = report.to_markdown()
    assert "E000000000009" in markdown.split("every modality counts")[1] and "bar (precision" in markdown


def test_gold_modality_field_is_honoured(tmp_path):
    gold = """
events:
  - {id: P1, type: sign_agreement, modality: planned, actor: KAZ, target: AFG,
     window: [2024-01-01, 2024-12-31], mentions: [000_a.txt]}
  - {id: H1, type: appeal, modality: hypothetical, actor: AFG, target: KAZ,
     window: [2024-01-01, 2024-12-31], mentions: [000_a.txt]}
"""
    asserted = event("E000000000001", "sign_agreement", "KAZ", "AFG", "2024-03-01", "2024-03-01", [0])
    planned = event(
        "E000000000002", "sign_agreement", "AFG", "KAZ", "2024-03-01", "2024-03-01", [0], modality="planned"
    )
    hypothetical = event(
        "E000000000003", "appeal", "AFG", "KAZ", "2024-03-01", "2024-03-01", [0], modality="hypothetical"
    )
    d = score(tmp_path, [asserted, planned, hypothetical], gold).default
    assert d.n_counted == 3 and d.n_correct == 2 and d.recall == 1.0
    assert [w["event_id"] for w in d.wrong_rows] == ["E000000000001"]


def test_date_error_needs_the_gold_article_and_a_disjoint_interval(tmp_path):
    rows = perfect_rows()
    rows[0] = event(
        "E000000000001", "accept_credentials", "KAZ", "AFG", "2023-01-01", "2023-01-31", [0, 3], precision="month"
    )
    report = score(tmp_path, rows)
    errors = report.default.date_errors
    assert [(e["event_id"], e["gold_id"]) for e in errors] == [("E000000000001", "G1")]
    assert not report.passed() and report.passed(max_date_errors=None, min_precision=0.6, min_recall=0.6)
    passed, metadata = evaluation_check_result(report)
    assert not passed and metadata["date_errors"] == 1 and metadata["misses"] == "G1"
    # From an article the gold event does not list, it is only a wrong row.
    rows[0] = event(
        "E000000000001", "accept_credentials", "KAZ", "AFG", "2023-01-01", "2023-01-31", [3], precision="month"
    )
    report = score(tmp_path, rows)
    assert not report.default.date_errors and len(report.default.wrong_rows) == 1


def test_undated_prediction_matches_but_is_not_a_dated_match(tmp_path):
    rows = perfect_rows()
    rows[0] = event("E000000000001", "accept_credentials", "KAZ", "AFG", None, "2024-08-30", [0], precision="unknown")
    d = score(tmp_path, rows).default
    assert d.recall == 1.0 and d.n_correct == 3
    assert d.n_dated_correct == 2 and d.n_undated_correct == 1 and d.required_matched_dated == 2


def test_open_gold_window_bound_is_unbounded(tmp_path):
    gold = """
events:
  - {id: G1, type: visit, actor: IRN, target: AFG, window: [null, 2020-01-01], mentions: [000_a.txt]}
"""
    rows = [event("E000000000001", "visit", "IRN", "AFG", "1999-05-01", "1999-05-01", [0])]
    assert score(tmp_path, rows, gold).default.recall == 1.0


DEDUP_GOLD = """
events:
  - {id: A, type: delist_organization, actor: KAZ, target: AFG, window: [2023-12-01, 2024-01-05],
     mentions: [000_a.txt, 001_b.txt, 002_c.txt]}
  - {id: B, type: delist_organization, actor: KAZ, target: AFG, window: [2023-12-01, 2024-01-05],
     mentions: [other/003_d.txt], required: false}
"""


def test_pair_and_bcubed_scores_on_a_hand_computed_case(tmp_path):
    rows = [
        event(
            "E000000000001", "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29", [0, 1], mentions=[1, 2]
        ),
        event(
            "E000000000002", "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29", [2, 3], mentions=[3, 4]
        ),
        event("E000000000005", "criticize", "IRN", "AFG", "2023-12-29", "2023-12-29", [0], mentions=[5]),
    ]
    ms = [
        mention(1, "E000000000001", 0, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
        mention(2, "E000000000001", 1, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
        mention(3, "E000000000002", 2, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
        mention(4, "E000000000002", 3, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
        mention(5, "E000000000005", 0, "criticize", "IRN", "AFG", "2023-12-29", "2023-12-29"),
    ]
    dd = score(tmp_path, rows, DEDUP_GOLD, ms).dedup
    # Gold clusters A={m1,m2,m3}, B={m4}; predicted {m1,m2}, {m3,m4}; m5 fits no gold event.
    assert dd.n_mentions == 5 and dd.n_assigned == 4
    assert (dd.gold_pairs, dd.predicted_pairs, dd.common_pairs) == (3, 2, 1)
    assert dd.pair_precision == pytest.approx(1 / 2) and dd.pair_recall == pytest.approx(1 / 3)
    # B-cubed precision (1 + 1 + 1/2 + 1/2) / 4; recall (2/3 + 2/3 + 1/3 + 1) / 4.
    assert dd.bcubed_precision == pytest.approx(0.75) and dd.bcubed_recall == pytest.approx(2 / 3)
    assert dd.bcubed_f1 == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))
    assert [(m["event_id"], m["gold_ids"]) for m in dd.false_merges] == [("E000000000002", ["A", "B"])]
    per_gold = {g["gold_id"]: g for g in dd.per_gold}
    assert per_gold["A"]["predicted_events"] == ["E000000000001", "E000000000002"]
    assert not per_gold["A"]["exact"] and not per_gold["B"]["exact"]


def test_perfect_deduplication_is_exact(tmp_path):
    rows = [
        event(
            "E000000000001",
            "delist_organization",
            "KAZ",
            "AFG",
            "2023-12-29",
            "2023-12-29",
            [0, 1, 2],
            mentions=[1, 2, 3],
        ),
        event("E000000000002", "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29", [3], mentions=[4]),
    ]
    ms = [
        mention(n, "E000000000001", n - 1, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29")
        for n in (1, 2, 3)
    ]
    ms.append(mention(4, "E000000000002", 3, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"))
    dd = score(tmp_path, rows, DEDUP_GOLD, ms).dedup
    assert (dd.pair_precision, dd.pair_recall, dd.bcubed_f1) == (1.0, 1.0, 1.0)
    assert not dd.false_merges and dd.n_exact == 2
    # One article too many on the event: same pairs, but no longer "exactly those articles".
    rows[0]["article_ids"].append(aid(3))
    dd = score(tmp_path, rows, DEDUP_GOLD, ms).dedup
    assert {g["gold_id"]: g["exact"] for g in dd.per_gold} == {"A": False, "B": True}


def test_mention_goes_to_the_narrowest_fitting_gold_event(tmp_path):
    gold = """
events:
  - {id: WIDE, type: provide_aid, actor: KAZ, target: AFG, window: [2021-08-15, 2025-12-31], mentions: [000_a.txt]}
  - {id: NARROW, type: provide_aid, actor: KAZ, target: AFG, window: [2024-01-01, 2024-01-31], mentions: [000_a.txt]}
"""
    ms = [
        mention(1, "E000000000001", 0, "provide_aid", "KAZ", "AFG", "2024-01-10", "2024-01-10"),
        mention(2, "E000000000001", 0, "provide_aid", "KAZ", "AFG", "2022-01-10", "2022-01-10"),
    ]
    rows = [event("E000000000001", "provide_aid", "KAZ", "AFG", "2024-01-10", "2024-01-10", [0], mentions=[1, 2])]
    dd = score(tmp_path, rows, gold, ms).dedup
    assert [(m["event_id"], m["gold_ids"]) for m in dd.false_merges] == [("E000000000001", ["NARROW", "WIDE"])]


def test_file_names_match_by_basename_or_relative_path():
    assert file_matches("seeds/000_a.txt", "000_a.txt")
    assert file_matches("seeds/000_a.txt", "seeds/000_a.txt")
    assert file_matches("raw/seeds/000_a.txt", "seeds/000_a.txt")
    assert not file_matches("other/000_a.txt", "seeds/000_a.txt")
    assert not file_matches("seeds/1000_a.txt", "000_a.txt")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "events:\n  - {id: X, type: fly, actor: KAZ, target: AFG, window: [2020-01-01, 2020-02-01], mentions: [a]}",
            "unknown event type 'fly'",
        ),
        (
            "events:\n  - {id: X, type: meet, actor: KAZ, target: AFG, window: [2020-02-01, 2020-01-01], "
            "mentions: [a]}",
            "ends",
        ),
        ("events:\n  - {id: X, type: meet, actor: KAZ, target: AFG, mentions: [a]}", "missing field(s) window"),
        (
            "events:\n  - {id: X, type: meet, actor: KAZ, target: AFG, window: [2020-01-01, 2020-02-01], "
            "mentions: [a]}\n"
            "  - {id: X, type: meet, actor: KAZ, target: AFG, window: [2020-01-01, 2020-02-01], mentions: [a]}",
            "twice",
        ),
        ("events: [", "not valid YAML"),
    ],
)
def test_bad_gold_files_are_rejected_with_a_reason(tmp_path, body, message):
    with pytest.raises(GoldFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_gold(write_gold(tmp_path, body))


def test_shipped_seed_gold_file_loads():
    gold = load_gold(PROJECT_ROOT / "examples" / "gold" / "seed_events.yaml")
    assert len({g.id for g in gold}) == len(gold) > 0
    assert any(g.alts for g in gold) and any(not g.required for g in gold)


def write_release(outputs: Path, version: str, latest: bool = True) -> Path:
    release = outputs / "releases" / version
    release.mkdir(parents=True)
    rows = perfect_rows()
    ms = [mention(1, "E000000000001", 0, "accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20")]
    events_frame(rows).write_parquet(release / "events.parquet")
    mentions_frame(ms).write_parquet(release / "mentions.parquet")
    articles_frame(FILES).write_parquet(release / "articles.parquet")
    if latest:
        (outputs / "releases" / "LATEST").write_text(version + "\n")
    return release


def test_cli_scores_the_latest_release(tmp_path, capsys):
    outputs = tmp_path / "out"
    write_release(outputs, "2026.01.0")
    gold = write_gold(tmp_path, GOLD)
    out_json = tmp_path / "report" / "eval.json"
    assert main(["--gold", str(gold), "--outputs", str(outputs), "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "release 2026.01.0" in printed and "| precision | 1.000 |" in printed
    data = json.loads(out_json.read_text())
    assert data["release"] == "2026.01.0" and data["default"]["recall"] == 1.0
    assert score_release(outputs / "releases" / "2026.01.0", gold).to_dict() == data


def test_cli_low_scores_still_exit_zero(tmp_path, capsys):
    outputs = tmp_path / "out"
    write_release(outputs, "v1")
    gold = write_gold(tmp_path, GOLD.replace("KAZ", "UZB"))
    assert main(["--gold", str(gold), "--outputs", str(outputs), "--release", "v1"]) == 0
    assert "## Misses" in capsys.readouterr().out


def test_cli_unusable_input_exits_non_zero_with_a_message(tmp_path, capsys):
    outputs = tmp_path / "out"
    gold = write_gold(tmp_path, GOLD)
    assert main(["--gold", str(gold), "--outputs", str(outputs)]) == 2
    assert "outputs folder not found" in capsys.readouterr().err
    write_release(outputs, "v1", latest=False)
    assert main(["--gold", str(gold), "--outputs", str(outputs)]) == 2
    assert "LATEST" in capsys.readouterr().err
    assert main(["--gold", str(gold), "--outputs", str(outputs), "--release", "v9"]) == 2
    assert "available: v1" in capsys.readouterr().err
    assert main(["--gold", "", "--outputs", str(outputs), "--release", "v1"]) == 2
    assert "no gold file given" in capsys.readouterr().err
    (outputs / "releases" / "v1" / "mentions.parquet").unlink()
    assert main(["--gold", str(gold), "--outputs", str(outputs), "--release", "v1"]) == 2
    assert "no mentions.parquet" in capsys.readouterr().err


def test_module_runs_as_a_program(tmp_path):
    outputs = tmp_path / "out"
    write_release(outputs, "v1")
    gold = write_gold(tmp_path, GOLD)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.evaluate", "--gold", str(gold), "--outputs", str(outputs)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "## Deduplication" in result.stdout


def test_empty_release_scores_undefined_precision_and_fails(tmp_path):
    report = score(tmp_path, [])
    assert report.default.precision is None and report.default.recall == 0.0
    assert len(report.default.misses) == 3 and not report.passed()
    passed, metadata = evaluation_check_result(report)
    assert not passed and metadata["precision"] == "n/a"
    assert "| precision | n/a |" in report.to_markdown()


def test_gold_may_name_a_copy_quarantined_as_a_duplicate(tmp_path):
    gold = """
events:
  - {id: A, type: delist_organization, actor: KAZ, target: AFG, window: [2023-12-01, 2024-01-05],
     mentions: [000_a.txt, 009_copy_of_a.txt, 001_b.txt]}
"""
    rows = [
        event("E000000000001", "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29", [0, 1], mentions=[1, 2])
    ]
    ms = [
        mention(1, "E000000000001", 0, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
        mention(2, "E000000000001", 1, "delist_organization", "KAZ", "AFG", "2023-12-29", "2023-12-29"),
    ]
    quarantine = pl.DataFrame({"source_file": ["seeds/009_copy_of_a.txt"], "duplicate_of": ["seeds/000_a.txt"]})
    args = (events_frame(rows), mentions_frame(ms), articles_frame(FILES), load_gold(write_gold(tmp_path, gold)))
    assert not score_tables(*args).dedup.per_gold[0]["exact"]
    assert score_tables(*args, quarantine=quarantine).dedup.per_gold[0]["exact"]


def test_check_release_warns_on_an_unusable_gold_file(tmp_path):
    outputs = tmp_path / "out"
    release = write_release(outputs, "v1")
    passed, metadata = check_release(release, write_gold(tmp_path, "events: [{id: X}]"))
    assert not passed and "missing field" in metadata["error"]
    passed, metadata = check_release(release, write_gold(tmp_path, GOLD))
    assert passed and metadata["release"] == "v1"


def test_a_release_coding_the_shipped_gold_exactly_scores_perfectly():
    gold = load_gold(PROJECT_ROOT / "examples" / "gold" / "seed_events.yaml")
    files = sorted({f for g in gold for f in g.mentions})
    article_of = {f: i for i, f in enumerate(files)}
    rows, ms, n = [], [], 0
    for i, g in enumerate(gold):
        start, end = (
            g.window_start.isoformat() if g.window_start else None,
            g.window_end.isoformat() if g.window_end else None,
        )
        mention_numbers = []
        for f in g.mentions:
            n += 1
            mention_numbers.append(n)
            ms.append(mention(n, f"E{i:012x}", article_of[f], g.event_type, g.actor, g.target, start, end))
        rows.append(
            event(
                f"E{i:012x}",
                g.event_type,
                g.actor,
                g.target,
                start,
                end,
                sorted(article_of[f] for f in g.mentions),
                mentions=mention_numbers,
            )
        )
    report = score_tables(
        events_frame(rows), mentions_frame(ms), articles_frame({i: f"seeds/{f}" for f, i in article_of.items()}), gold
    )
    assert (report.precision, report.recall) == (1.0, 1.0) and report.passed()
    assert report.default.n_optional_only == sum(not g.required for g in gold)
    assert report.dedup.n_exact == len(gold) and not report.dedup.false_merges


def test_articles_outside_the_gold_still_count_as_predictions_and_mentions(tmp_path):
    """Scoring only looks up the gold's articles by name; events and mentions from other articles are
    scored as before: wrong rows, and counted (not assigned) mentions."""
    rows = [*perfect_rows(), event("E000000000009", "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01", [3])]
    ms = [
        mention(1, "E000000000001", 0, "accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20"),
        mention(2, "E000000000009", 3, "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01"),
    ]
    report = score(tmp_path, rows, mentions=ms)
    assert report.default.n_counted == 4 and report.default.n_correct == 3
    assert [w["event_id"] for w in report.default.wrong_rows] == ["E000000000009"]
    assert (report.dedup.n_mentions, report.dedup.n_assigned) == (2, 1)
    assert report.dedup.per_gold[0]["predicted_articles"] == [["seeds/000_a.txt"]]


def test_gold_names_match_windows_paths_and_nested_folders(tmp_path):
    files = {0: "seeds\\000_a.txt", 1: "deep/er/seeds/001_b.txt", 2: "x002_c.txt", 3: "other/003_d.txt"}
    report = score(tmp_path, perfect_rows(), files=files)
    # 000_a.txt (backslash path) and 001_b.txt match; "x002_c.txt" is another file.
    assert report.default.required_matched == 3  # matching ignores files
    ms = [
        mention(n + 1, f"E00000000000{n + 1}", n, *args)
        for n, args in enumerate(
            [
                ("accept_credentials", "KAZ", "AFG", "2024-08-20", "2024-08-20"),
                ("meet", "AFG", "KAZ", "2025-07-10", "2025-07-10"),
                ("reject", "KAZ", "AFG", "2023-08-01", "2023-08-31"),
            ]
        )
    ]
    dd = score(tmp_path, perfect_rows(), mentions=ms, files=files).dedup
    assert dd.n_assigned == 2 and {g["gold_id"]: g["exact"] for g in dd.per_gold}["G3"] is False


def test_score_release_reads_only_the_scored_columns(tmp_path):
    from pipeline.evaluate.score import read_release_tables

    folder = write_release(tmp_path / "out", "2026.01.0")
    full = read_release_tables(folder)
    scored = read_release_tables(folder, scored_columns_only=True)
    assert set(scored["events"].columns) < set(full["events"].columns)
    assert scored["events"].columns == [c for c in full["events"].columns if c in scored["events"].columns]


def test_markdown_report_caps_wrong_rows_when_asked():
    from pipeline.evaluate.score import _wrong_table

    rows = [
        {
            "event_id": f"E{i}",
            "type": "meet",
            "modality": "asserted",
            "actor": "A",
            "target": "B",
            "date_start": None,
            "date_end": None,
            "quote": "q",
        }
        for i in range(120)
    ]
    capped = _wrong_table(rows, 50)
    assert sum(line.startswith("| E") for line in capped) == 50
    assert "70 more" in capped[-1]
    assert sum(line.startswith("| E") for line in _wrong_table(rows)) == 120


# --------------------------------------------------------------------------------------------
# One-to-one event matching
# --------------------------------------------------------------------------------------------

TWO_VISITS = """
events:
  - {id: V1, type: visit, actor: IRN, target: AFG, window: [2022-04-11, 2022-04-11], mentions: [000_a.txt]}
  - {id: V2, type: visit, actor: IRN, target: AFG, window: [2022-06-22, 2022-06-25], mentions: [001_b.txt]}
"""


def test_a_row_matching_two_gold_events_is_credited_once(tmp_path):
    # An undated row overlaps both windows: many-to-one credited both (recall 1.0), one-to-one one.
    rows = [event("E000000000001", "visit", "IRN", "AFG", None, None, [0], precision="unknown")]
    d = score(tmp_path, rows, TWO_VISITS).default
    assert d.required_matched == 1 and d.recall == pytest.approx(0.5)
    assert d.required_matchable == 2
    assert d.precision == 1.0 and d.n_correct == 1
    assert sum(len(v) for v in d.matched_by.values()) == 1


def test_the_matching_is_maximal_not_greedy(tmp_path):
    # The first row fits both events, the second only V1: both are credited (V2 to the first row).
    rows = [
        event("E000000000001", "visit", "IRN", "AFG", None, None, [0], precision="unknown"),
        event("E000000000002", "visit", "IRN", "AFG", "2022-04-11", "2022-04-11", [0]),
    ]
    d = score(tmp_path, rows, TWO_VISITS).default
    assert d.recall == 1.0 and d.precision == 1.0
    assert d.matched_by == {"V1": ["E000000000002"], "V2": ["E000000000001"]}


def test_a_second_row_for_one_event_is_a_wrong_duplicate_and_the_dated_row_gets_the_credit(tmp_path):
    gold = """
events:
  - {id: V1, type: visit, actor: IRN, target: AFG, window: [2022-04-11, 2022-04-11], mentions: [000_a.txt]}
"""
    rows = [
        event("E000000000001", "visit", "IRN", "AFG", None, None, [0], precision="unknown"),
        event("E000000000002", "visit", "IRN", "AFG", "2022-04-11", "2022-04-11", [1]),
    ]
    d = score(tmp_path, rows, gold).default
    assert d.matched_by == {"V1": ["E000000000002"]} and d.required_matched_dated == 1
    assert d.n_counted == 2 and d.precision == pytest.approx(0.5) and d.recall == 1.0
    assert d.n_duplicates == 1
    [w] = d.wrong_rows
    assert w["event_id"] == "E000000000001" and w["reason"] == "duplicate: V1 went to E000000000002"


def test_required_gold_is_preferred_to_optional_gold(tmp_path):
    gold = """
events:
  - {id: R, type: visit, actor: IRN, target: AFG, window: [2022-04-01, 2022-04-30], mentions: [000_a.txt]}
  - {id: O, type: visit, actor: IRN, target: AFG, window: [2022-04-10, 2022-05-30], mentions: [000_a.txt],
     required: false}
"""
    # Only the required event: credited. Both fit the first row; the second fits only O.
    rows = [
        event("E000000000001", "visit", "IRN", "AFG", "2022-04-11", "2022-04-11", [0]),
        event("E000000000002", "visit", "IRN", "AFG", "2022-05-11", "2022-05-11", [0]),
    ]
    d = score(tmp_path, rows, gold).default
    assert d.matched_by == {"R": ["E000000000001"]}
    assert (d.n_counted, d.n_optional_only, d.precision, d.recall) == (1, 1, 1.0, 1.0)
    # A row that can match only optional gold that another row holds is still left out, not wrong.
    rows.append(event("E000000000003", "visit", "IRN", "AFG", "2022-05-12", "2022-05-12", [0]))
    d = score(tmp_path, rows, gold).default
    assert (d.n_counted, d.n_optional_only, d.precision) == (1, 2, 1.0) and not d.wrong_rows


def test_assignment_tiers_are_strictly_ordered():
    from pipeline.evaluate.measures import assign_one_to_one

    # Row 0 on gold b (first tier) beats rows 0 -> a and 1 -> b (two edges of the second tier).
    assert assign_one_to_one({0: {"a": (0, 1), "b": (1, 0)}, 1: {"b": (0, 1)}}) == {0: "b"}
    # Without a first-tier edge, the larger matching wins.
    assert assign_one_to_one({0: {"a": (0, 1), "b": (0, 1)}, 1: {"b": (0, 1)}}) == {0: "a", 1: "b"}
    # Separate components are solved apart.
    assert assign_one_to_one({0: {"a": (1,)}, 1: {"c": (1,)}, 2: {}}) == {0: "a", 1: "c"}
    with pytest.raises(ValueError, match="no tier"):
        assign_one_to_one({0: {"a": (0, 0)}})


# --------------------------------------------------------------------------------------------
# Mention-level scores and confidence AUC
# --------------------------------------------------------------------------------------------

MENTION_GOLD = """
events:
  - {id: M1, type: meet, actor: IRN, target: IRQ, window: [2022-11-29, 2022-11-30],
     mentions: [000_a.txt, 001_b.txt]}
  - {id: M2, type: visit, actor: IRQ, target: IRN, window: [2022-11-29, 2022-11-30], mentions: [001_b.txt]}
  - {id: O1, type: appeal, actor: IRN, target: IRQ, window: [2022-11-01, 2022-12-31], mentions: [000_a.txt],
     required: false}
"""


def confident(rows: list[dict], values: list[float]) -> list[dict]:
    return [{**r, "confidence": c} for r, c in zip(rows, values)]


def mention_frame_with_confidence(rows: list[dict]) -> pl.DataFrame:
    frame = mentions_frame(rows)
    return frame.with_columns(pl.Series("confidence", [r["confidence"] for r in rows], dtype=pl.Float64))


def test_mention_precision_and_recall_on_a_hand_made_release(tmp_path):
    ms = confident(
        [
            # Two mentions in article 0 tell M1 (headline and body): both right, one pair.
            mention(1, None, 0, "meet", "IRQ", "IRN", "2022-11-29", "2022-11-29"),  # symmetric: either order
            mention(2, None, 0, "meet", "IRN", "IRQ", None, None),
            # Article 1 tells M2 but not M1; a wrong actor; a mention only O1 fits (left out).
            mention(3, None, 1, "visit", "IRQ", "IRN", "2022-11-29", "2022-11-30"),
            mention(4, None, 1, "visit", "IRN", "IRQ", "2022-11-29", "2022-11-30"),
            mention(5, None, 0, "appeal", "IRN", "IRQ", "2022-11-20", "2022-11-20"),
            # Hypothetical: not counted by default. M1 told in an article its gold does not list: wrong.
            mention(6, None, 1, "visit", "IRQ", "IRN", "2022-11-29", "2022-11-30", modality="hypothetical"),
            mention(7, None, 3, "meet", "IRN", "IRQ", "2022-11-29", "2022-11-29"),
            # M1's dates are wrong here: no pair.
            mention(8, None, 1, "meet", "IRN", "IRQ", "2021-01-01", "2021-01-01"),
        ],
        [0.9, 0.6, 0.8, 0.7, 0.5, 0.4, 0.6, 0.3],
    )
    gold = load_gold(write_gold(tmp_path, MENTION_GOLD))
    report = score_tables(events_frame([]), mention_frame_with_confidence(ms), articles_frame(FILES), gold)
    m = report.mentions
    assert (m.n_mentions, m.n_not_counted_modality, m.n_optional_only) == (8, 1, 1)
    # m1, m2 and m3 are right; m4, m7 and m8 wrong.
    assert (m.n_counted, m.n_right) == (6, 3) and m.precision == pytest.approx(0.5)
    # Pairs: (M1, 000_a), (M1, 001_b), (M2, 001_b); M1 in 001_b is missed.
    assert (m.required_pairs, m.required_pairs_matched) == (3, 2)
    assert m.recall == pytest.approx(2 / 3)
    assert [(p["gold_id"], p["file"]) for p in m.missed_pairs] == [("M1", "001_b.txt")]
    assert sorted(w["mention_id"] for w in m.wrong_mentions) == [mid(4), mid(7), mid(8)]
    # Right 0.9, 0.6, 0.8 against wrong 0.7, 0.6, 0.3: 7.5 of 9 pairs ranked right (a tie counts half).
    assert m.confidence_auc == pytest.approx(7.5 / 9)
    assert m.per_type["meet"] == {"n_counted": 4, "n_right": 2, "n_required": 2, "n_matched": 1}
    assert m.per_type["visit"] == {"n_counted": 2, "n_right": 1, "n_required": 1, "n_matched": 1}
    # Every modality counted: the hypothetical mention is right too.
    a = report.mentions_all_modalities
    assert (a.n_counted, a.n_right, a.required_pairs_matched) == (7, 4, 2)
    markdown = report.to_markdown()
    assert "(required gold event, article) pair" in markdown.split("## Mentions")[0]
    assert "| required (event, article) pairs matched | 2/3 |" in markdown


def test_mentions_of_articles_outside_the_gold_are_wrong_when_counted(tmp_path):
    ms = confident(
        [
            mention(1, None, 3, "meet", "IRN", "IRQ", "2022-11-29", "2022-11-29"),
            mention(2, None, 3, "meet", "IRN", "IRQ", "2022-11-29", "2022-11-29", modality="denied"),
            mention(3, None, 0, "meet", "IRN", "IRQ", "2022-11-29", "2022-11-29"),
        ],
        [0.2, 0.9, 0.4],
    )
    gold = load_gold(write_gold(tmp_path, MENTION_GOLD))
    m = score_tables(events_frame([]), mention_frame_with_confidence(ms), articles_frame(FILES), gold).mentions
    assert (m.n_mentions, m.n_counted, m.n_right, m.n_not_counted_modality) == (3, 2, 1, 1)
    assert m.confidence_auc == 1.0


def test_confidence_auc_on_a_known_ranking():
    from pipeline.evaluate.measures import confidence_auc

    assert confidence_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert confidence_auc([0.1, 0.2], [0.9, 0.8]) == 0.0
    # 0.9 and 0.8 beat both wrong rows (4), 0.5 ties 0.5 (half) and beats 0.1 (1): 5.5 of 6.
    assert confidence_auc([0.9, 0.8, 0.5], [0.5, 0.1]) == pytest.approx(5.5 / 6)
    assert confidence_auc([0.5, 0.5], [0.5]) == 0.5
    assert confidence_auc([], [0.5]) is None and confidence_auc([0.5], []) is None


def test_event_confidence_auc_and_per_type_scores(tmp_path):
    rows = [{**r, "confidence": c} for r, c in zip(perfect_rows(), [0.9, 0.4, 0.8])]
    rows.append({**event("E000000000009", "meet", "IRN", "IRQ", "2020-01-01", "2020-01-01", [3]), "confidence": 0.5})
    frame = events_frame(rows).with_columns(pl.Series("confidence", [r["confidence"] for r in rows]))
    d = score_tables(frame, mentions_frame([]), articles_frame(FILES), load_gold(write_gold(tmp_path, GOLD))).default
    # Right 0.9, 0.4, 0.8 against wrong 0.5: two of three above.
    assert d.confidence_auc == pytest.approx(2 / 3)
    assert d.per_type["meet"] == {"n_counted": 2, "n_correct": 1, "n_required": 1, "n_matched": 1}
    assert d.per_type["reject"] == {"n_counted": 1, "n_correct": 1, "n_required": 1, "n_matched": 1}
    # Without confidences (hand-made tables) the AUC is undefined, not computed on a subset.
    d = score(tmp_path, perfect_rows()).default
    assert d.confidence_auc is None and d.n_without_confidence == 3
