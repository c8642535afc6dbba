"""Prepare DAGSTER_HOME: a persistent instance with telemetry and the first-visit pop-up off, and a
run queue that lets one build run at a time."""
from __future__ import annotations

import sys
from pathlib import Path

from pipeline.settings import default_dagster_home

DAGSTER_YAML = """\
# Written by `make setup` (pipeline/instance_home.py). Edit freely: it is not overwritten.
telemetry:
  enabled: false
nux:
  enabled: false
run_queue:
  max_concurrent_runs: 1
  tag_concurrency_limits:
    - key: dagster/concurrency_key
      value: credence_build
      limit: 1
run_retries:
  enabled: true
  max_retries: 1
"""


def ensure_home(home: str | Path | None = None) -> Path:
    path = Path(home or default_dagster_home()).resolve()
    path.mkdir(parents=True, exist_ok=True)
    cfg = path / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"DAGSTER_HOME={ensure_home(sys.argv[1] if len(sys.argv) > 1 else None)}")
