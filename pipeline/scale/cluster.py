"""The local cluster: `make cluster-up`, `make cluster-down`, `make cluster-run`.

Postgres (the Dagster instance's run, event log and schedule storage), Redis (the Celery broker and
result backend) and N Celery workers (``celery -A pipeline.scale.celery_app worker``), all on this
machine, bound to 127.0.0.1, with their data, logs and pids under one folder (``--dir``; the
Makefile's CLUSTER_DIR, default ``.cluster/``, gitignored). It stands in for managed services:
everything a client needs is in ``<dir>/cluster.env`` (DAGSTER_HOME, DAGSTER_PG_*,
CREDENCE_CELERY_BROKER / _BACKEND), the same variables a deployment on managed Postgres and Redis
sets itself (docs/scaling.md).

- Postgres and Redis come from the Debian packages ``postgresql`` and ``redis-server``; a missing
  one stops `up` before anything starts, naming the package (exit 2). Postgres refuses to run as
  root, so under root it runs as the package's ``postgres`` user.
- Both require a password (generated once, kept in ``cluster.env``, mode 0600): a broker anyone on
  the machine could write to would run their tasks in the workers, since a task names the module
  a worker imports to rebuild its job.
- `up` is idempotent (what runs is left running, on the ports it was started with) and checks
  every port before starting anything: a taken port is exit 3, so a caller can pick another.
  Each start is waited for with a timeout, and a failure prints the tail of that service's log.
- `down` stops the workers (a warm shutdown: a running step finishes, up to a timeout), Redis and
  Postgres; stopping what is not running is not an error. Data stays in ``--dir`` for the next `up`.
- `ui` is `make ui` on the cluster's instance (`make cluster-ui`).
- `run` loads ``cluster.env``, checks that the services answer and a worker is listening (the Celery
  executor would otherwise wait for ever on a queue no one reads), and runs the scale-out job with
  ``--executor celery`` (pipeline/scale/__main__.py).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import glob
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import PROJECT_ROOT

HOST = "127.0.0.1"
PG_USER = "credence"
PG_DB = "credence"
ENV_FILE = "cluster.env"
STATE_FILE = "cluster.json"
# Postgres refuses to run as root; the Debian package creates this user for it.
PG_SYSTEM_USER = "postgres"

EXIT_FAILED = 1
EXIT_MISSING_PACKAGE = 2
EXIT_PORT_TAKEN = 3


class ClusterError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Layout:
    """Where each service keeps its data, logs and pid, under the cluster folder."""

    root: Path

    @property
    def pg(self) -> Path:
        return self.root / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.pg / "data"

    @property
    def pg_log(self) -> Path:
        return self.pg / "postgres.log"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def redis_conf(self) -> Path:
        return self.redis / "redis.conf"

    @property
    def redis_pid(self) -> Path:
        return self.redis / "redis.pid"

    @property
    def redis_log(self) -> Path:
        return self.redis / "redis.log"

    @property
    def workers(self) -> Path:
        return self.root / "workers"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def env_file(self) -> Path:
        return self.root / ENV_FILE

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    def worker_pid(self, name: str) -> Path:
        return self.workers / f"{name}.pid"

    def worker_log(self, name: str) -> Path:
        return self.workers / f"{name}.log"


def log(message: str) -> None:
    print(f"cluster: {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Binaries, users, ports, processes


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    pg_ctl: Path
    redis_server: Path


def find_binaries() -> Binaries:
    """The Postgres server programs (Debian keeps them in /usr/lib/postgresql/<major>/bin, off the
    PATH; CREDENCE_PG_BINDIR points elsewhere) and redis-server. Raises naming what to install."""
    missing = []
    bindir_env = os.environ.get("CREDENCE_PG_BINDIR")
    candidates = (
        [Path(bindir_env)]
        if bindir_env
        else [
            *(Path(p).parent for p in filter(None, [shutil.which("initdb")])),
            *sorted(
                (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                reverse=True,
            ),
        ]
    )
    bindir = next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)
    if bindir is None:
        where = f"CREDENCE_PG_BINDIR={bindir_env}" if bindir_env else "the PATH or /usr/lib/postgresql/*/bin"
        missing.append(f"the PostgreSQL server (initdb, pg_ctl; not in {where}): Debian package postgresql")
    redis = shutil.which("redis-server")
    if redis is None:
        missing.append("redis-server (not on the PATH): Debian package redis-server")
    if missing:
        raise ClusterError(
            "cannot start the cluster, missing: "
            + "; ".join(missing)
            + ". Install with `apt-get install postgresql redis-server` (CI's .ci/run does).",
            EXIT_MISSING_PACKAGE,
        )
    return Binaries(bindir / "initdb", bindir / "pg_ctl", Path(redis))


def pg_runs_as() -> dict:
    """subprocess arguments that run the Postgres programs as an unprivileged user when we are root
    (initdb and pg_ctl refuse root), with root's supplementary groups dropped."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pw = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        raise ClusterError(
            f"running as root, Postgres needs the system user '{PG_SYSTEM_USER}' (created by the Debian "
            "package postgresql), and there is none",
            EXIT_MISSING_PACKAGE,
        ) from None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port``. SO_REUSEADDR as Postgres and Redis set it: the
    connections of a cluster just stopped linger in TIME_WAIT, and without it the port looked
    taken for a minute after every `down`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def pid_alive(pid: int, must_contain: str | None = None) -> bool:
    """Whether ``pid`` runs and, when /proc tells, whether its command line holds ``must_contain``
    (a pid file can outlive its process and the number be given to another one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        # A process that exited but whose parent has not collected it yet (a zombie) has stopped.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass
    if must_contain is None:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return must_contain in cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc on this system: trust the pid
    except OSError:
        return True


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail(path: Path, lines: int = 25, since: int = 0) -> str:
    """The last lines of a log, from byte ``since`` on (what this start wrote: logs are appended to)."""
    try:
        with path.open("rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return f"last lines of {path}:\n" + "\n".join(text.splitlines()[-lines:])


def wait_until(what: str, probe, timeout: float, log_path: Path | None = None, interval: float = 0.25, since: int = 0):
    """Calls ``probe`` until it returns something true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as err:  # noqa: BLE001  (a service not yet up fails in many ways; the last is reported)
            last_error = err
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    logs = f"\n{tail(log_path, since=since)}" if log_path else ""
    raise ClusterError(f"{what} did not come up within {timeout:.0f} s{detail}{logs}")


