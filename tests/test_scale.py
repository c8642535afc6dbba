"""The partitioned scale-out job publishes the same release as the in-process build.

build_release_partitioned runs under the multiprocess executor (one process per step, extraction
fanned out over content-hash buckets, deduplication over identity partitions); the in-process
build_release job is the reference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipeline.scale.jobs import PRELOAD, bucket_of
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow
TABLES = ("events", "mentions", "articles", "quarantine", "changes")
BUCKETS = 3
DEDUP_PARTITIONS = 3
WARM_MODULES = (
    *PRELOAD,
    "pipeline.definitions",
    "dagster._core.executor.multiprocess",
    "dagster._core.executor.child_process_executor",
    "dagster._core.execution.api",
)


def latest(out: Path) -> Path:
    return out / "releases" / (out / "releases" / "LATEST").read_text().strip()


def test_buckets_are_fixed_by_content_hash():
    ids = pl.Series("article_id", ["a0000000000000000", "a00000001ffffffff", "affffffff00000000", "a0000000a12345678"])
    assert bucket_of(ids, 8).to_list() == [0, 1, 0xFFFFFFFF % 8, 10 % 8]
    assert bucket_of(ids, 1).to_list() == [0, 0, 0, 0]
    # An id that is not 'a' + hex digits is a defect upstream: it stops the job, it does not land in a bucket.
    with pytest.raises(pl.exceptions.ComputeError):
        bucket_of(pl.Series("article_id", ["a-not-hex"]), 8)


FORK_AFTER_PRELOAD = """
import importlib, os, sys, time
for name in sys.argv[1:]:
    importlib.import_module(name)
pid = os.fork()
if pid == 0:
    import polars as pl
    pl.DataFrame({"a": list(range(100_000))}).sort("a", descending=True).select(pl.col("a") * 2)
    os._exit(0)
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.waitstatus_to_exitcode(status))
    time.sleep(0.1)
