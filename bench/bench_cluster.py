"""Throughput of the cluster profile (run by hand; not a timed test).

    .venv/bin/python bench/bench_cluster.py [--corpus FILE ...] [--buckets 8] [--workers 2] [--keep]

Starts its own cluster (pipeline/scale/cluster.py: Postgres, Redis, ``--workers`` Celery workers on
free ports, in a temporary folder), builds the corpus (default: the committed 3,000-article Tehran
Times slice, tests/data/tehran_times_3000/) twice through it, each time into a fresh outputs folder
so nothing is reused:

- run 1, cold workers: each worker's pool process imports the pipeline and loads the parser model
  in its first extraction step;
- run 2, warm workers: what a long-lived worker does with every later build;

and once with `make run`'s code path (``python -m pipeline.cli build``, one process with a pool of
two extraction processes) on the same machine, for comparison. Reports, from the runs' events in
Postgres: wall time, time per step and the worker that ran it, the wait between a step being
submitted and starting (the executor polls Celery once a second), and per worker the busy time and
the extraction rate (articles and MB of text per second of extraction step); the peak memory (VmHWM)
of each worker's processes. Results also go to bench/results/cluster.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.scale.cluster import Layout, load_env, read_pid  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_CORPUS = ROOT / "tests" / "data" / "tehran_times_3000" / "articles.jsonl.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("wb") as f:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=3600)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}); log: {log}\n{log.read_text()[-3000:]}")
    return wall


def text_mb(corpus: list[Path]) -> tuple[int, float]:
    lines = chars = 0
    for path in corpus:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                lines += 1
                chars += len(json.loads(line).get("text") or "")
    return lines, chars / 1e6


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_memory(layout: Layout, names: list[str]) -> dict[str, dict[str, float]]:
    """Peak resident memory of each worker's main process and its pool process."""
    out = {}
    for name in names:
        pid = read_pid(layout.worker_pid(name))
        if not pid:
            continue
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        out[name] = {"main_mb": vm_hwm_mb(pid), "pool_mb": max((vm_hwm_mb(int(c)) for c in children), default=0.0)}
    return out


def run_report(instance, run_id: str) -> dict:
    import dagster as dg

    records = instance.get_records_for_run(run_id, limit=1_000_000).records
    steps: dict[str, dict] = defaultdict(dict)
    run_start = run_end = None
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None:
            continue
        kind, key, ts = event.event_type, entry.step_key, entry.timestamp
        if kind == dg.DagsterEventType.RUN_START:
            run_start = ts
        elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
            run_end = ts
        elif kind == dg.DagsterEventType.ENGINE_EVENT and key:
            meta = event.engine_event_data.metadata
            if "Celery worker" in meta:
                steps[key]["worker"] = meta["Celery worker"].value.split("@")[0].removeprefix("credence-")
            elif (entry.user_message or "").startswith("Submitting celery task"):
                steps[key]["submitted"] = ts
        elif kind == dg.DagsterEventType.STEP_START:
            steps[key]["start"] = ts
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            steps[key]["end"] = ts
        elif kind == dg.DagsterEventType.STEP_OUTPUT and key.startswith("extract_partition"):
            meta = event.event_specific_data.metadata
            steps[key]["articles"] = meta["articles_extracted"].value + meta["articles_reused"].value
    rows = {}
    for key, s in steps.items():
        rows[key] = {
            "worker": s.get("worker"),
            "seconds": round(s["end"] - s["start"], 2),
            "queue_wait_s": round(s["start"] - s["submitted"], 2) if "submitted" in s else None,
            **({"articles": s["articles"]} if "articles" in s else {}),
        }
    return {"run_wall_s": round(run_end - run_start, 2), "steps": rows}


