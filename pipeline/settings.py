"""Where Credence reads and writes: one place for the UI, schedules, sensors and the command line."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_raw_dir() -> str:
    return os.environ.get("CREDENCE_RAW_DIR") or str(PROJECT_ROOT / "raw")


def default_outputs_dir() -> str:
    return os.environ.get("CREDENCE_OUTPUTS_DIR") or str(PROJECT_ROOT / "outputs")


def default_gold_file() -> str:
    """Gold file for the WARN-level quality check; empty string disables it."""
    return os.environ.get("CREDENCE_GOLD_FILE", str(PROJECT_ROOT / "examples" / "gold" / "seed_events.yaml"))


def default_dagster_home() -> str:
    return os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT / ".dagster")


def default_allow_shrink() -> bool:
    """CREDENCE_ALLOW_SHRINK=1: publish even a release that drops most of the previous one's articles."""
    return os.environ.get("CREDENCE_ALLOW_SHRINK", "").strip().lower() in ("1", "true", "yes")
