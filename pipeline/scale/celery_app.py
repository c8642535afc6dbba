"""The Celery app of the cluster profile's workers: ``celery -A pipeline.scale.celery_app worker``.

The same app as ``dagster_celery.app`` (dagster-celery's queue, routes and the ``execute_plan``
task that runs one step of a run), with the broker and result backend taken from the environment
variables the executor reads too (CREDENCE_CELERY_BROKER / CREDENCE_CELERY_BACKEND, see
pipeline/scale/jobs.py), so a worker and the runs it serves cannot disagree on where tasks are.
``dagster-celery worker start -y config.yaml`` would do the same by writing the broker URL, password
included, into a new Python module under DAGSTER_HOME at every start (and never removing it).

A worker reconstructs the job of each task from its module and arguments
(``pipeline.scale.jobs.partitioned_job``) and writes its events to the run's instance (the
instance reference travels with the task; its Postgres settings are read from this worker's
DAGSTER_PG_* variables), so it needs the same code, the outputs folder at the same path (or the
same object store) and those variables; `make cluster-up` starts it so (pipeline/scale/cluster.py).
"""

from __future__ import annotations

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from pipeline.scale.jobs import BACKEND_ENV, BROKER_ENV


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"{name} is not set: a Credence Celery worker needs the broker and result backend URLs "
            f"({BROKER_ENV}, {BACKEND_ENV}); `make cluster-up` starts workers with them"
        )
    return value


app = make_app(CeleryExecutor.for_cli(broker=_required(BROKER_ENV), backend=_required(BACKEND_ENV)).app_args())
execute_plan = create_task(app)
