"""Command line: `python -m pipeline.cli build` runs the build_release job in the persistent
Dagster instance (DAGSTER_HOME), so command-line runs show up in the UI like any other run."""
from __future__ import annotations

import argparse
import os
import sys

from pipeline.instance_home import ensure_home


def build() -> int:
    os.environ["DAGSTER_HOME"] = str(ensure_home())
    import dagster as dg

    from pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("build_release").execute_in_process(instance=instance, raise_on_error=False)
        if not result.success:
            print("build failed; see the run in the Dagster UI (make ui) for the step that failed", file=sys.stderr)
            return 1
        meta = {}
        for event in result.get_asset_materialization_events():
            mat = event.asset_materialization
            if mat and mat.asset_key.to_user_string() == "release_manifest":
                meta = {k: v.value for k, v in mat.metadata.items()}
        new = meta.get("published_new_version")
        print(f"release {meta.get('version')} {'published' if new else 'unchanged (no new version)'} at {meta.get('path')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="credence")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build a release from the raw folder into the outputs folder")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
