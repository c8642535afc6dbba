"""End-to-end speed and memory benchmark (run by hand: `make bench`; not a timed test).

    .venv/bin/python bench/run_bench.py [--corpus FILE] [--no-dedup] [--dedup-sizes 10000 100000 1000000]
                                        [--profile] [--keep]

Builds a release of the Tehran Times corpus (33,692 articles, ~106 MB of text in one .jsonl.gz
bundle) through the same code path as `make run` (`python -m pipeline.cli build`, the build_release
job in a persistent instance), in temporary raw / outputs / DAGSTER_HOME folders, and reports:

- wall time, CPU time (user + system of the whole process tree, from wait4) and peak memory: the
  largest single process (ru_maxrss) and the sampled peak of the tree's summed PSS (the build forks
  extraction workers; PSS counts shared copy-on-write pages once instead of once per worker);
- time per stage, from the run's step statistics in the instance (asset checks count with the stage
  of the asset they check; "start-up" is the wall time outside any step: interpreter, imports,
  loading the definitions, writing the run to the instance);
- articles and MB of text per second;
- the bare pass measured in the same run (decompress, json-decode, split into sentences with a
  regex, one regex search per sentence) and the build's ratio to it;
- the incremental rebuild: one new article file added to the raw folder, rebuilt; the run's
  extracted_mentions metadata must say exactly one article was extracted;
- dedup time for 10k..1M synthetic mentions (bench/bench_dedup.py, when it exists).

Numbers are also written to bench/results/latest.json. `--profile` repeats the full build under
py-spy (all processes, including the extraction workers) and prints the functions with the most
samples; the profile itself goes to bench/results/profile.txt (collapsed stacks).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "tehran_times" / "articles.jsonl.gz"
STAGES = ("ingest", "extract", "validate", "dedup", "release")

# Issue 15 (the parse-based coder): the corpus to a release in <= 150 s on this 2-core machine,
# peak memory <= 3 GB, one added article <= 10 s. The ratio to the bare pass is reported, not a
# target (a dependency parser is not a regex).
TARGETS = {
    "full_wall_s": 150.0,  # full build of the corpus, seconds
    "peak_mb": 3072.0,  # peak memory of the build process tree
    "incremental_wall_s": 10.0,  # rebuild after one article is added, seconds
}
# The extraction's three rounds, as its progress lines name them (pipeline/extract/cache.py).
EXTRACT_PHASES = ("finding candidate sentences", "parsing", "coding")
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) .* - extracted_mentions - (.*)$")

# The bare pass: the least any extractor must do with this corpus.
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
TRIGGER = re.compile(r"\b(?:met|visited|signed|talks|agreed)\b")

NEW_ARTICLE = """\
ASTANA, Kazakhstan - Kazakhstan's Foreign Minister met a delegation of the Taliban in Astana on \
Tuesday, the ministry said in a statement.

