"""The cluster profile, run for real: `make cluster-up` starts Postgres, Redis and two Celery workers
on 127.0.0.1; `make cluster-run` builds the seeds, then the seeds and a 3,000-article slice of the
Tehran Times corpus, through them; every file of both releases is byte-identical to what `make run`
publishes from the same raw folder; `make cluster-down` stops everything.

The slice is the corpus's first 3,000 lines, committed (tests/data/tehran_times_3000/, 1.5 MB),
since CI has no /work/shared. CI's .ci/run installs the Debian packages postgresql and redis-server;
without them these tests are skipped, saying so (as the browser tests are without chromium), and
`make cluster-up` itself fails naming the packages (tested below without them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline.scale.cluster import (
    EXIT_MISSING_PACKAGE,
    ClusterError,
    Layout,
    find_binaries,
    load_env,
    pid_alive,
    port_free,
)
from tests.conftest import PROJECT, SEEDS

pytestmark = pytest.mark.cluster
SLICE = PROJECT / "tests" / "data" / "tehran_times_3000" / "articles.jsonl.gz"
WORKERS = 2
BUCKETS = 8
MAKE_TIMEOUT_S = 600
DATA_TABLES = ("events", "mentions", "articles", "quarantine", "changes")


def _missing_packages() -> str | None:
    try:
        find_binaries()
    except ClusterError as err:
        return str(err)
    return None


MISSING = _missing_packages()
needs_packages = pytest.mark.skipif(
    MISSING is not None, reason=f"{MISSING} (CI installs them; `apt-get install postgresql redis-server`)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The caller's environment without the variables that would point a build elsewhere."""
    return {
        k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith(("CREDENCE_", "DAGSTER_PG_"))
    }


