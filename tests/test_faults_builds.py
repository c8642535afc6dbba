"""Faults of issue 18 that need whole builds: concurrent builds of different corpora, an empty raw
folder, an outputs folder inside the raw folder, a failing build's report, a full disk.

Each test runs `python -m pipeline.cli build` (what `make run` runs) in subprocesses, as
tests/test_faults.py does, with temporary raw / outputs folders and DAGSTER_HOME.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import PROJECT
from tests.test_faults import BUILD, BUILD_TIMEOUT_S, Folders, assert_consistent, kill_group, latest, leftovers

pytestmark = pytest.mark.slow

TEHRAN_DEV = PROJECT / "examples" / "gold" / "tehran_dev" / "raw"


@pytest.fixture(scope="session")
def pycache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pycache")


def integrity(folder: Path) -> dict[str, int]:
    """Rows of a release that point at nothing: events' and mentions' articles missing from
    `articles`, mentions' events missing from `events`."""
    articles = set(pl.read_parquet(folder / "articles.parquet")["article_id"].to_list())
    events = pl.read_parquet(folder / "events.parquet")
    mentions = pl.read_parquet(folder / "mentions.parquet")
    return {
        "event_articles_missing": events.explode("article_ids")
        .filter(pl.col("article_ids").is_not_null() & ~pl.col("article_ids").is_in(list(articles)))
        .height,
        "mention_articles_missing": mentions.filter(~pl.col("article_id").is_in(list(articles))).height,
        "mention_events_missing": mentions.filter(~pl.col("event_id").is_in(events["event_id"].implode())).height,
    }


def published(f: Folders) -> list[Path]:
    return sorted(p for p in f.releases.iterdir() if p.is_dir() and not p.name.startswith("."))


