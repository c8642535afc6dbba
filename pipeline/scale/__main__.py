"""`python -m pipeline.scale [--buckets N] [--max-concurrent N] [--executor multiprocess|celery]`: run
build_release_partitioned in the persistent instance (DAGSTER_HOME) with the folders of
CREDENCE_RAW_DIR / CREDENCE_OUTPUTS_DIR. With ``--executor celery`` the steps go to Celery workers
(CREDENCE_CELERY_BROKER / CREDENCE_CELERY_BACKEND) and DAGSTER_HOME must be an instance that the
workers reach too (Postgres): `make cluster-run` sets all of that up (pipeline/scale/cluster.py)."""

from __future__ import annotations

import argparse
import os
import sys

from pipeline.instance_home import InstanceOutputsMismatch, ensure_home


def main(argv: list[str] | None = None) -> int:
    from pipeline.scale.jobs import BACKEND_ENV, BROKER_ENV, EXECUTORS

    parser = argparse.ArgumentParser(prog="python -m pipeline.scale")
    parser.add_argument("--buckets", type=int, default=None, help="number of content-hash buckets (default 8)")
    parser.add_argument(
        "--max-concurrent", type=int, default=0, help="steps at once, multiprocess executor (default: CPU count)"
    )
    parser.add_argument("--executor", choices=EXECUTORS, default="multiprocess", help="where the steps run")
    args = parser.parse_args(argv)
    if args.executor == "celery":
        missing = [name for name in (BROKER_ENV, BACKEND_ENV) if not os.environ.get(name)]
        if missing:
            print(
                f"--executor celery needs {' and '.join(missing)} (the workers' broker and result backend); "
                "`make cluster-up` then `make cluster-run` sets them, see docs/scaling.md",
                file=sys.stderr,
            )
            return 2
        import warnings

        # dagster-celery's executor registers its execute_plan task on the same app again for every
        # step it submits; Celery 5.7 warns about each (the first registration is the one used,
        # and it is the same function), which buried the run's log under identical warnings.
        warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")
    from pipeline.settings import default_gold_file, default_outputs_dir, default_raw_dir

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
            # Passed, not read again from each step's environment: a Celery worker has its own.
            "gold_file": default_gold_file(),
            "max_concurrent": args.max_concurrent or None,
            "executor": args.executor,
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
                print(
                    f"partitioned build failed (run {result.run_id}); see the run in the Dagster UI "
                    f"({'make cluster-ui' if args.executor == 'celery' else 'make ui'})",
                    file=sys.stderr,
                )
                return 1
    except UserError as err:
        print(f"partitioned build failed: {err.what} -- {err.todo}", file=sys.stderr)
        return 1
    print(f"partitioned build succeeded (run {result.run_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
