"""The code location loads the way the UI and `dg` load it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_dg_check_defs_passes():
    bindir = Path(sys.executable).parent
    env = {**os.environ, "VIRTUAL_ENV": str(bindir.parent), "PATH": f"{bindir}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(bindir / "dg"), "check", "defs"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_every_stage_is_a_group_and_every_asset_is_described():
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"ingest", "extract", "validate", "dedup", "release"} <= groups
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, key