os.kill(pid, 9)
sys.exit("forked child hung in polars")
"""


def test_forkserver_preload_leaves_polars_usable_in_forked_steps():
    """The executor forks each step from a server that imported PRELOAD. Were any of those imports
    to run a polars operation, every forked step would hang in its first polars call."""
    out = subprocess.run(
        [sys.executable, "-c", FORK_AFTER_PRELOAD, *PRELOAD], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]


def test_fork_after_polars_work_does_hang():
    """The check above can fail: a fork after a polars operation hangs the child."""
    script = (
        "import polars as pl\npl.DataFrame({'a': list(range(1_000_000))}).sort('a', descending=True)\n"
        + FORK_AFTER_PRELOAD
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "hung" in out.stderr


@pytest.fixture(scope="module")
def both_builds(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        # The step processes import what the forkserver did not preload; with PYTHONDONTWRITEBYTECODE
        # and a venv installed without bytecode each would compile it again (seconds per step).
        # Python passes -B on to multiprocessing's children when this process has it, so the cache
        # is filled once here, by a child without it, and only read by the steps.
        mp.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        mp.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.mktemp("pycache")))
        subprocess.run([sys.executable, "-c", "import " + ", ".join(WARM_MODULES)], cwd=PROJECT, check=True)
        yield from _both_builds(tmp_path_factory)


def _both_builds(tmp_path_factory):
    from pipeline.definitions import defs
    from pipeline.resources import CredenceSettings, ParquetIOManager
    from tests.conftest import SEEDS

    root = tmp_path_factory.mktemp("scale")
    raw = root / "raw"
    raw.mkdir()
    for p in sorted(SEEDS.glob("*.txt")):
        (raw / p.name).write_bytes(p.read_bytes())
    ref_out, part_out = root / "reference", root / "partitioned"

    settings = CredenceSettings(raw_dir=str(raw), outputs_dir=str(ref_out), gold_file="", extract_workers=1)
    with dg.instance_for_test() as instance:
        ref = defs.resolve_job_def("build_release").execute_in_process(
            instance=instance, resources={"settings": settings, "parquet_io": ParquetIOManager(settings=settings)}
        )
    assert ref.success

    job = dg.build_reconstructable_job(
        "pipeline.scale.jobs",
        "partitioned_job",
        reconstructable_kwargs={"raw_dir": str(raw), "outputs_dir": str(part_out), "gold_file": ""},
    )
    run_config = {
        "ops": {
            "partition_articles": {"config": {"buckets": BUCKETS}},
            "partition_mentions": {"config": {"partitions": DEDUP_PARTITIONS}},
        }
    }

    def dedup_found(result) -> dict[str, dict]:
        """What each dedup partition step found in the dedup cache (its output metadata)."""
        return {
            e.step_key: {k: v.value for k, v in e.event_specific_data.metadata.items()}
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.STEP_OUTPUT
            and e.step_key.startswith("dedup_partition")
            and e.event_specific_data.step_output_handle.output_name == "settled_events"
        }

    with dg.instance_for_test() as instance:
        first = dg.execute_job(job, instance=instance, run_config=run_config)
        assert first.success
        steps_first = {e.step_key for e in first.all_events if e.event_type == dg.DagsterEventType.STEP_SUCCESS}
        dedup_first = dedup_found(first)
        again = dg.execute_job(job, instance=instance, run_config=run_config)
        assert again.success
        dedup_again = dedup_found(again)
        reused = {}
        for e in again.all_events:
            if (
                e.event_type == dg.DagsterEventType.STEP_OUTPUT
                and e.step_key.startswith("extract_partition")
                and e.event_specific_data.step_output_handle.output_name == "mentions"  # not "skipped"
            ):
                meta = e.event_specific_data.metadata
                reused[e.step_key] = (meta["articles_extracted"].value, meta["articles_reused"].value)
        published_again = [
            e.event_specific_data.metadata
            for e in again.all_events
            if e.event_type == dg.DagsterEventType.STEP_OUTPUT and e.step_key == "publish_op"
        ]
    yield ref_out, part_out, steps_first, reused, published_again, (dedup_first, dedup_again)


def test_partitioned_release_equals_the_in_process_release(both_builds):
    ref_out, part_out, *_ = both_builds
    ref, part = latest(ref_out), latest(part_out)
    assert ref.name == part.name
    for table in TABLES:
        a, b = pl.read_parquet(ref / f"{table}.parquet"), pl.read_parquet(part / f"{table}.parquet")
        assert a.height > 0 or table in ("quarantine", "changes")
        assert a.equals(b), f"{table} differs"
    manifests = [json.loads((p / "release_manifest.json").read_text()) for p in (ref, part)]
    assert manifests[0]["data_fingerprint"] == manifests[1]["data_fingerprint"]
    assert manifests[0]["inputs_sha256"] == manifests[1]["inputs_sha256"]
    # The download page is rewritten too, listing the same release.
    assert ref.name in (part_out / "index.html").read_text(encoding="utf-8")


def test_extraction_ran_as_one_step_per_bucket_and_is_incremental(both_builds):
    _, part_out, steps, reused, _published_again, _ = both_builds
    assert {s for s in steps if s.startswith("extract_partition")} == {
        f"extract_partition[b{i}]" for i in range(BUCKETS)
    }
    # A rebuild of unchanged input re-extracts nothing and publishes no new version.
    assert len(reused) == BUCKETS and all(extracted == 0 for extracted, _ in reused.values())
    assert sum(r for _, r in reused.values()) == pl.read_parquet(latest(part_out) / "articles.parquet").height
    assert [p.name for p in (part_out / "releases").iterdir() if not p.name.startswith(".") and p.is_dir()] == [
        latest(part_out).name
    ]
    # The run's intermediate tables are removed once it has published.
    assert not any((part_out / ".work" / "scale").iterdir())


def test_dedup_ran_as_one_step_per_partition_then_a_merge_and_reuses_its_cache(both_builds):
    _, part_out, steps, _, _, (first, again) = both_builds
    partitions = {f"dedup_partition[p{i}]" for i in range(DEDUP_PARTITIONS)}
    assert {s for s in steps if s.startswith("dedup_partition")} == partitions
    assert {"partition_mentions", "dedup_merge"} <= steps and "dedup_op" not in steps
    assert set(first) == set(again) == partitions
    # Every mention went to one partition, and the seeds' blocks spread over more than one.
    mentions = pl.read_parquet(latest(part_out) / "mentions.parquet")
    assert sum(m["mentions"] for m in first.values()) == mentions.height
    assert sum(1 for m in first.values() if m["mentions"]) > 1
    # The first build found nothing cached; the rebuild found the clustering of its components.
    assert all(m["cached_component_rows"] == 0 for m in first.values())
    assert sum(m["cached_component_rows"] for m in again.values()) > 0


def test_a_check_failing_in_one_dedup_partition_fails_the_merged_check():
    from pipeline.scale.jobs import _combine_outcomes
    from pipeline.validate.checks import CheckOutcome

    ok = CheckOutcome(True, {"asserted_events_after_publication": 0, "sample": "none"})
    late = CheckOutcome(False, {"asserted_events_after_publication": 2, "sample": "event E1 dated 2024-01-02"})
    warn = CheckOutcome(False, {"undated_events_over_20_articles": 1, "largest": "E2 (25 articles)"}, blocking=False)
    combined = _combine_outcomes([{"late": ok, "big": warn}, {"late": late, "big": warn}, {"late": ok, "big": warn}])
    assert not combined["late"].passed and combined["late"].blocking
    assert combined["late"].metadata == {
        "asserted_events_after_publication": 2,
        "sample": "event E1 dated 2024-01-02",
    }
    assert not combined["big"].blocking and combined["big"].metadata["undated_events_over_20_articles"] == 3
    assert _combine_outcomes([{"late": ok}, {"late": ok}])["late"] == CheckOutcome(True, ok.metadata)
