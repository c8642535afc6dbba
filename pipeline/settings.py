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
    """Gold file(s) for the WARN-level quality check, several joined by os.pathsep (':'); the check
    scores only the articles they cover. An empty string disables it."""
    return os.environ.get("CREDENCE_GOLD_FILE", str(PROJECT_ROOT / "examples" / "gold" / "seed_events.yaml"))


DEFAULT_OUTPUTS = PROJECT_ROOT / "outputs"


def dagster_home_for(outputs: str | Path) -> Path:
    """The Dagster instance that belongs to an outputs folder: ``.dagster/`` in the project for the
    default ``outputs/``, ``<outputs>/.dagster/`` for any other. One instance per outputs folder, so a
    build of another corpus (``make run RAW=... OUT=...``) never adds runs or materializations to
    the instance the UI shows for the default corpus (issue 17)."""
    outputs = Path(outputs).resolve()
    return PROJECT_ROOT / ".dagster" if outputs == DEFAULT_OUTPUTS.resolve() else outputs / ".dagster"


def default_dagster_home() -> str:
    """DAGSTER_HOME when set, else the instance of the outputs folder (``dagster_home_for``)."""
    return os.environ.get("DAGSTER_HOME") or str(dagster_home_for(default_outputs_dir()))


def quality_record_path() -> Path:
    """The committed quality record the data card reads (``make quality-record`` writes it);
    CREDENCE_QUALITY_RECORD overrides it."""
    return Path(os.environ.get("CREDENCE_QUALITY_RECORD") or PROJECT_ROOT / "examples" / "gold" / "quality.json")


DEFAULT_EXPLORE_PORT = 8001


def explorer_port() -> int:
    """The port `make explore` serves the explorer on (CREDENCE_EXPLORE_PORT, default 8001); the
    download page links it."""
    value = os.environ.get("CREDENCE_EXPLORE_PORT", "").strip()
    return int(value) if value.isdigit() else DEFAULT_EXPLORE_PORT


def default_allow_shrink() -> bool:
    """CREDENCE_ALLOW_SHRINK=1: publish even a release that drops most of the previous one's articles."""
    return os.environ.get("CREDENCE_ALLOW_SHRINK", "").strip().lower() in ("1", "true", "yes")
