from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "raw"


@pytest.fixture
def seed_raw(tmp_path: Path) -> Path:
    """A private copy of the seed articles (tests must never write into the project's raw/)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in sorted(SEEDS.glob("*.txt")):
        shutil.copy2(p, raw / p.name)
    return raw
