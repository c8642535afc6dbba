"""`make quality`: the development-set config, the tune/check split and the table, on a tiny fixture
(hand-made release tables; one test builds a real release of one seed article)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from test_evaluate import aid, articles_frame, event, events_frame, mention, mentions_frame

from pipeline.evaluate.gold import load_gold
from pipeline.evaluate.quality import (
    SUMMARY_LINES,
    QualityConfigError,
    load_config,
    main,
    part_gold,
    split_tables,
)
from pipeline.evaluate.score import read_release_tables

PROJECT_ROOT = Path(__file__).resolve().parent.parent

GOLD = """
events:
  - {id: A1, type: meet, actor: IRN, target: IRQ, window: [2022-01-01, 2022-01-02], mentions: [c001.txt, c002.txt]}
  - {id: A2, type: visit, actor: IRQ, target: IRN, window: [2022-01-01, 2022-01-02], mentions: [c003.txt]}
  - {id: S1, type: sign_agreement, actor: IRN, target: SAU, window: [2022-01-01, 2022-01-02],
     mentions: [c002.txt, c004.txt]}
  - {id: O1, type: appeal, actor: IRN, target: IRQ, window: [2022-01-01, 2022-01-02], mentions: [c001.txt],
     required: false}
"""

CONFIG = """
sets:
  - name: fixture
    gold: gold.yaml
    raw: raw
    check: {rule: "the last two files", files: [c003.txt, c004.txt]}
    targets: {level: mention, precision: 0.5, recall: 0.75}