The two sides signed a memorandum on transit trade and agreed to hold further talks in Kabul next \
month, according to the statement. (Benchmark article {token}.)
"""


# ---------------------------------------------------------------------------------------------
# Measuring a build


class TreeMemorySampler(threading.Thread):
    """Samples the summed PSS and RSS of every process in one process group (the build and the
    workers it forks) until stopped; keeps the peaks. Every 0.25 s: reading smaps_rollup walks the
    page tables, which at 20 Hz cost the kernel a sixth of a core."""

    def __init__(self, pgid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pgid, self.interval = pgid, interval
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self.peak_procs = 0
        self._stop_event = threading.Event()

    def _sample(self) -> None:
        pss = rss = procs = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
                # Fields after the command name (which may hold spaces), 0-based: state, ppid, pgrp.
                fields = stat[stat.rindex(b")") + 2 :].split()
                if int(fields[2]) != self.pgid:
                    continue
                with open(f"/proc/{entry.name}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith(b"Pss:"):
                            pss += int(line.split()[1])
                        elif line.startswith(b"Rss:"):
                            rss += int(line.split()[1])
                procs += 1
            except (OSError, ValueError):
                continue  # the process ended while being read
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_procs = max(self.peak_procs, procs)

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(cmd: list[str], env: dict, log: Path) -> dict:
    """Run one command in its own process group; wall, CPU of the tree, peaks, exit code."""
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
        # wait4 returns the child's own usage plus that of the descendants it waited for (the
        # extraction pool's workers), which RUSAGE_CHILDREN of this process would mix across builds.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_process_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_pss_mb": sampler.peak_pss_kb / 1024,
        "peak_tree_rss_mb": sampler.peak_rss_kb / 1024,
        "peak_processes": sampler.peak_procs,
        "exit_code": proc.returncode,
    }


def extract_phases(home: Path) -> dict:
    """Seconds of each extraction round of the newest build log in ``home``/logs, from the
    timestamps of its progress lines (1 s resolution): a round lasts from its first line to the
    next round's first line (the last, to the extraction's closing line)."""
    import datetime as dt

    logs = sorted((home / "logs").glob("build-*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return {}
    starts: dict[str, dt.datetime] = {}
    end = None
    for line in logs[-1].read_text(encoding="utf-8", errors="replace").splitlines():
        m = _LOG_LINE.match(line)
        if not m:
            continue
        when = dt.datetime.fromisoformat(m.group(1))
        phase = next((p for p in EXTRACT_PHASES if m.group(2).startswith(p + ":")), None)
        if phase and phase not in starts:
            starts[phase] = when
        if m.group(2).startswith("extracted "):
            end = when
    order = [p for p in EXTRACT_PHASES if p in starts]
    bounds = [starts[p] for p in order] + [end]
    return {
        p: (b - a).total_seconds() for p, a, b in zip(order, bounds, bounds[1:], strict=False) if a is not None and b
    }


def build_env(raw: Path, outputs: Path, home: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "CREDENCE_RAW_DIR": str(raw),
            "CREDENCE_OUTPUTS_DIR": str(outputs),
            "DAGSTER_HOME": str(home),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def ensure_bytecode(env: dict) -> str:
    """With PYTHONDONTWRITEBYTECODE set and a venv installed without bytecode (uv's default), every
    build compiles Dagster and the rest from source: ~8 s of start-up on this machine that a normal
    install does not pay. The benchmark then measures with a warmed bytecode cache of its own
    (bench/results/pycache), as after `uv pip sync --compile-bytecode`; says which in the report."""
    import dagster

    installed = any(Path(dagster.__file__).parent.joinpath("__pycache__").glob("*.pyc"))
    if installed:
        return "installed bytecode"
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "bytecode written by the first build (no PYTHONDONTWRITEBYTECODE)"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(RESULTS / "pycache")
    subprocess.run([sys.executable, "-c", "import pipeline.definitions, pipeline.cli"], env=env, cwd=ROOT, check=True)
    return "warmed bench/results/pycache (venv has no bytecode and PYTHONDONTWRITEBYTECODE is set)"


def stage_of_steps(defs) -> dict[str, str]:
    """Step key -> stage (the asset group), for the assets and the asset checks of the job."""
    mapping: dict[str, str] = {}
    group_of_asset = {}
    for a in defs.assets or []:
        groups = getattr(a, "group_names_by_key", {}) or {}
        for key, group in groups.items():
            group_of_asset[key] = group
        if groups:
            mapping[a.node_def.name] = next(iter(groups.values()))
    for c in defs.asset_checks or []:
        keys = [k.asset_key for k in getattr(c, "check_keys", [])]
        group = next((group_of_asset[k] for k in keys if k in group_of_asset), None)
        if group:
            mapping[c.node_def.name] = group
    return mapping


def run_facts(home: Path) -> dict:
    """Per-step and per-stage times of the newest run in the instance, and what its extraction did."""
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    sys.path.insert(0, str(ROOT))
    from pipeline.definitions import defs

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_step_stats(run.run_id)
        run_record = instance.get_run_record_by_id(run.run_id)
        mapping = stage_of_steps(defs)
        steps = {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in stats}
        stages = Counter()
        for key, seconds in steps.items():
            stages[mapping.get(key, "other")] += seconds
        span = None
        if stats:
            span = max(s.end_time or 0 for s in stats) - min(s.start_time or 0 for s in stats)
        extracted = {}
        for record in instance.fetch_materializations(dg.AssetKey("extracted_mentions"), limit=1).records:
            meta = record.asset_materialization.metadata
            extracted = {k: meta[k].value for k in ("articles_extracted", "articles_reused") if k in meta}
        return {
            "run_id": run.run_id,
            "status": run.status.value,
            "steps_s": steps,
            "stages_s": dict(stages),
            "steps_span_s": span,
            "extracted": extracted,
            "run_wall_s": (run_record.end_time or 0) - (run_record.start_time or 0) if run_record else None,
        }


# ---------------------------------------------------------------------------------------------
# The bare pass


def bare_pass(corpus: Path) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    articles = sentences = hits = text_bytes = 0
    with gzip.open(corpus, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            text = json.loads(line).get("text") or ""
            articles += 1
            text_bytes += len(text.encode("utf-8"))
            for sentence in SENTENCE_SPLIT.split(text):
                sentences += 1
                if TRIGGER.search(sentence):
                    hits += 1
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "articles": articles,
        "sentences": sentences,
        "trigger_sentences": hits,
        "text_mb": text_bytes / 1e6,
    }


# ---------------------------------------------------------------------------------------------
# Dedup scaling (bench/bench_dedup.py is another engineer's; used when present)


def dedup_scaling(sizes: list[int], timeout_s: float) -> dict:
    script = ROOT / "bench" / "bench_dedup.py"
    if not script.is_file():
        return {"skipped": "bench/bench_dedup.py does not exist"}
    spec = importlib.util.spec_from_file_location("bench_dedup", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "run_one"):
        return {"skipped": "bench/bench_dedup.py has no run_one(n)"}
    rows = []
    for n in sizes:
        # Its own `--one N` entry point: one fresh process per size, so peak RSS is that size's own.
        try:
            out = subprocess.run(
                [sys.executable, str(script), "--one", str(n)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=ROOT,
            )
        except subprocess.TimeoutExpired:
            rows.append({"n": n, "error": f"timed out after {timeout_s:.0f} s"})
            break
        if out.returncode != 0:
            rows.append({"n": n, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]})
            break
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"rows": rows}


# ---------------------------------------------------------------------------------------------
# Profile


def profile_build(env: dict, out_file: Path) -> tuple[list, list]:
    """Full build under py-spy (subprocesses included); top functions by own samples."""
    py_spy = Path(sys.executable).with_name("py-spy")
    cmd = [
        str(py_spy),
        "record",
        "--subprocesses",
        "--rate",
        "50",
        "--format",
        "raw",
        "-o",
        str(out_file),
        "--",
        sys.executable,
        "-m",
        "pipeline.cli",
        "build",
    ]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in out_file.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            if "pipeline/" in frame or "schemas/" in frame:
                inclusive[frame] += n
    top_own = [(f, n / total) for f, n in own.most_common(15)]
    top_incl = [(f, n / total) for f, n in inclusive.most_common(15)]
    return top_own, top_incl


# ---------------------------------------------------------------------------------------------


def fmt_check(name: str, value: float | None, target: float, unit: str) -> tuple[str, bool]:
    ok = value is not None and value <= target
    shown = "n/a" if value is None else f"{value:.2f}{unit}"
    return f"  {'PASS' if ok else 'FAIL'}  {name:<32} {shown:>12}  (target <= {target:g}{unit})", ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--no-dedup", action="store_true", help="skip the 10k..1M dedup scaling")
    parser.add_argument("--dedup-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dedup-timeout", type=float, default=600)
    parser.add_argument("--profile", action="store_true", help="also profile one full build with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args(argv)

    if not args.corpus.is_file():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="credence-bench-"))
    raw, outputs, home = tmp / "raw", tmp / "outputs", tmp / "dagster_home"
    raw.mkdir()
    # A copy, not a symlink: ingest may refuse links out of the raw folder (hostile inputs).
    shutil.copy2(args.corpus, raw / args.corpus.name)
    env = build_env(raw, outputs, home)
    bytecode = ensure_bytecode(env)
    results: dict = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_at_start": os.getloadavg(),
            "bytecode": bytecode,
        },
        "corpus": {"path": str(args.corpus), "gz_mb": args.corpus.stat().st_size / 1e6},
        "tmp": str(tmp),
    }
    try:
        print(f"corpus {args.corpus} ({results['corpus']['gz_mb']:.1f} MB gz); work folder {tmp}")
        print("bare pass ...", flush=True)
        bare = bare_pass(args.corpus)
        results["bare_pass"] = bare
        results["corpus"].update(articles=bare["articles"], text_mb=bare["text_mb"])

        cmd = [sys.executable, "-m", "pipeline.cli", "build"]
        print("full build ...", flush=True)
        full = run_measured(cmd, env, tmp / "full.log")
        if full["exit_code"] != 0:
            print((tmp / "full.log").read_text(errors="replace")[-4000:], file=sys.stderr)
            print("full build failed", file=sys.stderr)
            return 1
        full.update(run_facts(home))
        full["extract_phases_s"] = extract_phases(home)
        manifest = json.loads(
            (
                outputs / "releases" / (outputs / "releases" / "LATEST").read_text().strip() / "release_manifest.json"
            ).read_text()
        )
        full["counts"] = manifest.get("counts", {})
        n_articles = full["counts"].get("articles", bare["articles"])
        full["articles_per_s"] = n_articles / full["wall_s"]
        full["mb_per_s"] = bare["text_mb"] / full["wall_s"]
        full["ratio_to_bare"] = full["wall_s"] / bare["wall_s"]
        results["full"] = full

        print("incremental rebuild (one new article) ...", flush=True)
        (raw / "bench_new_article.txt").write_text(NEW_ARTICLE.format(token=time.time_ns()), encoding="utf-8")
        inc = run_measured(cmd, env, tmp / "incremental.log")
        if inc["exit_code"] == 0:
            inc.update(run_facts(home))
        inc["fraction_of_full"] = inc["wall_s"] / full["wall_s"]
        results["incremental"] = inc

        if not args.no_dedup:
            print("dedup scaling ...", flush=True)
            results["dedup"] = dedup_scaling(args.dedup_sizes, args.dedup_timeout)

        results["machine"]["load_avg_at_end"] = os.getloadavg()
        if args.profile:
            print("profiling a full build (py-spy) ...", flush=True)
            shutil.rmtree(outputs, ignore_errors=True)
            top_own, top_incl = profile_build(env, RESULTS / "profile.txt")
            results["profile"] = {
                "top_own": top_own,
                "top_inclusive_pipeline": top_incl,
                "file": str(RESULTS / "profile.txt"),
            }
    finally:
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    report(results)
    return 0


def report(r: dict) -> None:
    bare, full, inc = r["bare_pass"], r["full"], r.get("incremental", {})
    peak_mb = max(full["peak_tree_pss_mb"], full["max_process_rss_mb"])
    print()
    m = r["machine"]
    print(
        f"machine: {m['cpus']} CPUs, Python {m['python']}; load average (1 min) {m['load_avg_at_start'][0]:.1f} "
        f"at start, {m.get('load_avg_at_end', [float('nan')])[0]:.1f} at end (other work on the machine "
        f"inflates wall times)"
    )
    print(f"bytecode: {m['bytecode']}")
    print(f"corpus:  {bare['articles']:,} articles, {bare['text_mb']:.1f} MB of text, {bare['sentences']:,} sentences")
    print(
        f"full build:   wall {full['wall_s']:.1f} s   CPU {full['cpu_s']:.1f} s   "
        f"peak tree PSS {full['peak_tree_pss_mb']:.0f} MB (RSS sum {full['peak_tree_rss_mb']:.0f} MB, "
        f"largest process {full['max_process_rss_mb']:.0f} MB, {full['peak_processes']} processes)"
    )
    print(f"  throughput: {full['articles_per_s']:.0f} articles/s, {full['mb_per_s']:.2f} MB/s")
    stages = full.get("stages_s", {})
    accounted = sum(stages.values())
    print(
        "  per stage:  "
        + "   ".join(f"{s} {stages.get(s, 0):.1f} s" for s in STAGES)
        + (f"   other {stages['other']:.1f} s" if "other" in stages else "")
        + f"   start-up/overhead {full['wall_s'] - accounted:.1f} s"
    )
    phases = full.get("extract_phases_s", {})
    if phases:
        parse = phases.get("parsing", 0.0)
        print(
            "  extraction: "
            + "   ".join(f"{p} {v:.0f} s" for p, v in phases.items())
            + f"   -> the parser is {parse / full['wall_s']:.0%} of the build; the coder beyond the parse "
            f"(gate and coding) {(sum(phases.values()) - parse):.0f} s"
        )
    print(f"  counts:     {full.get('counts')}")
    print(
        f"bare pass:    wall {bare['wall_s']:.1f} s  CPU {bare['cpu_s']:.1f} s  -> build is "
        f"{full['ratio_to_bare']:.1f}x the bare pass"
    )
    if inc:
        print(
            f"incremental:  wall {inc['wall_s']:.1f} s ({inc['fraction_of_full']:.2f} of full), "
            f"extraction {inc.get('extracted', {})}, per stage "
            + "  ".join(f"{s} {inc.get('stages_s', {}).get(s, 0):.1f}" for s in STAGES)
        )
    dd = r.get("dedup")
    if dd:
        if "skipped" in dd:
            print(f"dedup scaling: skipped ({dd['skipped']})")
        else:
            print("dedup scaling:")
            for row in dd["rows"]:
                if "error" in row:
                    print(f"  {row['n']:>10,} mentions: {row['error']}")
                else:
                    print(
                        f"  {row['n']:>10,} mentions -> {row['events']:>9,} events  dedup {row['dedup_s']:7.2f} s  "
                        f"rebuild {row['rebuild_s']:7.2f} s  peak RSS {row['peak_rss_mb']:.0f} MB"
                    )
    prof = r.get("profile")
    if prof:
        print("profile (share of all samples, every process):")
        print("  own time:")
        for frame, share in prof["top_own"][:10]:
            print(f"    {share:6.1%}  {frame}")
        print("  inclusive, pipeline code:")
        for frame, share in prof["top_inclusive_pipeline"][:12]:
            print(f"    {share:6.1%}  {frame}")
    print("targets:")
    checks = [
        fmt_check("full build wall", full["wall_s"], TARGETS["full_wall_s"], " s"),
        fmt_check("peak memory (tree PSS / process)", peak_mb, TARGETS["peak_mb"], " MB"),
        fmt_check("one added article", inc.get("wall_s"), TARGETS["incremental_wall_s"], " s"),
    ]
    extracted = inc.get("extracted", {}).get("articles_extracted")
    checks.append(
        (
            f"  {'PASS' if extracted == 1 else 'FAIL'}  incremental re-extracted only the new article"
            f" ({extracted} extracted)",
            extracted == 1,
        )
    )
    for line, _ in checks:
        print(line)
    print(f"results: {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    sys.exit(main())
