"""The Credence code location: assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from pipeline.assets import dedup, extract, ingest, release, site, validate
from pipeline.automation import build_release_job, daily_release_schedule, raw_folder_sensor
from pipeline.checks import ASSET_CHECKS
from pipeline.resources import CredenceSettings, ParquetIOManager
from pipeline.scale.jobs import build_release_partitioned

_modules = [ingest, extract, validate, dedup, release, site]
_settings = CredenceSettings.from_env()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(_modules),
    asset_checks=ASSET_CHECKS,
    jobs=[build_release_job, build_release_partitioned],
    schedules=[daily_release_schedule],
    sensors=[raw_folder_sensor],
    resources={
        "settings": _settings,
        "parquet_io": ParquetIOManager(settings=_settings),
    },
    # In-process: the multiprocess executor costs ~20 s of process start-up on two cores for a
    # graph this small; extraction parallelises itself over batches of articles.
    executor=dg.in_process_executor,
)
