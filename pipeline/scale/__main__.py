"""`python -m pipeline.scale [--buckets N] [--max-concurrent N]`: run build_release_partitioned in the
persistent instance (DAGSTER_HOME) with the folders of CREDENCE_RAW_DIR / CREDENCE_OUTPUTS_DIR."""

from __future__ import annotations

import argparse
import os
import sys

from pipeline.instance_home import InstanceOutputsMismatch, ensure_home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.scale")
    parser.add_argument("--buckets", type=int, default=None, help="number of content-hash buckets (default 8)")
    parser.add_argument("--max-concurrent", type=int, default=0, help="steps at once (default: CPU count)")
    args = parser.parse_args(argv)
    from pipeline.settings import default_outputs_dir, default_raw_dir

    try:
        os.environ["DAGSTER_HOME"] = str(ensure_home(outputs=default_outputs_dir()))
    except InstanceOutputsMismatch as err:
        print(f"build refused: {err}", file=sys.stderr)
        return 2
    import dagster as dg

    raw, outputs = default_raw_dir(), default_outputs_dir()
    job = dg.build_reconstructable_job(
        "pipeline.scale.jobs",
        "partitioned_job",
        reconstructable_kwargs={
            "raw_dir": raw,
            "outputs_dir": outputs,
            "max_concurrent": args.max_concurrent or None,
        },
    )
    run_config = {"ops": {"partition_articles": {"config": {"buckets": args.buckets}}}} if args.buckets else None
    from pipeline.errors import UserError
    from pipeline.outputs import build_lock, check_folders

    try:
        check_folders(raw, outputs)
        with build_lock(outputs, raw), dg.DagsterInstance.get() as instance:
            result = dg.execute_job(job, instance=instance, run_config=run_config)
            if not result.success:
                print("partitioned build failed; see the run in the Dagster UI (make ui)", file=sys.stderr)
                return 1
    except UserError as err:
        print(f"partitioned build failed: {err.what} -- {err.todo}", file=sys.stderr)
        return 1
    print("partitioned build succeeded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
