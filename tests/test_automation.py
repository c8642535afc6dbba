"""Automation: the raw-folder sensor (one run per change, none when unchanged), the daily schedule,
the build job's retry and concurrency settings, and the dagster.yaml written into DAGSTER_HOME."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.errors import DagsterInvalidConfigError

from pipeline.automation import (
    BUILD_TAG,
    RELEASE_FRESHNESS,
    SETTLE_SECONDS,
    build_release_job,
    daily_release_schedule,
    raw_folder_sensor,
)
from pipeline.instance_home import DAGSTER_YAML, ensure_home, validate_home
from pipeline.resources import CredenceSettings


def _age(folder: Path, seconds: float = 3600) -> None:
    """Backdate every file so the sensor sees a settled folder (a finished copy)."""
    past = time.time() - seconds
    for p in folder.rglob("*"):
        os.utime(p, (past, past))


class SensorDriver:
    """Evaluates the sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, raw: Path, tmp: Path):
        self.settings = CredenceSettings(raw_dir=str(raw), outputs_dir=str(tmp / "outputs"))
        self.cursor: str | None = None

    def tick(self):
        # A context manager: the settings resource holds the build lock around a run (set up and
        # torn down), so Dagster opens it as one; a sensor's evaluation takes no lock.
        with dg.build_sensor_context(cursor=self.cursor, resources={"settings": self.settings}) as ctx:
            data = raw_folder_sensor.evaluate_tick(ctx)
        self.cursor = data.cursor
        return data


@pytest.fixture
def raw(seed_raw: Path) -> Path:
    _age(seed_raw)
    return seed_raw


def test_sensor_requests_one_run_per_change_and_none_when_unchanged(raw: Path, tmp_path: Path):
    sensor = SensorDriver(raw, tmp_path)
    first = sensor.tick()
    assert not first.run_requests and "recorded" in first.skip_message  # first tick only records
    assert sensor.cursor
    for _ in range(3):
        unchanged = sensor.tick()
        assert not unchanged.run_requests and unchanged.skip_message == "raw folder unchanged"

    (raw / "new_article.txt").write_text("KABUL - Officials met on Monday.\n", encoding="utf-8")
    _age(raw)
    changed = sensor.tick()
    assert len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.run_key and request.tags["credence/trigger"] == "raw_folder_sensor"
    again = sensor.tick()
    assert not again.run_requests  # the same change never requests a second run

    victim = sorted(raw.glob("*.txt"))[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    _age(raw, 60)
    edited = sensor.tick()
    assert len(edited.run_requests) == 1 and edited.run_requests[0].run_key != request.run_key

    kept = victim.read_bytes(), victim.stat()
    victim.unlink()
    removed = sensor.tick()
    assert len(removed.run_requests) == 1
    assert not sensor.tick().run_requests

    # Restored as it was (same bytes, same mtime): the folder is back in an earlier state, which still
    # needs a build, under a run key Dagster has not seen (a reused key would be skipped).
    victim.write_bytes(kept[0])
    os.utime(victim, ns=(kept[1].st_atime_ns, kept[1].st_mtime_ns))
    restored = sensor.tick()
    assert len(restored.run_requests) == 1
    keys = [r.run_requests[0].run_key for r in (changed, edited, removed, restored)]
    assert len(set(keys)) == 4


def test_sensor_waits_for_a_copy_in_progress_then_requests_once(raw: Path, tmp_path: Path):
    sensor = SensorDriver(raw, tmp_path)
    sensor.tick()
    before = sensor.cursor
    (raw / "copying.txt").write_text("half a file", encoding="utf-8")  # mtime: now
    busy = sensor.tick()
    assert not busy.run_requests and "settle" in busy.skip_message
    assert sensor.cursor == before  # the change is not consumed while the folder is busy
    assert not sensor.tick().run_requests
    (raw / "copying.txt").write_text("the whole file, now complete", encoding="utf-8")
    _age(raw, SETTLE_SECONDS + 1)
    assert len(sensor.tick().run_requests) == 1
    assert not sensor.tick().run_requests


def test_sensor_skips_when_the_raw_folder_is_missing(tmp_path: Path):
    sensor = SensorDriver(tmp_path / "nowhere", tmp_path)
    data = sensor.tick()
    assert not data.run_requests and "does not exist" in data.skip_message


def test_sensor_and_schedule_run_by_default_and_target_the_build_job():
    assert daily_release_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert raw_folder_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert daily_release_schedule.job_name == "build_release"
    assert raw_folder_sensor.job_name == "build_release"
    assert daily_release_schedule.cron_schedule == "0 5 * * *"
    assert raw_folder_sensor.minimum_interval_seconds >= 15


def test_schedule_requests_a_build_at_its_tick():
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 2, 5, 0, tzinfo=dt.UTC))
    data = daily_release_schedule.evaluate_tick(ctx)
    assert len(data.run_requests) == 1


def test_build_job_retries_no_failed_step_and_carries_the_concurrency_tag():
    # A build's failures are deterministic (issue 18): neither the step nor the run is retried.
    assert build_release_job.op_retry_policy is None
    assert build_release_job.tags[BUILD_TAG] == "release"
    assert build_release_job.tags["dagster/max_retries"] == "0"


def test_definitions_wire_job_schedule_sensor_and_release_freshness():
    from pipeline.definitions import defs

    assert defs.resolve_schedule_def("daily_release").default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.resolve_sensor_def("raw_folder_sensor").job_name == "build_release"
    job = defs.resolve_job_def("build_release")
    assert job.op_retry_policy is None
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("download_page")).freshness_policy == RELEASE_FRESHNESS
    assert graph.get(dg.AssetKey("release_manifest")).freshness_policy == RELEASE_FRESHNESS


def test_dagster_yaml_is_valid_for_this_dagster_and_limits_runs_to_one(tmp_path: Path, monkeypatch):
    home = ensure_home(tmp_path / "home")
    config = validate_home(home)
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert "run_queue" not in config
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 1
        assert {"key": BUILD_TAG, "value": "release", "limit": 1} in queue.tag_concurrency_limits
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        # Only a crashed run is retried, never one whose step failed.
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert "QUEUED_RUN_COORDINATOR" in instance.get_required_daemon_types()


def test_validation_rejects_run_limits_set_in_both_blocks(tmp_path: Path):
    """The check is real: tag limits in both `run_queue` and `concurrency: runs` are refused."""
    config = yaml.safe_load(DAGSTER_YAML)
    config["run_queue"] = {"tag_concurrency_limits": [{"key": BUILD_TAG, "value": "release", "limit": 1}]}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(DagsterInvalidConfigError):
        validate_home(tmp_path)


def test_existing_dagster_yaml_is_kept(tmp_path: Path):
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: true\n", encoding="utf-8")
    ensure_home(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: true\n"
    shutil.rmtree(tmp_path)
    ensure_home(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == DAGSTER_YAML


def test_every_asset_in_the_ui_has_a_description_a_group_and_kinds():
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert dg.AssetKey("download_page") in keys
    for key in keys:
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and len(node.description) > 20, f"{name}: no description"
        assert node.group_name and node.group_name != "default", f"{name}: no group"
        assert node.kinds, f"{name}: no kinds"
