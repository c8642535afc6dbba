"""Jobs, schedules and sensors that keep the dataset current."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg

from pipeline.resources import CredenceSettings

build_release_job = dg.define_asset_job(
    name="build_release",
    selection=dg.AssetSelection.all(),
    description="Ingest, extract, validate, deduplicate and publish a release (the same build as `make run`).",
    # One build at a time: a second run waits in the queue (see the instance's run queue limits).
    tags={"dagster/concurrency_key": "credence_build"},
    op_retry_policy=dg.RetryPolicy(max_retries=1, delay=2),
)

daily_release_schedule = dg.ScheduleDefinition(
    name="daily_release",
    job=build_release_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild the release every day at 05:00 UTC (publishes nothing when the data is unchanged).",
)


def raw_folder_fingerprint(raw_dir: Path) -> str:
    """A cheap fingerprint of the raw folder's listing: path, size and modification time of every file.
    Symlinks are listed, not followed."""
    h = hashlib.sha256()
    if not raw_dir.is_dir():
        return ""
    for root, dirs, files in os.walk(raw_dir, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            try:
                st = p.lstat()
            except OSError:
                continue
            h.update(f"{p.relative_to(raw_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


@dg.sensor(
    name="raw_folder_sensor",
    job=build_release_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a build when files in the raw folder are added, changed or removed (once per change).",
)
def raw_folder_sensor(context: dg.SensorEvaluationContext, settings: CredenceSettings):
    fingerprint = raw_folder_fingerprint(settings.raw_path)
    if not fingerprint:
        return dg.SkipReason(f"raw folder {settings.raw_path} does not exist")
    if context.cursor == fingerprint:
        return dg.SkipReason("raw folder unchanged")
    first_tick = context.cursor is None
    context.update_cursor(fingerprint)
    if first_tick:
        # The first evaluation only records the state: the schedule and `make run` cover what is there.
        return dg.SkipReason("recorded the raw folder's current state")
    return dg.RunRequest(run_key=f"raw-{fingerprint[:16]}", tags={"credence/trigger": "raw_folder_sensor"})
