"""Command line: `python -m pipeline.cli build` runs the build_release job in the persistent
Dagster instance of the outputs folder (DAGSTER_HOME, else ``pipeline.settings.dagster_home_for``),
so command-line runs show up in the UI like any other run, and a build into another outputs folder
never shows up in the default folder's UI."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
from pathlib import Path

from pipeline.instance_home import InstanceOutputsMismatch, ensure_home
from pipeline.settings import default_outputs_dir


def build() -> int:
    try:
        os.environ["DAGSTER_HOME"] = str(ensure_home(outputs=default_outputs_dir()))
    except InstanceOutputsMismatch as err:
        print(f"build refused: {err}", file=sys.stderr)
        return 2
    import dagster as dg

    from pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("build_release").execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        if not result.success:
            print("build failed; see the run in the Dagster UI (make ui) for the step that failed", file=sys.stderr)
            return 1
        from pipeline.releases import read_latest, releases_dir

        outputs = Path(default_outputs_dir()).resolve()
        version = read_latest(outputs)
        published = [
            m
            for m in result.get_asset_materialization_events()
            if m.asset_key is not None and m.asset_key.to_user_string() == "release_manifest"
        ]
        new = published and published[0].materialization.metadata["published_new_version"].value
        print(
            f"release {version} {'published' if new else 'unchanged (no new version)'}: "
            f"{releases_dir(outputs) / str(version)}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="credence")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build a release from the raw folder into the outputs folder")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build()
    return 2


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown. When a build returns, its work is done and durable
    (the release is fsynced and renamed, the instance closed); tearing down the few hundred
    thousand objects that Dagster, polars and pandera leave behind took 1.1 s of every build's
    wall time. Output is flushed and the atexit handlers run first, as a normal exit would."""
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
