"""Faults: builds killed at any moment, and builds started at the same time.

Each test runs real builds, `python -m pipeline.cli build` (what `make run` runs), in subprocesses
with their own process group, temporary raw / outputs folders and a temporary DAGSTER_HOME. A kill
is SIGKILL to the whole group (the build and any extraction workers): nothing gets to clean up.

What must hold after any kill: outputs/releases/LATEST names a complete release whose
`sha256sum -c SHA256SUMS` passes, and every published version folder verifies too; the next build
succeeds, removes the leftovers and publishes. Two builds at once: both finish, one publishes and
the other finds the data unchanged; the instance's SQLite storage never reports "database is locked".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import PROJECT, SEEDS

pytestmark = pytest.mark.slow

BUILD = [sys.executable, "-m", "pipeline.cli", "build"]
BUILD_TIMEOUT_S = 240
NEW_ARTICLE = """\
ASTANA - Kazakhstan's Foreign Minister met a delegation of the Taliban in Astana on Tuesday, the \
ministry said.

The two sides signed a memorandum on transit trade and agreed to hold further talks in Kabul, the \
statement said. (Fault-test article.)
"""


@pytest.fixture(scope="session")
def pycache(tmp_path_factory) -> Path:
    """A bytecode cache shared by this session's builds: with PYTHONDONTWRITEBYTECODE set and a venv
    installed without bytecode, every build would otherwise compile Dagster from source (~8 s)."""
    return tmp_path_factory.mktemp("pycache")


class Folders:
    def __init__(self, root: Path, pycache: Path, home: Path | None = None):
        self.root = root
        self.raw = root / "raw"
        self.out = root / "outputs"
        self.home = home or root / "dagster_home"
        self.raw.mkdir(parents=True, exist_ok=True)
        for p in sorted(SEEDS.glob("*.txt")):
            shutil.copy2(p, self.raw / p.name)
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env.update(
            {
                "CREDENCE_RAW_DIR": str(self.raw),
                "CREDENCE_OUTPUTS_DIR": str(self.out),
                "DAGSTER_HOME": str(self.home),
                "PYTHONPYCACHEPREFIX": str(pycache),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.logs = 0

    @property
    def releases(self) -> Path:
        return self.out / "releases"

    def start(self) -> tuple[subprocess.Popen, Path]:
        self.logs += 1
        log = self.root / f"build-{self.logs}.log"
        with log.open("wb") as f:
            proc = subprocess.Popen(
                BUILD, cwd=PROJECT, env=self.env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
            )
        return proc, log

    def build(self) -> str:
        proc, log = self.start()
        try:
            code = proc.wait(timeout=BUILD_TIMEOUT_S)
        finally:
            kill_group(proc)
        text = log.read_text(errors="replace")
        assert code == 0, f"build failed ({code}):\n{text[-3000:]}"
        return text


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def latest(f: Folders) -> str:
    return (f.releases / "LATEST").read_text(encoding="utf-8").strip()


def assert_consistent(f: Folders, must_have_latest: bool = True) -> None:
    """LATEST names a complete release that passes `sha256sum -c`; every published version does."""
    if not must_have_latest and not (f.releases / "LATEST").exists():
        return
    name = latest(f)
    assert name and (f.releases / name).is_dir(), f"LATEST names {name!r}, which is not a release folder"
    versions = [p for p in f.releases.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert versions
    for folder in versions:
        check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
        assert check.returncode == 0, f"{folder.name}: {check.stdout}{check.stderr}"
        assert (folder / "release_manifest.json").is_file()


def leftovers(f: Folders) -> list[str]:
    """Half-written files and folders anywhere under outputs/."""
    found = [p for p in f.out.rglob("*") if p.name.startswith(".tmp-") or p.name.endswith(".tmp")]
    return sorted(str(p.relative_to(f.out)) for p in found)


def kill_when(f: Folders, condition, timeout: float = BUILD_TIMEOUT_S) -> bool:
    """Start a build and SIGKILL its process group as soon as ``condition()`` holds; True if the
    kill came before the build ended by itself."""
    proc, _ = f.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if condition():
                hit = proc.poll() is None
                kill_group(proc)
                return hit
            if proc.poll() is not None:
                return False
            time.sleep(0.002)
        raise AssertionError("condition not reached before the timeout")
    finally:
        kill_group(proc)


def release_being_written(f: Folders, min_files: int) -> bool:
    if not f.releases.is_dir():
        return False
    for p in f.releases.iterdir():
        if p.name.startswith(".tmp-") and p.is_dir():
            try:
                if sum(1 for _ in p.iterdir()) >= min_files:
                    return True
            except FileNotFoundError:  # renamed into place meanwhile
                return False
    return False


def test_killed_builds_leave_a_complete_latest_and_the_next_build_recovers(tmp_path, pycache):
    f = Folders(tmp_path, pycache)
    t0 = time.monotonic()
    f.build()
    full_s = time.monotonic() - t0
    first = latest(f)
    assert_consistent(f)

    # New input, so that every later build has something new to publish.
    (f.raw / "900_fault_test.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    # Killed while the new release's files are being written (polled: no hook in the build).
    assert kill_when(f, lambda: release_being_written(f, 6)), "the build ended before the kill"
    assert_consistent(f)
    assert latest(f) == first
    assert [p for p in f.releases.iterdir() if p.name.startswith(".tmp-")], "the kill did not land mid-release"
    # Timed kills: while starting (imports, instance), then in the middle of the stages. A kill that
    # comes after the build published is allowed: LATEST then names the new, complete release.
    for delay in (0.5, 2.0, 0.6 * full_s):
        proc, _ = f.start()
        time.sleep(delay)
        kill_group(proc)
        assert_consistent(f)

    f.build()
    assert_consistent(f)
    assert not leftovers(f), leftovers(f)  # the half-written release and temporary files are gone
    final = latest(f)
    articles = pl.read_parquet(f.releases / final / "articles.parquet")
    assert "900_fault_test.txt" in set(articles["source_file"]), "the new article is not in the newest release"
    versions = sorted(
        (p.name for p in f.releases.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda v: tuple(int(x) for x in v.split(".")),
    )
    assert versions == [first, final], versions


def test_two_builds_at_once_neither_corrupt_outputs_nor_lock_sqlite(tmp_path, pycache):
    """Two builds start at once on one fresh DAGSTER_HOME and one outputs folder. Both finish: one
    publishes, the other waits for the release lock and finds the same data published. The SQLite
    run and event storage (created by both at once) never reports "database is locked"."""
    f = Folders(tmp_path, pycache)
    runs = [f.start(), f.start()]
    logs = []
    for proc, log in runs:
        try:
            code = proc.wait(timeout=BUILD_TIMEOUT_S)
        finally:
            kill_group(proc)
        text = log.read_text(errors="replace")
        logs.append(text)
        assert "database is locked" not in text, text[-3000:]
        assert code == 0, text[-3000:]
    assert_consistent(f)
    assert not leftovers(f), leftovers(f)
    versions = [p.name for p in f.releases.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(versions) == 1, versions
    assert sum("unchanged (no new version)" in t for t in logs) == 1, [t[-300:] for t in logs]
    import dagster as dg

    with dg.DagsterInstance.from_config(str(f.home)) as instance:
        records = instance.get_run_records()
        assert len(records) == 2
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