def make(*args: str, timeout: float = MAKE_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=PROJECT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def must(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (
        f"{proc.args} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc.stdout + proc.stderr


class Cluster:
    def __init__(self, root: Path):
        self.root = root
        self.layout = Layout(root)
        self.pg_port = self.redis_port = 0

    @property
    def args(self) -> list[str]:
        return [
            f"CLUSTER_DIR={self.root}",
            f"CLUSTER_PG_PORT={self.pg_port}",
            f"CLUSTER_REDIS_PORT={self.redis_port}",
            f"CLUSTER_WORKERS={WORKERS}",
        ]

    def up(self) -> subprocess.CompletedProcess:
        return make("cluster-up", *self.args)

    def down(self) -> subprocess.CompletedProcess:
        return make("cluster-down", f"CLUSTER_DIR={self.root}")

    def pids(self) -> dict[str, int]:
        """What runs, by its pid file: the workers, Redis and the Postgres postmaster."""
        found = {}
        for name in ("w1", "w2"):
            p = self.layout.worker_pid(name)
            if p.is_file():
                found[name] = int(p.read_text().split()[0])
        for name, path in (("redis", self.layout.redis_pid), ("postgres", self.layout.pg_data / "postmaster.pid")):
            if path.is_file():
                found[name] = int(path.read_text().split()[0])
        return found


@pytest.fixture(scope="module")
def cluster():
    # Not pytest's tmp_path: its folders are private to this user, and under root Postgres runs as
    # the 'postgres' user, which must reach its data folder.
    root = Path(tempfile.mkdtemp(prefix="credence-cluster-"))
    root.chmod(0o755)
    c = Cluster(root)
    try:
        # Ports are picked free, but another program may take one before Postgres or Redis binds it:
        # `up` then says the port is taken before starting anything, and another pair is tried.
        for _attempt in range(3):
            c.pg_port, c.redis_port = free_port(), free_port()
            proc = c.up()
            if proc.returncode == 0 or "taken on 127.0.0.1" not in proc.stderr:
                break
        must(proc)
        yield c
    finally:
        down = c.down()
        shutil.rmtree(root, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr


def latest(out: Path) -> Path:
    return out / "releases" / (out / "releases" / "LATEST").read_text().strip()


def versions(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "releases").iterdir() if p.is_dir() and not p.name.startswith("."))


def assert_same_release(ref: Path, got: Path) -> None:
    """Every file of the release, byte for byte; a data table that differs is described."""
    assert ref.name == got.name
    ref_files = sorted(p.name for p in ref.iterdir())
    assert ref_files == sorted(p.name for p in got.iterdir())
    for table in DATA_TABLES:
        a, b = pl.read_parquet(ref / f"{table}.parquet"), pl.read_parquet(got / f"{table}.parquet")
        assert a.equals(b), f"{ref.name}/{table}: {a.height} rows from make run, {b.height} through the cluster"
    differ = [name for name in ref_files if (ref / name).read_bytes() != (got / name).read_bytes()]
    assert not differ, f"{ref.name}: files differ from make run's: {differ}"


@needs_packages
def test_cluster_up_is_idempotent(cluster):
    before = cluster.pids()
    assert set(before) == {"w1", "w2", "redis", "postgres"}
    assert all(pid_alive(pid) for pid in before.values())
    again = must(cluster.up())
    assert "already running" in again
    assert cluster.pids() == before
    env = load_env(cluster.layout)
    assert env["DAGSTER_PG_PORT"] == str(cluster.pg_port)
    assert f"@127.0.0.1:{cluster.redis_port}/" in env["CREDENCE_CELERY_BROKER"]
    # The settings file holds the passwords: only its owner reads it.
    assert cluster.layout.env_file.stat().st_mode & 0o077 == 0


@pytest.fixture(scope="module")
def builds(cluster):
    """The seeds, then the seeds and the slice, each built by `make run` and through the cluster."""
    raw = cluster.root / "raw"
    raw.mkdir()
    for p in sorted(SEEDS.glob("*.txt")):
        shutil.copy2(p, raw / p.name)
    ref, got = cluster.root / "make_run", cluster.root / "through_cluster"
    for step in ("seeds", "seeds+slice"):
        if step == "seeds+slice":
            shutil.copy2(SLICE, raw / "tehran_times_3000.jsonl.gz")
        must(make("run", f"RAW={raw}", f"OUT={ref}"))
        log = must(make("cluster-run", f"RAW={raw}", f"OUT={got}", f"BUCKETS={BUCKETS}", *cluster.args[:1]))
        assert "partitioned build succeeded" in log
        assert_same_release(latest(ref), latest(got))
    return ref, got


@needs_packages
def test_every_release_through_the_cluster_equals_make_runs(builds):
    ref, got = builds
    assert versions(ref) == versions(got) and len(versions(got)) == 2
    for version in versions(ref):
        assert_same_release(ref / "releases" / version, got / "releases" / version)
    seeds_only, with_slice = (pl.read_parquet(got / "releases" / v / "articles.parquet") for v in versions(got))
    # The second release holds the slice's articles (a few hundred are quarantined as stubs or
    # duplicates; the count is whatever ingest makes of them, the same both ways).
    assert with_slice.height > seeds_only.height + 2000
    assert pl.read_parquet(latest(got) / "events.parquet").height > 0


@needs_packages
def test_runs_are_in_postgres_and_steps_ran_on_both_workers(cluster, builds, monkeypatch):
    import dagster as dg

    for key, value in load_env(cluster.layout).items():
        monkeypatch.setenv(key, value)
    home = cluster.layout.dagster_home
    assert not (home / "history").exists(), "the cluster's instance wrote SQLite storage"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert "Postgres" in type(instance.run_storage).__name__
        assert "Postgres" in type(instance.event_log_storage).__name__
        assert "Postgres" in type(instance.schedule_storage).__name__
        runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["build_release_partitioned"] * 2
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        worker_of: dict[str, set[str]] = {}
        for run in runs:
            for record in instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=10_000
            ).records:
                entry = record.event_log_entry
                meta = entry.dagster_event.engine_event_data.metadata if entry.dagster_event else {}
                if "Celery worker" in meta:
                    worker_of.setdefault(meta["Celery worker"].value, set()).add(entry.step_key)
    extraction = {k for steps in worker_of.values() for k in steps if k.startswith("extract_partition")}
    assert extraction == {f"extract_partition[b{b}]" for b in range(BUCKETS)}
    # Each worker ran steps of these runs: separate processes, one outputs folder.
    names = {name.split("@")[0] for name in worker_of}
    assert names == {"credence-w1", "credence-w2"}, worker_of


@needs_packages
def test_workers_of_older_code_are_refused_then_restarted(cluster, builds):
    """As if the checkout changed after the workers started: their recorded code no longer matches."""
    state = json.loads(cluster.layout.state_file.read_text())
    cluster.layout.state_file.write_text(json.dumps({**state, "code": "an older checkout"}))
    before = cluster.pids()
    refused = make("cluster-run", f"RAW={cluster.root / 'raw'}", f"OUT={builds[1]}", *cluster.args[:1])
    assert refused.returncode != 0 and "older code" in refused.stderr, refused.stderr
    assert "restarting" in must(cluster.up())
    after = cluster.pids()
    assert after["w1"] != before["w1"] and after["w2"] != before["w2"]
    assert (after["redis"], after["postgres"]) == (before["redis"], before["postgres"])
    assert json.loads(cluster.layout.state_file.read_text())["code"] == state["code"]


@needs_packages
def test_cluster_down_stops_everything_and_is_idempotent(cluster, builds):
    pids = cluster.pids()
    must(cluster.down())
    # Postgres removes its pid file just before it exits: a moment's grace.
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for name, pid in pids.items():
        assert not pid_alive(pid), f"{name} (pid {pid}) still runs after cluster-down"
    assert port_free(cluster.pg_port) and port_free(cluster.redis_port)
    assert "nothing was running" in must(cluster.down())


@needs_packages
def test_a_taken_port_stops_up_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline.scale.cluster",
                "--dir",
                str(tmp_path / "c"),
                "up",
                "--pg-port",
                str(taken),
                "--redis-port",
                str(free_port()),
            ],
            cwd=PROJECT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 3, proc.stderr
    assert f"Postgres port {taken}" in proc.stderr and "CLUSTER_PG_PORT" in proc.stderr
    assert not (tmp_path / "c" / "postgres").exists() and not (tmp_path / "c" / "workers").exists()


def test_up_without_the_packages_names_them(tmp_path):
    """Runs anywhere: the programs are hidden from `up` (an empty PATH and Postgres folder)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**clean_env(), "PATH": str(empty), "CREDENCE_PG_BINDIR": str(empty)}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.scale.cluster", "--dir", str(tmp_path / "c"), "up"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_MISSING_PACKAGE, proc.stderr
    assert "Debian package postgresql" in proc.stderr and "Debian package redis-server" in proc.stderr
    assert not (tmp_path / "c" / "postgres").exists()


def test_run_without_a_cluster_says_so(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.scale.cluster", "--dir", str(tmp_path / "none"), "run"],
        cwd=PROJECT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "make cluster-up" in proc.stderr, proc.stderr
