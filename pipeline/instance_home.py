"""Prepare DAGSTER_HOME: a persistent instance with telemetry and the first-visit pop-up off, one run
at a time, and one retry of a run that crashed (not of one whose step failed: those failures are
deterministic).

Run limits use the ``concurrency: runs:`` block, the form Dagster 1.13 documents; the older
``run_queue:`` block is still read, but an instance may not set tag limits in both, so only one is
written. ``run_retries`` retries a run once when its process died, never a step that failed (see
pipeline/automation.py).
"""

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
concurrency:
  runs:
    # One build at a time, whatever starts it (schedule, sensor, "Materialize all"); others queue.
    max_concurrent_runs: 1
    tag_concurrency_limits:
      - key: credence/build
        value: release
        limit: 1
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
freshness:
  enabled: true
"""


def validate_home(home: Path) -> dict:
    """Load DAGSTER_HOME/dagster.yaml through Dagster's own schema; raises DagsterInvalidConfigError
    (with the offending key) when this Dagster version would refuse it."""
    from dagster._core.instance.config import dagster_instance_config

    config, _custom_class = dagster_instance_config(str(home))
    return dict(config)


OUTPUTS_MARK = "credence-outputs.txt"


class InstanceOutputsMismatch(ValueError):
    """A build would write runs for one outputs folder into the instance of another."""


def claim_outputs(home: Path, outputs: str | Path) -> None:
    """Record which outputs folder the instance in ``home`` belongs to (first build), or refuse a
    build into another one: its runs and materializations would replace, in the UI, what the
    instance shows for its own folder (issue 17: after `make run OUT=other` the UI showed the
    other corpus)."""
    outputs = str(Path(outputs).resolve())
    mark = home / OUTPUTS_MARK
    if not mark.is_file():
        mark.write_text(outputs + "\n", encoding="utf-8")
        return
    owner = mark.read_text(encoding="utf-8").strip()
    if owner != outputs:
        raise InstanceOutputsMismatch(
            f"the Dagster instance {home} belongs to the outputs folder {owner}, not {outputs}: a build "
            f"there would change what the UI shows for {owner}. Leave DAGSTER_HOME unset (each outputs "
            f"folder then gets its own instance, <outputs>/.dagster) or point it at another folder; "
            f"delete {mark} to hand the instance over on purpose."
        )


def ensure_home(home: str | Path | None = None, *, outputs: str | Path | None = None) -> Path:
    """Create (once) and return the instance folder; with ``outputs``, also check that the
    instance belongs to that outputs folder (``claim_outputs``)."""
    path = Path(home or default_dagster_home()).resolve()
    path.mkdir(parents=True, exist_ok=True)
    cfg = path / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    # Create the SQLite storages once, under a lock: two builds starting together on a new home
    # would otherwise both run the schema migrations and one fails ("more than one head").
    if not all((path / p).exists() for p in ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")):
        import dagster as dg
        from filelock import FileLock

        with FileLock(str(path / ".instance-init.lock"), timeout=600), dg.DagsterInstance.from_config(str(path)):
            pass
    if outputs is not None:
        claim_outputs(path, outputs)
    return path


if __name__ == "__main__":
    home = ensure_home(sys.argv[1] if len(sys.argv) > 1 else None)
    # Fail `make setup` here, with Dagster's message, rather than at the first `make ui`.
    validate_home(home)
    print(f"DAGSTER_HOME={home}")
