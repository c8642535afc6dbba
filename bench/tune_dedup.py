"""Tune deduplication's link threshold on the tune parts of the development sets (run by hand).

    .venv/bin/python bench/tune_dedup.py            # after `make quality` (it reads .quality/)

The mentions of each set are those of its latest `make quality` release (extraction is not what is
tuned); the articles and their texts come from ingesting the set's raw folder again. For every
(THRESHOLD, BONUS) of the grid the mentions are deduplicated again (dedup.core.build_events, with
the module constants of dedup/cluster.py replaced) and the mention pairs are scored on the tune
parts only: the seeds (one part: they have no held-out part) and tehran_dev's tune part. The check
parts (quality.yaml) are never read. Prints one line per grid point, pooled pair precision,
recall, F1 and false merges, and the chosen point: the most pooled pair recall among the points
whose pooled pair precision reaches TARGET_PRECISION (the issue's bar: a false merge costs more
than a missed link, and at corpus scale a loose link grows events across occurrences). Such points
form a plateau; ties go to the point with the most grid neighbours on the plateau (its middle: a
small change of either value does not change the result), then the larger bonus, then the smaller
threshold. The best-F1 point is printed too.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLDS = [round(0.30 + 0.025 * i, 3) for i in range(17)]  # 0.30 .. 0.70
BONUSES = [0.0, 0.05, 0.10, 0.15, 0.20]
TARGET_PRECISION = 0.95  # issue 16's bar for tehran_dev
SETS = ("seeds", "tehran_dev")


def main() -> None:
    import polars as pl

    from pipeline.dedup import cluster
    from pipeline.dedup.core import build_events
    from pipeline.evaluate.quality import DEFAULT_CONFIG, latest_release, load_config, split_tables
    from pipeline.evaluate.score import load_gold, read_release_tables, score_tables
    from pipeline.ingest.core import ingest_raw

    work = ROOT / ".quality"
    inputs = []
    for qset in load_config(DEFAULT_CONFIG):
        if qset.name not in SETS:
            continue
        release = latest_release(work, qset)
        tables = read_release_tables(release)
        articles = ingest_raw(qset.raw).articles
        mentions = tables["mentions"].with_columns(pl.lit(None, dtype=pl.String).alias("event_id"))
        part = "tune" if qset.split else None
        inputs.append((qset, articles, mentions, load_gold(qset.gold), tables, part))
        print(f"{qset.name}: {mentions.height} mentions from {release}")

    rows = []
    for threshold, bonus in itertools.product(THRESHOLDS, BONUSES):
        cluster.THRESHOLD, cluster.BONUS = threshold, bonus
        common = predicted = gold_pairs = 0
        merges, per_set = {}, {}
        for qset, articles, mentions, gold, tables, part in inputs:
            result = build_events(mentions, articles, None)
            scored = {**tables, "events": result.events, "mentions": result.mentions}
            if part is None:
                events, part_mentions, part_gold = result.events, result.mentions, gold
            else:
                events, part_mentions, part_gold = split_tables(qset, scored, gold, part)
            report = score_tables(events, part_mentions, tables["articles"], part_gold, quarantine=tables["quarantine"])
            d = report.dedup
            common += d.common_pairs
            predicted += d.predicted_pairs
            gold_pairs += d.gold_pairs
            merges[qset.name] = len(d.false_merges)
            per_set[qset.name] = f"{d.common_pairs}/{d.predicted_pairs}/{d.gold_pairs}"
        p = common / predicted if predicted else 1.0
        r = common / gold_pairs if gold_pairs else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        rows.append((threshold, bonus, p, r, f, merges))
        print(
            f"threshold {threshold:.3f} bonus {bonus:.2f}: pair P {p:.3f} R {r:.3f} F1 {f:.3f} "
            f"false merges {merges} (common/predicted/gold pairs {per_set})"
        )
    best_f1 = max(rows, key=lambda row: (round(row[4], 6), row[0]))
    print(f"best F1: THRESHOLD = {best_f1[0]}, BONUS = {best_f1[1]} (pair P {best_f1[2]:.3f} R {best_f1[3]:.3f})")
    eligible = [row for row in rows if row[2] >= TARGET_PRECISION] or rows
    top = max(round(row[3], 6) for row in eligible)
    plateau = {(row[0], row[1]) for row in eligible if round(row[3], 6) == top}
    ti = {t: i for i, t in enumerate(THRESHOLDS)}
    bi = {b: i for i, b in enumerate(BONUSES)}

    def neighbours(t: float, b: float) -> int:
        return sum(
            (THRESHOLDS[ti[t] + dt], BONUSES[bi[b] + db]) in plateau
            for dt in (-1, 0, 1)
            for db in (-1, 0, 1)
            if (dt or db) and 0 <= ti[t] + dt < len(THRESHOLDS) and 0 <= bi[b] + db < len(BONUSES)
        )

    best = max(
        (row for row in eligible if (row[0], row[1]) in plateau),
        key=lambda row: (neighbours(row[0], row[1]), row[1], -row[0]),
    )
    print(f"chosen: THRESHOLD = {best[0]}, BONUS = {best[1]} (pair P {best[2]:.3f} R {best[3]:.3f} F1 {best[4]:.3f})")


if __name__ == "__main__":
    main()