def run(f: Folders, *args: str, env: dict | None = None, timeout: float = BUILD_TIMEOUT_S):
    return subprocess.run(
        [*BUILD, *args],
        cwd=PROJECT,
        env={**f.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def test_two_builds_of_different_corpora_into_one_outputs_folder_publish_intact_releases(tmp_path, pycache):
    """Item 1. The 49 Tehran Times development articles and the 5 seeds, built at once into one
    outputs folder: the second build waits for the first and says so; every release published is
    referentially intact and holds one corpus only; LATEST is the last build's, complete."""
    seeds = Folders(tmp_path / "seeds", pycache)
    tehran = Folders(tmp_path / "tehran", pycache)
    for p in tehran.raw.iterdir():
        p.unlink()
    for p in sorted(TEHRAN_DEV.glob("*.txt")):
        shutil.copy2(p, tehran.raw / p.name)
    shared_out = tmp_path / "outputs"
    for f in (seeds, tehran):
        f.out = shared_out
        # Each corpus replaces the other one's articles: publishing that needs saying so (item 5).
        f.env.update({"CREDENCE_OUTPUTS_DIR": str(shared_out), "CREDENCE_ALLOW_SHRINK": "1"})
    first, first_log = tehran.start()
    owner = shared_out / ".build.owner"  # written by the build that holds the outputs folder
    deadline = time.monotonic() + 60
    while str(tehran.raw) not in (owner.read_text(errors="replace") if owner.exists() else ""):
        assert time.monotonic() < deadline and first.poll() is None, first_log.read_text(errors="replace")[-3000:]
        time.sleep(0.05)
    second, second_log = seeds.start()
    texts = []
    for proc, log in ((first, first_log), (second, second_log)):
        try:
            code = proc.wait(timeout=BUILD_TIMEOUT_S)
        finally:
            kill_group(proc)
        text = log.read_text(errors="replace")
        texts.append(text)
        assert code == 0, text[-3000:]
    assert "waiting for another build" in texts[1], texts[1][-3000:]
    assert "published" in texts[0].splitlines()[-2] + texts[1].splitlines()[-2]
    assert_consistent(seeds)
    assert not leftovers(seeds), leftovers(seeds)
    corpora = {frozenset(p.name for p in TEHRAN_DEV.glob("*.txt")), frozenset(p.name for p in seeds.raw.iterdir())}
    for folder in published(seeds):
        assert integrity(folder) == dict.fromkeys(integrity(folder), 0), (folder.name, integrity(folder))
        files = frozenset(pl.read_parquet(folder / "articles.parquet")["source_file"].to_list())
        assert files in corpora, f"{folder.name} mixes corpora: {sorted(files)[:8]}"
    final = pl.read_parquet(seeds.releases / latest(seeds) / "articles.parquet")
    assert set(final["source_file"]) == {p.name for p in seeds.raw.iterdir()}  # the seeds built last


def test_an_empty_raw_folder_does_not_replace_the_release_unless_asked(tmp_path, pycache):
    """Item 5. An unmounted share looks like an empty raw folder: the build refuses to publish a
    release without the previous one's articles, says so in one line, and keeps LATEST; asked
    explicitly (--allow-shrink), it publishes."""
    f = Folders(tmp_path, pycache)
    f.build()
    before = latest(f)
    for p in f.raw.iterdir():
        p.unlink()
    out = run(f)
    assert out.returncode != 0, out.stdout[-2000:] + out.stderr[-2000:]
    last = (out.stdout + out.stderr).strip().splitlines()
    message = next(line for line in reversed(last) if line.startswith("build failed"))
    assert "--allow-shrink" in message and "5" in message, message
    assert latest(f) == before and len(published(f)) == 1
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) < 40, out.stderr
    out = run(f, "--allow-shrink")
    assert out.returncode == 0, out.stderr[-3000:]
    assert latest(f) != before
    assert pl.read_parquet(f.releases / latest(f) / "articles.parquet").height == 0


def test_an_outputs_folder_inside_the_raw_folder_is_refused(tmp_path, pycache):
    """Item 9. Its download page would be read back as an article and every build would publish a
    new version: the build stops before reading anything, with one line saying what to do."""
    f = Folders(tmp_path, pycache)
    inside = f.raw / "outputs"
    out = run(f, env={"CREDENCE_OUTPUTS_DIR": str(inside)})
    assert out.returncode != 0
    assert "inside the raw folder" in out.stderr and "OUT=" in out.stderr, out.stderr[-2000:]
    assert not (inside / "releases").exists()


def test_a_failing_build_reports_one_line_and_is_not_retried(tmp_path, pycache):
    """Item 11. A deterministic failure inside a step (the cache folder is a file) ends in one line
    naming the step and the cause; the traceback goes to the log file it names; the step is not
    retried (a retry fails the same way, and printed the traceback twice)."""
    f = Folders(tmp_path, pycache)
    f.out.mkdir(parents=True)
    (f.out / ".cache").write_text("not a folder", encoding="utf-8")
    out = run(f)
    assert out.returncode == 1
    err = out.stderr
    assert "Traceback" not in err and "Stack Trace" not in err, err
    assert len(err.splitlines()) < 15, err
    final = [line for line in err.splitlines() if line.startswith("build failed")]
    assert len(final) == 1 and "build failed in extracted_mentions" in final[0] and ".cache" in final[0], err
    log_line = next(line for line in err.splitlines() if line.startswith("log: "))
    log = Path(log_line[5:]).read_text(encoding="utf-8")
    assert "Stack Trace" in log or "Traceback" in log
    assert "max_retries" not in err + log and "RETRY" not in log, log[-3000:]


def test_a_missing_raw_folder_is_one_line(tmp_path, pycache):
    f = Folders(tmp_path, pycache)
    shutil.rmtree(f.raw)
    out = run(f)
    assert out.returncode == 1
    assert out.stderr.splitlines()[0] == (
        f"build failed: the raw folder {f.raw} does not exist or is not a folder -- build from an existing "
        "folder (make run RAW=<folder>, or CREDENCE_RAW_DIR); if it is a share, mount it"
    ), out.stderr


def test_full_disk_fails_clearly_and_the_next_build_succeeds_once_space_is_back(tmp_path, pycache):
    """Item 6. The outputs folder on a 300 KB tmpfs (a seeds build writes about 450 KB): a build that
    fills it fails with one line saying the disk is full; what it left is swept by the next build,
    which (once space is back) publishes."""
    f = Folders(tmp_path, pycache)
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        f.out = mount / "outputs"
        f.env["CREDENCE_OUTPUTS_DIR"] = str(f.out)
        out = run(f)
        assert out.returncode == 1, out.stdout[-2000:]
        final = [line for line in out.stderr.splitlines() if line.startswith("build failed")]
        assert len(final) == 1 and "disk is full" in final[0], out.stderr[-3000:]
        assert "Traceback" not in out.stderr
        left = leftovers(f)
        # Space comes back (the tmpfs grows); the next build removes what the failed one left.
        subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
        out = run(f)
        assert out.returncode == 0, out.stderr[-3000:]
        assert not leftovers(f), (left, leftovers(f))
        assert_consistent(f)
    finally:
        subprocess.run(["umount", "-l", str(mount)])


def test_waiting_build_names_the_build_it_waits_for(tmp_path, pycache):
    """Item 11 (and 1). A build started while another holds the outputs folder says, at once,
    whose build it waits for, rather than printing nothing."""
    f = Folders(tmp_path, pycache)
    holder = subprocess.Popen(
        [
            BUILD[0],
            "-c",
            "import sys, time\n"
            "from pipeline.outputs import build_lock\n"
            "with build_lock(sys.argv[1], 'elsewhere'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(6)\n",
            str(f.out),
        ],
        cwd=PROJECT,
        env=f.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        out = run(f)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"waiting for another build on {f.out.resolve()}" in out.stderr and f"pid {holder.pid}" in out.stderr
