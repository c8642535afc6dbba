"""Dagster resources: the folders a build reads and writes, and the Parquet IO manager."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl

from pipeline.outputs import build_lock, check_folders
from pipeline.settings import default_allow_shrink, default_gold_file, default_outputs_dir, default_raw_dir
from pipeline.storage import write_parquet_atomic


class CredenceSettings(dg.ConfigurableResource):
    """Input and output folders. Defaults come from CREDENCE_RAW_DIR / CREDENCE_OUTPUTS_DIR (and
    CREDENCE_GOLD_FILE), so `make run`, the UI, the schedule and the sensor share one code path."""

    raw_dir: str
    outputs_dir: str
    gold_file: str = ""
    extract_workers: int = 2
    # Hold the outputs folder's build lock for the whole run (pipeline/outputs.py). The scale-out
    # job sets it off: its steps run in processes of their own, and it keeps its tables in a
    # folder of its own run (python -m pipeline.scale takes the lock around the whole job).
    hold_build_lock: bool = True
    # Publish even a release that drops most of the previous one's articles (CREDENCE_ALLOW_SHRINK=1,
    # `make run ALLOW_SHRINK=1`, `python -m pipeline.cli build --allow-shrink`).
    allow_shrink: bool = False

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[CredenceSettings]:
        """For a run: refuse folders that cannot work, then hold the build lock until the run ends
        (a run that waits says so in its log). Sensors and schedules read the settings unlocked."""
        if context.run is None or not self.hold_build_lock:
            yield self
            return
        # A run may not read the raw folder (the download page alone): ingest reports a missing one.
        check_folders(self.raw_path, self.outputs_path, need_raw=False)
        say = context.log.info if context.log is not None else print
        with build_lock(self.outputs_path, self.raw_path, say=say):
            yield self

    @classmethod
    def from_env(cls) -> CredenceSettings:
        return cls(
            raw_dir=default_raw_dir(),
            outputs_dir=default_outputs_dir(),
            gold_file=default_gold_file(),
            allow_shrink=default_allow_shrink(),
        )

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir).resolve()

    @property
    def outputs_path(self) -> Path:
        return Path(self.outputs_dir).resolve()

    @property
    def work_path(self) -> Path:
        """Intermediate tables between assets (not published)."""
        return self.outputs_path / ".work"

    @property
    def cache_path(self) -> Path:
        """Incremental extraction cache (not published)."""
        return self.outputs_path / ".cache"


# Tables this process wrote or read, by path, with the file's identity when it was: the
# in-process executor runs every step of a build in one process, and `articles` alone (107 MB of
# text on the 33k corpus) is read by seven steps and checks. A changed file (another build wrote
# it) has another identity and is read again.
_RECENT: dict[Path, tuple[tuple[int, int, int], pl.DataFrame]] = {}
_RECENT_MAX = 24  # more than one build's tables; a long-lived process (tests) does not grow


def _remember(path: Path, identity: tuple[int, int, int], frame: pl.DataFrame) -> None:
    _RECENT.pop(path, None)
    _RECENT[path] = (identity, frame)
    while len(_RECENT) > _RECENT_MAX:
        _RECENT.pop(next(iter(_RECENT)))


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores polars DataFrames between assets as Parquet under <outputs>/.work/.

    Written because dagster-polars 0.27 fails on every load with polars 2.x; a temporary file plus
    rename keeps a killed run from leaving a torn table behind. Within one process a table that
    was just written or read is handed out again without reading the file (polars frames are
    immutable, so sharing one is safe).
    """

    settings: CredenceSettings

    def _path(self, context) -> Path:
        return self.settings.work_path / ("__".join(context.asset_key.path) + ".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private temporary name (pipeline.storage): two builds at once (a CLI build and a UI
        # run) never share it. Uncompressed: these are scratch tables on a local disk between
        # steps, and compressing `articles` (107 MB of text on the 33k corpus) took 0.5 s of every
        # build, 0.1 s without.
        write_parquet_atomic(obj, path, compression="uncompressed", statistics=False)
        _remember(path, _identity(path), obj)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        path = self._path(context.upstream_output)
        identity = _identity(path)
        recent = _RECENT.get(path)
        if recent is not None and recent[0] == identity:
            return recent[1]
        frame = pl.read_parquet(path)
        _remember(path, identity, frame)
        return frame