"""

DAY = "2022-01-01"


def write_fixture(root: Path, config: str = CONFIG, gold: str = GOLD) -> Path:
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for n in range(1, 5):
        (raw / f"c00{n}.txt").write_text(f"article {n}\n", encoding="utf-8")
    (root / "gold.yaml").write_text(gold, encoding="utf-8")
    (root / "quality.yaml").write_text(config, encoding="utf-8")
    return root / "quality.yaml"


def write_release(work: Path, name: str = "fixture", version: str = "2026.01.01") -> Path:
    """Articles 1-4 are c001-c004. Right: m1, m2 (A1), m3 (A2), m4 (S1 in c004). Wrong: m5 (meet in
    c003, which A1 does not list; as an event a second row for A1) and m6 (criticize)."""
    release = work / name / "releases" / version
    release.mkdir(parents=True)
    ms = [
        mention(1, "E000000000001", 1, "meet", "IRN", "IRQ", DAY, DAY),
        mention(2, "E000000000001", 2, "meet", "IRN", "IRQ", DAY, DAY),
        mention(3, "E000000000002", 3, "visit", "IRQ", "IRN", DAY, DAY),
        mention(4, "E000000000003", 4, "sign_agreement", "IRN", "SAU", DAY, DAY),
        mention(5, "E000000000004", 3, "meet", "IRN", "IRQ", DAY, DAY),
        mention(6, "E000000000005", 2, "criticize", "IRN", "IRQ", DAY, DAY),
    ]
    rows = [
        event("E000000000001", "meet", "IRN", "IRQ", DAY, DAY, [1, 2], mentions=[1, 2]),
        event("E000000000002", "visit", "IRQ", "IRN", DAY, DAY, [3], mentions=[3]),
        event("E000000000003", "sign_agreement", "IRN", "SAU", DAY, DAY, [4], mentions=[4]),
        event("E000000000004", "meet", "IRN", "IRQ", DAY, DAY, [3], mentions=[5]),
        event("E000000000005", "criticize", "IRN", "IRQ", DAY, DAY, [2], mentions=[6]),
    ]
    mention_conf = [0.9, 0.8, 0.7, 0.6, 0.95, 0.1]
    event_conf = [0.9, 0.7, 0.6, 0.95, 0.1]
    mentions_frame(ms).with_columns(pl.Series("confidence", mention_conf)).write_parquet(release / "mentions.parquet")
    events_frame(rows).with_columns(pl.Series("confidence", event_conf)).write_parquet(release / "events.parquet")
    articles_frame({n: f"c00{n}.txt" for n in range(1, 5)}).write_parquet(release / "articles.parquet")
    (work / name / "releases" / "LATEST").write_text(version + "\n")
    return release


def test_shipped_config_loads_with_its_split():
    sets = {s.name: s for s in load_config()}
    assert list(sets) == ["seeds", "plover", "tehran_dev"]
    assert not sets["seeds"].split and sets["seeds"].part_of("000_x.txt") == "all"
    plover = sets["plover"]
    assert [plover.part_of(f"p{n:03d}.txt") for n in (3, 4, 5, 8, 180)] == ["tune", "check", "tune", "check", "check"]
    tehran = sets["tehran_dev"]
    assert len(tehran.check_files) == 13
    assert tehran.part_of("tt_485416.txt") == "check" and tehran.part_of("tt_465949.txt") == "tune"
    # The development sets ship in the repo: nothing points outside it.
    for s in sets.values():
        assert PROJECT_ROOT in s.gold.parents and PROJECT_ROOT in s.raw.parents


def test_split_keeps_each_part_to_its_articles(tmp_path):
    config = write_fixture(tmp_path)
    [qset] = load_config(config)
    release = write_release(tmp_path / "work")
    tables = read_release_tables(release, scored_columns_only=True)
    gold = load_gold(qset.gold)

    events, mentions, tune_gold = split_tables(qset, tables, gold, "tune")
    assert events["event_id"].to_list() == ["E000000000001", "E000000000005"]
    assert sorted(mentions["article_id"].unique().to_list()) == [aid(1), aid(2)]
    # S1 is told in both parts: each part holds it with its own articles only.
    assert {g.id: g.mentions for g in tune_gold} == {
        "A1": ("c001.txt", "c002.txt"),
        "S1": ("c002.txt",),
        "O1": ("c001.txt",),
    }
    events, mentions, check_gold = split_tables(qset, tables, gold, "check")
    assert events["event_id"].to_list() == ["E000000000002", "E000000000003", "E000000000004"]
    assert sorted(mentions["article_id"].unique().to_list()) == [aid(3), aid(4)]
    assert {g.id: g.mentions for g in check_gold} == {"A2": ("c003.txt",), "S1": ("c004.txt",)}
    assert part_gold(qset, gold, "check")[1].evidence == gold[2].evidence


def test_an_event_merged_across_the_parts_is_scored_in_both(tmp_path):
    [qset] = load_config(write_fixture(tmp_path))
    release = write_release(tmp_path / "work")
    events = pl.read_parquet(release / "events.parquet")
    merged = events.with_columns(
        pl.when(pl.col("event_id") == "E000000000001")
        .then(pl.lit([aid(1), aid(3)]))
        .otherwise(pl.col("article_ids"))
        .alias("article_ids")
    )
    tables = {**read_release_tables(release, scored_columns_only=True), "events": merged}
    gold = load_gold(qset.gold)
    assert "E000000000001" in split_tables(qset, tables, gold, "tune")[0]["event_id"].to_list()
    assert "E000000000001" in split_tables(qset, tables, gold, "check")[0]["event_id"].to_list()


def test_plover_style_number_rule(tmp_path):
    config = CONFIG.replace(
        'check: {rule: "the last two files", files: [c003.txt, c004.txt]}',
        "check: {rule: 'even', file_pattern: '^c(\\d+)\\.txt$', number_multiple_of: 2}",
    )
    [qset] = load_config(write_fixture(tmp_path, config))
    assert [qset.part_of(f"c00{n}.txt") for n in range(1, 5)] == ["tune", "check", "tune", "check"]
    with pytest.raises(QualityConfigError, match="does not match the check part's file_pattern"):
        qset.part_of("notes.txt")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c, g: (c.replace("gold.yaml", "nope.yaml"), g), "gold file not found"),
        (lambda c, g: (c.replace("c004.txt]", "c009.txt]"), g), "check files not in"),
        (
            lambda c, g: (c.replace("[c003.txt, c004.txt]", "[c001.txt, c002.txt, c003.txt, c004.txt]"), g),
            "leaves a part empty",
        ),
        (lambda c, g: (c, g.replace("mentions: [c003.txt]", "mentions: [c099.txt]")), "gold mentions not in"),
        (lambda c, g: (c.replace("name: fixture", "name: all"), g), "names must be unique"),
        (lambda c, g: (c.replace("level: mention", "level: sentence"), g), "targets need level"),
        (lambda c, g: (c.replace('rule: "the last two files", ', ""), g), "check needs a rule"),
    ],
)
def test_bad_configs_are_refused_with_a_reason(tmp_path, edit, message):
    config, gold = edit(CONFIG, GOLD)
    with pytest.raises(QualityConfigError, match=message):
        load_config(write_fixture(tmp_path, config, gold))


def test_quality_table_and_record_from_a_tiny_fixture(tmp_path, capsys):
    config = write_fixture(tmp_path)
    work = tmp_path / "work"
    write_release(work)
    record_file = tmp_path / "quality.json"
    assert (
        main(
            ["--config", str(config), "--work", str(work), "--no-build", "--record", "--record-file", str(record_file)]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    summary = out[-SUMMARY_LINES:]
    assert summary[0].startswith("== Credence quality ") and "code " in summary[0]
    assert not any(line.startswith("== per event type") for line in summary)
    rows = {tuple(line.split()[:2]): line.split() for line in summary if line.startswith("fixture")}
    assert set(rows) == {("fixture", "tune"), ("fixture", "check"), ("fixture", "all")}
    # tune: mentions 2 of 3 right, pairs A1 x2 matched, S1 in c002 missed; events E1 right, E5 wrong.
    assert rows["fixture", "tune"][3:7] == ["0.67", "0.67", "0.67", "2/3"]
    assert rows["fixture", "tune"][7:11] == ["0.50", "0.50", "0.50", "1/2"]
    # check: m3, m4 right, m5 wrong; events E2, E3 right, E4 wrong (A1 is not in this part).
    assert rows["fixture", "check"][3:7] == ["0.67", "1.00", "0.80", "2/2"]
    assert rows["fixture", "check"][7:11] == ["0.67", "1.00", "0.80", "2/2"]
    # all: E4 is a second row for A1 (a duplicate), so 3 of 5 rows are right.
    assert rows["fixture", "all"][6] == "4/5" and rows["fixture", "all"][7:11] == ["0.60", "1.00", "0.75", "3/3"]
    assert rows["fixture", "all"][12] == "1"  # dup
    assert any(line.startswith("target fixture (mention P>=0.50 R>=0.75): met") for line in summary)
    assert "== per event type: fixture" in "\n".join(out[:-SUMMARY_LINES])

    data = json.loads((work / "report.json").read_text())
    assert json.loads(record_file.read_text()) == data
    assert {"date", "commit", "rules", "sets", "all"} <= set(data) and data["commit"]
    parts = data["sets"]["fixture"]["parts"]
    assert parts["all"]["mention"]["confidence_auc"] == 0.5  # right .9 .8 .7 .6 vs wrong .95 .1
    assert parts["all"]["event"]["confidence_auc"] == 0.5  # right .9 .7 .6 vs wrong .95 .1
    assert parts["check"]["event"]["n_correct"] == 2 and parts["all"]["event"]["duplicates"] == 1
    # A (gold event, article) pair lies in one part, so mention pairs add up over the parts.
    assert (
        parts["tune"]["mention"]["required_pairs"] + parts["check"]["mention"]["required_pairs"]
        == parts["all"]["mention"]["required_pairs"]
        == 5
    )
    assert parts["all"]["per_type"]["meet"]["mention"] == {
        "precision": 0.6667,
        "recall": 1.0,
        "f1": 0.8,
        "n_counted": 3,
        "n_right": 2,
        "n_required": 2,
        "n_matched": 2,
    }
    assert data["sets"]["fixture"]["gold_events_in_both_parts"] == ["S1"]
    assert data["all"]["mention"] == parts["all"]["mention"]  # one set: the total is the set


def test_a_missing_release_or_a_bad_config_exits_2(tmp_path, capsys):
    config = write_fixture(tmp_path)
    assert main(["--config", str(config), "--work", str(tmp_path / "work"), "--no-build"]) == 2
    assert "has no release" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.yaml"), "--work", str(tmp_path / "work")]) == 2
    assert "quality config not found" in capsys.readouterr().err


@pytest.mark.slow
def test_make_quality_builds_a_release_of_its_own(tmp_path, capsys):
    """The real build of one seed article, in its own outputs folder and Dagster instance."""
    gold = PROJECT_ROOT / "examples" / "gold" / "seed_events.yaml"
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy2(PROJECT_ROOT / "raw" / "000_67289216886c4a4e.txt", raw)
    events = [g for g in load_gold(gold) if g.mentions == ("000_67289216886c4a4e.txt",)]
    assert events
    text = gold.read_text(encoding="utf-8")
    kept = "\n".join(block for block in text.split("\n\n") if any(f"id: {g.id}\n" in block for g in events))
    (tmp_path / "gold.yaml").write_text("events:\n" + kept + "\n", encoding="utf-8")
    (tmp_path / "quality.yaml").write_text("sets:\n  - {name: one, gold: gold.yaml, raw: raw}\n", encoding="utf-8")
    work = tmp_path / "work"
    assert main(["--config", str(tmp_path / "quality.yaml"), "--work", str(work)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (work / "dagster" / "one" / "dagster.yaml").is_file()
    assert (work / "one" / "releases" / "LATEST").is_file()
    [row] = [line.split() for line in out[-SUMMARY_LINES:] if line.startswith("one ")]
    assert row[2] == "1" and row[6].endswith(f"/{len(events)}")
    data = json.loads((work / "report.json").read_text())
    assert data["sets"]["one"]["parts"]["all"]["n_gold_events"] == len(events)
