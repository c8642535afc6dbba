"""The Credence code location: assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from pipeline.automation import build_release_job, daily_release_schedule, raw_folder_sensor
from pipeline.dedup import assets as dedup_assets
from pipeline.extract import assets as extract_assets
from pipeline.ingest import assets as ingest_assets
from pipeline.release import assets as release_assets
from pipeline.release import site_assets
from pipeline.resources import CredenceSettings, ParquetIOManager
from pipeline.scale.jobs import build_release_partitioned
from pipeline.validate import assets as validate_assets

_modules = [ingest_assets, extract_assets, validate_assets, dedup_assets, release_assets, site_assets]
_settings = CredenceSettings.from_env()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules(_modules),
    asset_checks=dg.load_asset_checks_from_modules(_modules),
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
