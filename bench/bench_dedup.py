"""Benchmark deduplication on synthetic mentions (run by hand; prints a table).

    .venv/bin/python bench/bench_dedup.py [10000 100000 1000000]

Each size runs in a fresh subprocess so that peak RSS (ru_maxrss of the child) is the size's own.
Target: 1,000,000 mentions clustered in < 30 s with < 4 GB peak RSS on a 2-core machine.
Columns: cluster s = cluster_mentions only; dedup s = the whole build_events() (cluster, settle,
ids); rebuild s = build_events() again with the first build's registry; peak RSS includes
generating the synthetic corpus.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_one(n: int) -> dict:
    from pipeline.dedup.cluster import cluster_mentions
    from pipeline.dedup.core import build_events
    from tests.synthetic import synthetic_corpus

    mentions, articles = synthetic_corpus(n, seed=1)
    t0 = time.perf_counter()
    clustered = cluster_mentions(mentions)
    t_cluster = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    first = build_events(mentions, articles, None)
    t_full, cpu_full = time.perf_counter() - t0, time.process_time() - c0
    # A rebuild with the registry of the first build exercises the id carry-over path.
    t0 = time.perf_counter()
    build_events(mentions, articles, first.registry)
    t_rebuild = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    multi = clustered.filter(clustered["__cluster"] != clustered["__order"]).height
    return {
        "n": n,
        "events": first.events.height,
        "joined": multi,
        "cluster_s": t_cluster,
        "dedup_s": t_full,
        "dedup_cpu_s": cpu_full,
        "rebuild_s": t_rebuild,
        "peak_rss_mb": rss_mb,
    }


def main(sizes: list[int]) -> None:
    # Wall times depend on what else runs on the machine; the CPU column (user+sys of the
    # process, polars threads included) is the steadier figure when the machine is shared.
    print(
        f"{'mentions':>10} {'events':>9} {'cluster s':>10} {'dedup s':>9} {'dedup cpu s':>12} "
        f"{'rebuild s':>10} {'us/mention':>11} {'peak RSS MB':>12}"
    )
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['n']:>10,} {r['events']:>9,} {r['cluster_s']:>10.2f} {r['dedup_s']:>9.2f} {r['dedup_cpu_s']:>12.2f} "
            f"{r['rebuild_s']:>10.2f} {1e6 * r['dedup_s'] / r['n']:>11.2f} {r['peak_rss_mb']:>12.0f}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(run_one(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