def per_worker(report: dict, mb_per_article: float) -> dict:
    busy: dict[str, float] = defaultdict(float)
    extract_s: dict[str, float] = defaultdict(float)
    articles: dict[str, int] = defaultdict(int)
    for key, row in report["steps"].items():
        busy[row["worker"]] += row["seconds"]
        if key.startswith("extract_partition"):
            extract_s[row["worker"]] += row["seconds"]
            articles[row["worker"]] += row["articles"]
    out = {}
    for w in sorted(busy):
        rate = articles[w] / extract_s[w] if extract_s[w] else 0.0
        out[w] = {
            "busy_s": round(busy[w], 2),
            "extract_s": round(extract_s[w], 2),
            "articles": articles[w],
            "articles_per_s": round(rate, 1),
            "text_mb_per_s": round(rate * mb_per_article, 3),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, nargs="+", default=[DEFAULT_CORPUS])
    parser.add_argument("--buckets", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and stop the cluster)")
    args = parser.parse_args()

    lines, mb = text_mb(args.corpus)
    root = Path(tempfile.mkdtemp(prefix="credence-bench-cluster-"))
    root.chmod(0o755)  # under root, Postgres runs as the postgres user and must reach its folder
    raw = root / "raw"
    raw.mkdir()
    for i, path in enumerate(args.corpus):
        shutil.copy2(path, raw / f"corpus{i}.jsonl.gz")
    layout = Layout(root / "cluster")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("CREDENCE_")}
    py = [sys.executable, "-m", "pipeline.scale.cluster", "--dir", str(layout.root)]
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "corpus": {"files": [str(p) for p in args.corpus], "lines": lines, "text_mb": round(mb, 1)},
        "buckets": args.buckets,
        "workers": args.workers,
    }
    try:
        result["cluster_up_s"] = round(
            timed(
                [
                    *py,
                    "up",
                    "--pg-port",
                    str(free_port()),
                    "--redis-port",
                    str(free_port()),
                    "--workers",
                    str(args.workers),
                ],
                env,
                root / "up.log",
            ),
            2,
        )
        cluster_env = load_env(layout)
        runs = []
        for name in ("cold", "warm"):
            out = root / f"out_{name}"
            # A fresh outputs folder per run (nothing reused), so the cluster's instance is handed over.
            (layout.dagster_home / "credence-outputs.txt").unlink(missing_ok=True)
            wall = timed(
                [*py, "run", "--buckets", str(args.buckets)],
                {**env, "CREDENCE_RAW_DIR": str(raw), "CREDENCE_OUTPUTS_DIR": str(out)},
                root / f"run_{name}.log",
            )
            runs.append((name, wall))
        ref_wall = timed(
            [sys.executable, "-m", "pipeline.cli", "build"],
            {
                **env,
                "CREDENCE_RAW_DIR": str(raw),
                "CREDENCE_OUTPUTS_DIR": str(root / "out_make_run"),
                "DAGSTER_HOME": str(root / "make_run_home"),
            },
            root / "make_run.log",
        )
        result["make_run_wall_s"] = round(ref_wall, 2)

        os.environ.update(cluster_env)
        import dagster as dg

        with dg.DagsterInstance.from_config(str(layout.dagster_home)) as instance:
            by_time = sorted(instance.get_run_records(), key=lambda rec: rec.create_timestamp)
            for (name, wall), record in zip(runs, by_time, strict=True):
                report = run_report(instance, record.dagster_run.run_id)
                report["command_wall_s"] = round(wall, 2)
                extract = {k: v for k, v in report["steps"].items() if k.startswith("extract_partition")}
                articles = sum(v["articles"] for v in extract.values())
                report["articles"] = articles
                report["articles_per_s_run"] = round(articles / report["run_wall_s"], 1)
                report["per_worker"] = per_worker(report, mb / max(lines, 1))
                waits = [v["queue_wait_s"] for v in report["steps"].values() if v["queue_wait_s"] is not None]
                report["queue_wait_s"] = {"mean": round(sum(waits) / len(waits), 2), "max": max(waits)}
                result[f"run_{name}"] = report
        result["worker_peak_memory_mb"] = worker_memory(layout, [f"w{i}" for i in range(1, args.workers + 1)])
    finally:
        subprocess.run([*py, "down"], cwd=ROOT, env=env, capture_output=True, timeout=600)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cluster.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"corpus: {lines} lines, {mb:.1f} MB of text; {args.buckets} buckets, {args.workers} workers")
    print(f"cluster up: {result['cluster_up_s']} s; make run's path: {result['make_run_wall_s']} s")
    for name in ("cold", "warm"):
        r = result[f"run_{name}"]
        print(
            f"run ({name} workers): command {r['command_wall_s']} s, run {r['run_wall_s']} s, "
            f"{r['articles']} articles -> {r['articles_per_s_run']} articles/s; step wait "
            f"mean {r['queue_wait_s']['mean']} s, max {r['queue_wait_s']['max']} s"
        )
        for key, row in sorted(r["steps"].items(), key=lambda kv: kv[0]):
            print(f"    {key:24s} {row['worker'] or '?':4s} {row['seconds']:6.2f} s  wait {row['queue_wait_s']}")
        for w, row in r["per_worker"].items():
            print(
                f"  {w}: busy {row['busy_s']} s, extraction {row['extract_s']} s for {row['articles']} articles "
                f"= {row['articles_per_s']} articles/s ({row['text_mb_per_s']} MB/s)"
            )
    print(f"worker peak memory (MB): {result['worker_peak_memory_mb']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
