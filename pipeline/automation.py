"""Jobs, schedules, sensors and the freshness expectation that keep the dataset current.

One build at a time: the instance's run queue (``concurrency: runs:`` in the dagster.yaml written by
pipeline/instance_home.py) admits one run at once, whatever launched it (schedule, sensor, the UI's
"Materialize all"); a second run waits in the queue. `make run` executes in-process, outside the
queue, and the release writer's file lock serialises it with a queued run.

No retries of a failed step: the build's failures are deterministic (bad input, a blocking check,
a full disk, a bug), so a retry fails the same way and doubles the output (a retried step printed
its traceback twice). The job's ``dagster/max_retries: 0`` tag keeps the instance's run retry off;
for other runs the instance retries only a run that crashed, never one whose step failed
(``retry_on_asset_or_op_failure: false``, pipeline/instance_home.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from pipeline.resources import CredenceSettings

BUILD_TAG = "credence/build"
# A daily build plus slack for a slow or retried run; after 30 hours without a materialization the
# release is stale (WARN after 26).
RELEASE_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=30), warn_window=dt.timedelta(hours=26)
)
# A file modified less than this long ago may still be being written (a copy in progress): the sensor
# waits for the folder to settle so one copy starts one build, not one per tick during the copy.
SETTLE_SECONDS = 10

build_release_job = dg.define_asset_job(
    name="build_release",
    selection=dg.AssetSelection.all(),
    description="Ingest, extract, validate, deduplicate, publish a release and refresh the download page "
    "(the same build as `make run`).",
    tags={BUILD_TAG: "release", "dagster/max_retries": "0"},
)

daily_release_schedule = dg.ScheduleDefinition(
    name="daily_release",
    job=build_release_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild the release every day at 05:00 UTC (publishes nothing new when the data is unchanged).",
)


@dataclass(frozen=True)
class RawFolderState:
    fingerprint: str  # "" when the folder does not exist
    files: int
    newest_mtime: float | None  # seconds since the epoch


def raw_folder_state(raw_dir: Path) -> RawFolderState:
    """A cheap fingerprint of the raw folder's listing: relative path, size and modification time of
    every file (content is not read: a 100 MB bundle costs one stat). Symlinks are listed, not followed."""
    if not raw_dir.is_dir():
        return RawFolderState("", 0, None)
    h = hashlib.sha256()
    n, newest = 0, None
    for root, dirs, files in os.walk(raw_dir, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            try:
                st = p.lstat()
            except OSError:  # removed between listing and stat: the next tick sees the new state
                continue
            n += 1
            newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
            h.update(f"{p.relative_to(raw_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return RawFolderState(h.hexdigest(), n, newest)


def raw_folder_fingerprint(raw_dir: Path) -> str:
    return raw_folder_state(raw_dir).fingerprint


@dg.sensor(
    name="raw_folder_sensor",
    job=build_release_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one build when files in the raw folder are added, changed or removed, once the "
    "folder has been still for 10 seconds. The first evaluation only records the folder's "
    "state (the daily schedule and `make run` cover what is already there).",
)
def raw_folder_sensor(context: dg.SensorEvaluationContext, settings: CredenceSettings):
    state = raw_folder_state(settings.raw_path)
    if not state.fingerprint:
        return dg.SkipReason(f"raw folder {settings.raw_path} does not exist")
    if context.cursor == state.fingerprint:
        return dg.SkipReason("raw folder unchanged")
    if context.cursor is None:
        context.update_cursor(state.fingerprint)
        return dg.SkipReason(f"recorded the raw folder's current state ({state.files} files)")
    if state.newest_mtime is not None and time.time() - state.newest_mtime < SETTLE_SECONDS:
        # Cursor left as it was: the change is picked up, once, on a tick after the writes stop.
        return dg.SkipReason("raw folder changed and is still being written; waiting for it to settle")
    previous = context.cursor
    context.update_cursor(state.fingerprint)
    # The run key names the transition: a tick evaluated twice requests nothing new, while a folder
    # changed back to an earlier state (a file removed, then restored with its old mtime) still builds.
    return dg.RunRequest(
        run_key=f"raw-{previous[:12]}-{state.fingerprint[:12]}",
        tags={"credence/trigger": "raw_folder_sensor", "credence/raw_files": str(state.files)},
    )
