"""Benchmark deduplication in partitions on synthetic mentions (run by hand; prints a table).

    .venv/bin/python bench/bench_dedup_partitions.py [--partitions N] [--check] [--single] [1000000 10000000]

Runs the scale-out job's dedup steps the way the job does, each in a process of its own, on files:
the plan (``plan_dedup`` + one streamed file per partition: the partition_mentions op), one step
per partition (``deduplicate_partition`` with the dedup cache: dedup_partition), the merge
(``merge_dedup``'s work: ids over every partition, the events, mentions and registry written in
key-range pieces, the dedup cache rewritten: dedup_merge). Then the same again as a rebuild of the
same mentions with the first build's registry and cache (the incremental path: every component
found in the cache, every id carried over). For each step: wall and CPU seconds and peak RSS
(ru_maxrss of the step's process, so imports and reading its inputs count). The target (issue
19): no step above 3 GB at 10M mentions.

Partitions: ``--partitions`` (default: the job's rule, at least 8 and at most 600k mentions each).
``--single`` also runs the single-step core.build_events (sizes up to 2M: 10M would need about 25
GB); ``--check`` compares the partitioned tables with it. The synthetic corpus (tests/synthetic.py,
the one bench_dedup.py uses) is generated once per size, outside the measured steps. Work files
go to a temporary folder (``--keep`` keeps it), results to bench/results/dedup_partitions.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
LIMIT_MB = 3 * 1024
PART_TABLES = ("mentions", "events", "components", "sources", "masks")


def _measure(fn) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    info = fn() or {}
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **info,
    }


# ---------------------------------------------------------------------------------------------
# The steps, each run in its own process (python bench_dedup_partitions.py --step NAME WORK ...)


def step_generate(work: Path, n: int) -> dict:
    from tests.synthetic import synthetic_corpus

    mentions, articles = synthetic_corpus(n, seed=1)
    mentions.write_parquet(work / "mentions.parquet")
    articles.write_parquet(work / "articles.parquet")
    return {"mentions": mentions.height, "articles": articles.height}


def step_plan(work: Path, build: str, partitions: int) -> dict:
    import polars as pl

    from pipeline.dedup.partitions import MAX_DEDUP_MENTIONS, split_by_plan
    from pipeline.dedup.stage import plan_dedup

    default_partitions = 8  # pipeline.scale.jobs.DEFAULT_DEDUP_PARTITIONS (not imported: Dagster's import time)

    out = work / build
    out.mkdir(exist_ok=True)
    valid, articles = pl.scan_parquet(work / "mentions.parquet"), pl.scan_parquet(work / "articles.parquet")
    plan = plan_dedup(
        valid,
        articles,
        partitions=partitions or default_partitions,
        max_per_partition=10**12 if partitions else MAX_DEDUP_MENTIONS,
    )
    for p, frame in enumerate(split_by_plan(valid, plan)):
        frame.sink_parquet(out / f"part{p}.parquet", compression="zstd", compression_level=1, statistics=False)
    return {"partitions": plan.partitions, "plan": plan.describe(), "sizes": plan.sizes}


def step_partition(work: Path, build: str, p: int) -> dict:
    import polars as pl

    from pipeline.dedup.stage import deduplicate_partition

    out = work / build
    part, found = deduplicate_partition(
        pl.read_parquet(out / f"part{p}.parquet"),
        pl.scan_parquet(work / "articles.parquet"),
        p,
        cache_root=work / "cache",
    )
    s = part.settled
    for name, table in zip(PART_TABLES, (s.mentions, s.events, s.components, s.sources, part.masks)):
        table.write_parquet(out / f"{name}{p}.parquet", compression="zstd", compression_level=1, statistics=False)
    return {"mentions": s.mentions.height, "events": s.events.height, **found}


def step_merge(work: Path, build: str, partitions: int, registry: str) -> dict:
    import polars as pl

    from pipeline.dedup.cache import DedupCache
    from pipeline.dedup.partitions import PartFrames, merge_parts

    out = work / build
    parts = [
        PartFrames(*(pl.scan_parquet(out / f"{name}{p}.parquet") for name in PART_TABLES)) for p in range(partitions)
    ]
    previous = pl.scan_parquet(registry) if registry != "-" else None  # as merge_dedup scans the release's
    merged = merge_parts(parts, previous, scratch=out / "merge")
    # What the job's IO manager does with the merge's outputs, and merge_dedup with the cache.
    for name, frame in (("events", merged.events), ("mentions", merged.mentions), ("registry", merged.registry)):
        frame.write_parquet(out / f"final_{name}.parquet")
    merged.lineage.write_parquet(out / "final_lineage.parquet")
    cache = DedupCache(work / "cache")
    with cache.stage.locked():
        cache.save_pieces(merged.masks, merged.components, merged.sources)
    return {"mentions": merged.n_mentions, "events": merged.n_events, "lineage": merged.lineage.height}


def step_single(work: Path, registry: str) -> dict:
    import polars as pl

    from pipeline.dedup.core import build_events

    result = build_events(
        pl.read_parquet(work / "mentions.parquet"),
        pl.read_parquet(work / "articles.parquet"),
        pl.read_parquet(registry) if registry != "-" else None,
    )
    tag = "single_rebuild" if registry != "-" else "single"
    for name in ("events", "mentions", "registry", "lineage"):
        getattr(result, name).write_parquet(work / f"{tag}_{name}.parquet")
    return {"events": result.events.height}


STEPS = {"generate": step_generate, "plan": step_plan, "partition": step_partition, "merge": step_merge}
STEPS["single"] = step_single


# ---------------------------------------------------------------------------------------------
# Driver


def run_step(name: str, *args) -> dict:
    cmd = [sys.executable, __file__, "--step", name, *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"step {name} {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(work: Path, label: str, partitions: int, registry: str) -> dict:
    plan = run_step("plan", work, label, partitions)
    n = plan["partitions"]
    parts = [run_step("partition", work, label, p) for p in range(n)]
    merge = run_step("merge", work, label, n, registry)
    return {"plan": plan, "partitions": parts, "merge": merge}


def _row(label: str, step: str, r: dict) -> str:
    flag = "  OVER 3 GB" if r["peak_rss_mb"] > LIMIT_MB else ""
    return f"{label:>10} {step:<28} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_rss_mb']:>9.0f}{flag}"


def report(n: int, label: str, b: dict) -> list[str]:
    parts = b["partitions"]
    lines = [_row(label, "plan + split", b["plan"])]
    worst = max(parts, key=lambda r: r["peak_rss_mb"])
    lines.append(
        _row(label, f"partition (worst of {len(parts)})", worst)
        + f"   all: wall {sum(r['wall_s'] for r in parts):.1f} s, "
        f"{min(r['wall_s'] for r in parts):.1f}-{max(r['wall_s'] for r in parts):.1f} s each, "
        f"{min(r['peak_rss_mb'] for r in parts):.0f}-{worst['peak_rss_mb']:.0f} MB"
    )
    lines.append(_row(label, "merge", b["merge"]))
    total = b["plan"]["wall_s"] + sum(r["wall_s"] for r in parts) + b["merge"]["wall_s"]
    lines.append(f"{label:>10} {'steps one after another':<28} {total:>8.1f}")
    return lines


def compare(work: Path, label: str, tag: str) -> list[str]:
    import polars as pl

    bad = []
    for name in ("events", "mentions", "registry", "lineage"):
        a, b = pl.read_parquet(work / label / f"final_{name}.parquet"), pl.read_parquet(work / f"{tag}_{name}.parquet")
        if not a.equals(b):
            bad.append(name)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--partitions", type=int, default=0, help="partitions (default: the job's rule)")
    parser.add_argument("--single", action="store_true", help="also the single-step build_events (sizes <= 2M)")
    parser.add_argument("--check", action="store_true", help="compare with the single step (implies --single)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        work = Path(tempfile.mkdtemp(prefix=f"dedup-partitions-{n}-"))
        try:
            gen = run_step("generate", work, n)
            print(f"\n{n:,} synthetic mentions ({gen['articles']:,} articles), work folder {work}")
            first = build(work, "first", args.partitions, "-")
            print(f"  {first['plan']['plan']}")
            rebuild = build(work, "rebuild", args.partitions, work / "first" / "final_registry.parquet")
            entry = {"n": n, "first": first, "rebuild": rebuild}
            print(f"{'build':>10} {'step':<28} {'wall s':>8} {'cpu s':>8} {'peak MB':>9}")
            for line in report(n, "first", first) + report(n, "rebuild", rebuild):
                print(line)
            if (args.single or args.check) and n <= 2_000_000:
                entry["single"] = run_step("single", work, "-")
                entry["single_rebuild"] = run_step("single", work, work / "single_registry.parquet")
                print(_row("single", "build_events", entry["single"]))
                print(_row("single", "build_events, rebuild", entry["single_rebuild"]))
                if args.check:
                    entry["differs"] = compare(work, "first", "single") + compare(work, "rebuild", "single_rebuild")
                    print(f"  partitioned == single step: {'yes' if not entry['differs'] else entry['differs']}")
            steps = [first["plan"], *first["partitions"], first["merge"], rebuild["plan"], *rebuild["partitions"]]
            steps.append(rebuild["merge"])
            entry["max_step_rss_mb"] = max(r["peak_rss_mb"] for r in steps)
            print(f"  largest step: {entry['max_step_rss_mb']:.0f} MB (target: no step above {LIMIT_MB} MB)")
            results.append(entry)
        finally:
            if args.keep:
                print(f"  kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dedup_partitions.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--step":
        name, rest = sys.argv[2], sys.argv[3:]
        work = Path(rest[0])
        typed = [work, *(int(a) if a.lstrip("-").isdigit() else a for a in rest[1:])]
        print(json.dumps(_measure(lambda: STEPS[name](*typed))))
    else:
        main()