# ---------------------------------------------------------------------------------------------
# Settings shared by the services and their clients


def load_env(layout: Layout) -> dict[str, str]:
    if not layout.env_file.is_file():
        return {}
    env = {}
    for line in layout.env_file.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = shlex.split(value)[0] if value else ""
    return env


def make_env(layout: Layout, pg_port: int, redis_port: int, old: dict[str, str]) -> dict[str, str]:
    """The clients' settings; the passwords are made once and kept."""
    pg_password = old.get("DAGSTER_PG_PASSWORD") or secrets.token_hex(16)
    redis_password = old.get("CREDENCE_REDIS_PASSWORD") or secrets.token_hex(16)
    redis_url = f"redis://:{redis_password}@{HOST}:{redis_port}"
    return {
        "DAGSTER_HOME": str(layout.dagster_home),
        "DAGSTER_PG_HOST": HOST,
        "DAGSTER_PG_PORT": str(pg_port),
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": pg_password,
        "DAGSTER_PG_DB": PG_DB,
        "CREDENCE_REDIS_PASSWORD": redis_password,
        # Broker and results in two Redis databases: a FLUSHDB of one never takes the other along.
        "CREDENCE_CELERY_BROKER": f"{redis_url}/0",
        "CREDENCE_CELERY_BACKEND": f"{redis_url}/1",
    }


def write_env(layout: Layout, env: dict[str, str]) -> None:
    text = "# Written by `make cluster-up` (pipeline/scale/cluster.py). `set -a; . this-file` in a shell.\n"
    text += "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items())
    fd = os.open(layout.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def read_state(layout: Layout) -> dict:
    try:
        return json.loads(layout.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_state(layout: Layout, state: dict) -> None:
    layout.state_file.write_text(json.dumps(state, indent=2) + "\n")


# Postgres-backed storage for runs, event logs and schedules (`storage: postgres:` sets all three),
# each setting from the environment, so one file serves this machine and a managed database. The
# scheme names the driver: SQLAlchemy 2.1 takes a bare postgresql:// to mean psycopg 3, which
# dagster-postgres does not install (it requires psycopg2-binary; dagster-io/dagster#33958), and the
# first connection failed with "No module named 'psycopg'".
DAGSTER_STORAGE_YAML = """\
storage:
  postgres:
    postgres_db:
      scheme: postgresql+psycopg2
      hostname: { env: DAGSTER_PG_HOST }
      port: { env: DAGSTER_PG_PORT }
      username: { env: DAGSTER_PG_USER }
      password: { env: DAGSTER_PG_PASSWORD }
      db_name: { env: DAGSTER_PG_DB }
"""


def dagster_yaml() -> str:
    from pipeline.instance_home import DAGSTER_YAML

    header = "# Written by `make cluster-up` (pipeline/scale/cluster.py): the cluster profile's instance.\n"
    body = "\n".join(line for line in DAGSTER_YAML.splitlines() if not line.startswith("# Written by"))
    return header + DAGSTER_STORAGE_YAML + body + "\n"


# ---------------------------------------------------------------------------------------------
# Postgres


def pg_run(args: list, layout: Layout, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=layout.pg, capture_output=True, text=True, **pg_runs_as(), **kwargs
    )


def pg_running(binaries: Binaries, layout: Layout) -> bool:
    if not (layout.pg_data / "PG_VERSION").is_file():
        return False
    return pg_run([binaries.pg_ctl, "status", "-D", layout.pg_data], layout, timeout=30).returncode == 0


def pg_prepare(binaries: Binaries, layout: Layout, env: dict[str, str]) -> None:
    """Create the database cluster once (initdb), owned by the user Postgres runs as."""
    runas = pg_runs_as()
    layout.pg.mkdir(parents=True, exist_ok=True)
    if runas:
        os.chown(layout.pg, runas["user"], runas["group"])
        check = subprocess.run(["test", "-w", str(layout.pg)], **runas)
        if check.returncode != 0:
            raise ClusterError(
                f"Postgres runs as the user '{PG_SYSTEM_USER}' (it refuses root), which cannot reach "
                f"{layout.pg}: a folder above it is not open to other users (chmod o+x), or put the "
                "cluster elsewhere (CLUSTER_DIR=...)"
            )
    if (layout.pg_data / "PG_VERSION").is_file():
        return
    pwfile = layout.pg / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(env["DAGSTER_PG_PASSWORD"] + "\n")
    if runas:
        os.chown(pwfile, runas["user"], runas["group"])
    try:
        log(f"initdb {layout.pg_data}")
        out = pg_run(
            [
                binaries.initdb,
                "-D",
                layout.pg_data,
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            layout,
            timeout=300,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if out.returncode != 0:
        raise ClusterError(f"initdb failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")


def pg_start(binaries: Binaries, layout: Layout, port: int, timeout: float) -> None:
    # TCP on 127.0.0.1 only and no Unix socket: its path would have to be short and writable, and
    # every client here connects by host and port, as it would to a managed database.
    options = f"-p {port} -c listen_addresses={HOST} -c unix_socket_directories=''"
    since = log_size(layout.pg_log)
    out = pg_run(
        [
            binaries.pg_ctl,
            "start",
            "-D",
            layout.pg_data,
            "-l",
            layout.pg_log,
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
        ],
        layout,
        timeout=timeout + 30,
    )
    if out.returncode != 0:
        message = f"Postgres did not start on {HOST}:{port}: {out.stderr.strip()}\n{tail(layout.pg_log, since=since)}"
        raise start_failed(message, "Postgres", port)


def start_failed(message: str, what: str, port: int) -> ClusterError:
    """The error of a failed start; when the log says another program took the port after it was
    checked, the same exit code and words as a port found taken, so a caller can retry elsewhere."""
    if "Address already in use" in message:
        return ClusterError(f"taken on {HOST}: {what} port {port}, since it was checked\n{message}", EXIT_PORT_TAKEN)
    return ClusterError(message)


def pg_connect(env: dict[str, str], db: str | None = None):
    import psycopg2

    return psycopg2.connect(
        host=env["DAGSTER_PG_HOST"],
        port=int(env["DAGSTER_PG_PORT"]),
        user=env["DAGSTER_PG_USER"],
        password=env["DAGSTER_PG_PASSWORD"],
        dbname=db or env["DAGSTER_PG_DB"],
        connect_timeout=5,
    )


def pg_ensure_database(env: dict[str, str], layout: Layout, timeout: float) -> None:
    def ready():
        pg_connect(env, "postgres").close()
        return True

    wait_until("Postgres", ready, timeout, layout.pg_log)
    conn = pg_connect(env, "postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (env["DAGSTER_PG_DB"],))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{env["DAGSTER_PG_DB"]}"')
    finally:
        conn.close()


def pg_stop(binaries: Binaries, layout: Layout, timeout: float) -> None:
    out = pg_run(
        [binaries.pg_ctl, "stop", "-D", layout.pg_data, "-m", "fast", "-w", "-t", str(int(timeout))],
        layout,
        timeout=timeout + 30,
    )
    if out.returncode != 0:
        raise ClusterError(f"Postgres did not stop: {out.stderr.strip()}\n{tail(layout.pg_log)}")


# ---------------------------------------------------------------------------------------------
# Redis


def redis_running(layout: Layout) -> int | None:
    pid = read_pid(layout.redis_pid)
    return pid if pid and pid_alive(pid, "redis-server") else None


def redis_quote(path: Path) -> str:
    """A path as a quoted Redis configuration argument (a folder name may hold spaces)."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def redis_start(binaries: Binaries, layout: Layout, port: int, env: dict[str, str], timeout: float) -> None:
    layout.redis.mkdir(parents=True, exist_ok=True)
    # The password sits in the config file (mode 0600), not on the command line others can read.
    # No snapshots: the queue lives only while a run does, and the run's state is in Postgres.
    conf = "\n".join(
        [
            f"bind {HOST}",
            f"port {port}",
            "protected-mode yes",
            f"requirepass {env['CREDENCE_REDIS_PASSWORD']}",
            "daemonize yes",
            f"pidfile {redis_quote(layout.redis_pid)}",
            f"logfile {redis_quote(layout.redis_log)}",
            f"dir {redis_quote(layout.redis)}",
            'save ""',
            "appendonly no",
            "",
        ]
    )
    fd = os.open(layout.redis_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(conf)
    layout.redis_pid.unlink(missing_ok=True)
    since = log_size(layout.redis_log)
    out = subprocess.run(
        [str(binaries.redis_server), str(layout.redis_conf)], capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        raise ClusterError(
            f"redis-server did not start: {out.stdout}{out.stderr}\n{tail(layout.redis_log, since=since)}"
        )

    def ready():
        import redis

        client = redis.Redis(host=HOST, port=port, password=env["CREDENCE_REDIS_PASSWORD"], socket_timeout=2)
        try:
            return client.ping()
        finally:
            client.close()

    try:
        wait_until(f"Redis on {HOST}:{port}", ready, timeout, layout.redis_log, since=since)
    except ClusterError as err:
        raise start_failed(str(err), "Redis", port) from None


def stop_pid(pid: int, what: str, timeout: float, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` s; with ``group``, the process group that ``pid``
    leads goes too (a worker's pool processes, should the worker itself have been killed)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reaped if it is our own child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    still = pid_alive(pid)
    if still:
        log(f"{what} (pid {pid}) did not stop within {timeout:.0f} s: killing it")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signal.SIGKILL)
        elif still:
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Celery workers


def code_fingerprint() -> str:
    """The code a worker imported when it started. A worker keeps its modules for its whole life,
    so one started before a change of the checkout would build with the old extractor under a
    run of the new code: `up` restarts such workers and `run` refuses to use them."""
    from pipeline.cache import source_fingerprint

    return source_fingerprint(PROJECT_ROOT / "pipeline", PROJECT_ROOT / "schemas")


def worker_names(count: int) -> list[str]:
    return [f"w{i}" for i in range(1, count + 1)]


def node_name(name: str) -> str:
    return f"credence-{name}@{socket.gethostname()}"


def worker_running(layout: Layout, name: str) -> int | None:
    pid = read_pid(layout.worker_pid(name))
    return pid if pid and pid_alive(pid, node_name(name)) else None


def worker_start(layout: Layout, name: str, env: dict[str, str]) -> int:
    """One worker process with one pool process: a step at a time, as a pod or a machine of a real
    cluster runs them; `--workers` sets how many. The pool process stays between tasks, so the
    imports and the parser model are loaded once per worker, not once per step."""
    layout.workers.mkdir(parents=True, exist_ok=True)
    celery = Path(sys.executable).parent / "celery"
    cmd = [
        str(celery),
        "-A",
        "pipeline.scale.celery_app",
        "worker",
        "--hostname",
        node_name(name),
        "--concurrency",
        "1",
        "--prefetch-multiplier",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    with layout.worker_log(name).open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: `down` can stop the pool with it
        )
    layout.worker_pid(name).write_text(f"{proc.pid}\n")
    return proc.pid


def celery_app_for(env: dict[str, str]):
    from celery import Celery

    return Celery("credence-cluster-control", broker=env["CREDENCE_CELERY_BROKER"])


def workers_answering(env: dict[str, str], names: list[str], timeout: float = 1.0) -> set[str]:
    app = celery_app_for(env)
    try:
        replies = app.control.ping(destination=[node_name(n) for n in names], timeout=timeout)
    finally:
        app.close()
    nodes = {node for reply in replies for node in reply}
    return {n for n in names if node_name(n) in nodes}


# ---------------------------------------------------------------------------------------------
# Commands


def up(layout: Layout, pg_port: int, redis_port: int, workers: int, timeout: float) -> None:
    binaries = find_binaries()
    runas = pg_runs_as()  # fails early when root and no postgres user
    layout.root.mkdir(parents=True, exist_ok=True)
    if runas:
        layout.root.chmod(layout.root.stat().st_mode | 0o711)  # Postgres's user reaches postgres/
    state = read_state(layout)
    pg_up = pg_running(binaries, layout)
    redis_pid = redis_running(layout)
    if pg_up and state.get("pg_port") != pg_port:
        raise ClusterError(
            f"Postgres of this cluster already runs on port {state.get('pg_port')}, not {pg_port}: "
            "`make cluster-down` first to move it",
        )
    if redis_pid and state.get("redis_port") != redis_port:
        raise ClusterError(
            f"Redis of this cluster already runs on port {state.get('redis_port')}, not {redis_port}: "
            "`make cluster-down` first to move it",
        )
    taken = [
        f"{what} port {port}"
        for what, port, running in (("Postgres", pg_port, pg_up), ("Redis", redis_port, redis_pid))
        if not running and not port_free(port)
    ]
    if pg_port == redis_port:
        taken.append(f"one port ({pg_port}) for both Postgres and Redis")
    if taken:
        raise ClusterError(
            f"taken on {HOST}: {', '.join(taken)} (another program listens there); choose free ones with "
            "CLUSTER_PG_PORT=... CLUSTER_REDIS_PORT=...",
            EXIT_PORT_TAKEN,
        )

    env = make_env(layout, pg_port, redis_port, load_env(layout))
    write_env(layout, env)
    state.update({"pg_port": pg_port, "redis_port": redis_port})
    write_state(layout, state)

    if pg_up:
        log(f"Postgres already running on {HOST}:{pg_port}")
    else:
        pg_prepare(binaries, layout, env)
        log(f"starting Postgres on {HOST}:{pg_port}")
        pg_start(binaries, layout, pg_port, timeout)
    pg_ensure_database(env, layout, timeout)

    if redis_pid:
        log(f"Redis already running on {HOST}:{redis_port} (pid {redis_pid})")
    else:
        log(f"starting Redis on {HOST}:{redis_port}")
        redis_start(binaries, layout, redis_port, env, timeout)

    prepare_dagster_home(layout, env)

    names = worker_names(workers)
    code = code_fingerprint()
    for pid_file in sorted(layout.workers.glob("*.pid")) if layout.workers.is_dir() else []:
        name = pid_file.stem
        pid = worker_running(layout, name)
        if pid and state.get("code") != code:
            log(f"worker {node_name(name)} runs older code than this checkout: restarting it")
        elif pid and name not in names:
            log(f"worker {node_name(name)} is beyond --workers {workers}: stopping it")
        else:
            continue
        stop_pid(pid, f"worker {name}", timeout, group=True)
        pid_file.unlink(missing_ok=True)
    started = []
    for name in names:
        pid = worker_running(layout, name)
        if pid:
            log(f"worker {node_name(name)} already running (pid {pid})")
        else:
            pid = worker_start(layout, name, env)
            started.append(name)
            log(f"starting worker {node_name(name)} (pid {pid}, log {layout.worker_log(name)})")
    state.update({"workers": names, "code": code})
    write_state(layout, state)

    def all_answer():
        for name in started:
            pid = read_pid(layout.worker_pid(name))
            if pid and not pid_alive(pid, node_name(name)):
                raise ClusterError(f"worker {name} exited while starting\n{tail(layout.worker_log(name))}")
        return workers_answering(env, names) == set(names)

    try:
        wait_until(f"{len(names)} Celery workers", all_answer, timeout, interval=0.5)
    except ClusterError as err:
        logs = "\n".join(tail(layout.worker_log(n), 15) for n in started)
        raise ClusterError(f"{err}\n{logs}") from None
    log(
        f"up: Postgres {HOST}:{pg_port} (database {PG_DB}), Redis {HOST}:{redis_port}, "
        f"{len(names)} workers; settings in {layout.env_file}"
    )


def prepare_dagster_home(layout: Layout, env: dict[str, str]) -> None:
    """The instance of the cluster profile: Postgres storage, the same run limits as any other
    instance here (pipeline/instance_home.py). Opening it once creates the tables."""
    home = layout.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(dagster_yaml(), encoding="utf-8")
    os.environ.update(env)
    import dagster as dg

    from pipeline.instance_home import validate_home

    validate_home(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = type(instance.run_storage).__name__
    if "Postgres" not in storage:
        raise ClusterError(f"{cfg} does not configure Postgres storage (run storage: {storage})")


def down(layout: Layout, timeout: float) -> None:
    if not layout.root.is_dir():
        log(f"nothing to stop: no cluster at {layout.root}")
        return
    stopped = []
    for pid_file in sorted(layout.workers.glob("*.pid")) if layout.workers.is_dir() else []:
        name = pid_file.stem
        pid = worker_running(layout, name)
        if pid:
            log(f"stopping worker {node_name(name)} (pid {pid})")
            stop_pid(pid, f"worker {name}", timeout, group=True)
            stopped.append(f"worker {name}")
        pid_file.unlink(missing_ok=True)
    pid = redis_running(layout)
    if pid:
        log(f"stopping Redis (pid {pid})")
        stop_pid(pid, "Redis", timeout)
        stopped.append("Redis")
    if (layout.pg_data / "PG_VERSION").is_file():
        binaries = find_binaries()
        if pg_running(binaries, layout):
            log("stopping Postgres")
            pg_stop(binaries, layout, timeout)
            stopped.append("Postgres")
    log(f"down: stopped {', '.join(stopped)}" if stopped else "down: nothing was running")


def run(layout: Layout, buckets: int | None) -> int:
    env = load_env(layout)
    if not env:
        raise ClusterError(f"no cluster at {layout.root} ({ENV_FILE} missing): `make cluster-up` first")
    try:
        pg_connect(env).close()
    except Exception as err:  # noqa: BLE001  (psycopg2 reports a refused or failed connection in several types)
        raise ClusterError(f"Postgres of the cluster does not answer ({err}): `make cluster-up` first") from None
    state = read_state(layout)
    if state.get("code") != code_fingerprint():
        raise ClusterError(
            "the workers run older code than this checkout (pipeline/ or schemas/ changed since they "
            "started): `make cluster-up` restarts them"
        )
    names = state.get("workers") or []
    try:
        answering = workers_answering(env, names, timeout=2.0)
    except Exception as err:  # noqa: BLE001  (kombu raises per transport)
        raise ClusterError(f"Redis of the cluster does not answer ({err}): `make cluster-up` first") from None
    if not answering:
        raise ClusterError("no Celery worker of the cluster answers: `make cluster-up` first")
    log(f"building through {len(answering)} workers ({', '.join(sorted(answering))})")
    os.environ.update(env)
    from pipeline.instance_home import OUTPUTS_MARK, InstanceOutputsMismatch, claim_outputs
    from pipeline.settings import default_outputs_dir

    outputs = Path(default_outputs_dir()).resolve()
    try:
        claim_outputs(layout.dagster_home, outputs)
    except InstanceOutputsMismatch:
        # One instance per outputs folder, as everywhere else (pipeline/instance_home.py).
        mark = layout.dagster_home / OUTPUTS_MARK
        owner = mark.read_text(encoding="utf-8").strip()
        raise ClusterError(
            f"this cluster's instance ({layout.dagster_home}) belongs to the outputs folder {owner}, not "
            f"{outputs}: runs of two folders in one instance would mix in the UI. Build into {owner}, "
            f"start another cluster for {outputs} (CLUSTER_DIR=... with other ports), or delete {mark} "
            "to hand this one over."
        ) from None
    from pipeline.scale.__main__ import main

    return main(["--executor", "celery", *(["--buckets", str(buckets)] if buckets else [])])


def ui(layout: Layout, port: int) -> int:
    """The Dagster UI and daemon (`dagster dev`, as `make ui`) on the cluster's instance: its runs,
    their steps and the worker each ran on."""
    env = load_env(layout)
    if not env:
        raise ClusterError(f"no cluster at {layout.root} ({ENV_FILE} missing): `make cluster-up` first")
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster), "dev", "-w", "workspace.yaml", "-h", HOST, "-p", str(port)]
    return subprocess.call(cmd, cwd=PROJECT_ROOT, env={**os.environ, **env})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.scale.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=PROJECT_ROOT / ".cluster", help="the cluster's folder")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each service")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start Postgres, Redis and the workers (idempotent)")
    p_up.add_argument("--pg-port", type=int, default=55432)
    p_up.add_argument("--redis-port", type=int, default=56379)
    p_up.add_argument("--workers", type=int, default=2)
    sub.add_parser("down", help="stop the workers, Redis and Postgres (idempotent)")
    p_run = sub.add_parser("run", help="build CREDENCE_RAW_DIR into CREDENCE_OUTPUTS_DIR through the cluster")
    p_run.add_argument("--buckets", type=int, default=None)
    p_ui = sub.add_parser("ui", help="the Dagster UI on the cluster's instance")
    p_ui.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    layout = Layout(args.dir.resolve())

    from filelock import FileLock, Timeout

    if args.command == "up":
        layout.root.mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "run":
            return run(layout, args.buckets)
        if args.command == "ui":
            return ui(layout, args.port)
        if not layout.root.is_dir():
            down(layout, args.timeout)
            return 0
        # One `up` or `down` at a time on a cluster folder.
        with FileLock(str(layout.root / ".cluster.lock"), timeout=args.timeout):
            if args.command == "up":
                if args.workers < 1:
                    raise ClusterError("--workers must be at least 1")
                up(layout, args.pg_port, args.redis_port, args.workers, args.timeout)
            else:
                down(layout, args.timeout)
    except ClusterError as err:
        print(f"cluster {args.command} failed: {err}", file=sys.stderr)
        return err.code
    except Timeout:
        print(f"cluster {args.command} failed: another `up` or `down` holds {layout.root}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
