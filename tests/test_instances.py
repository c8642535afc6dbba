"""One Dagster instance per outputs folder (issue 17): building another corpus never writes runs into
the instance the UI shows for the default one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pipeline.instance_home import OUTPUTS_MARK, InstanceOutputsMismatch, claim_outputs
from pipeline.settings import PROJECT_ROOT, dagster_home_for, default_dagster_home


def test_default_outputs_use_the_project_instance_and_others_their_own(tmp_path: Path):
    assert dagster_home_for(PROJECT_ROOT / "outputs") == PROJECT_ROOT / ".dagster"
    assert dagster_home_for(tmp_path / "tt") == (tmp_path / "tt").resolve() / ".dagster"


def test_dagster_home_env_wins_else_follows_the_outputs_folder(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CREDENCE_OUTPUTS_DIR", str(tmp_path / "other"))
    assert default_dagster_home() == str((tmp_path / "other").resolve() / ".dagster")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert default_dagster_home() == str(tmp_path / "home")


@pytest.mark.parametrize("out", ["outputs", "/tmp/credence-elsewhere"])
def test_makefile_picks_the_same_instance_as_python(out: str):
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "MAKEFLAGS", "MAKELEVEL")}
    shown = subprocess.run(
        ["make", "--no-print-directory", "-s", "--eval=show-home: ; @echo $(DAGSTER_HOME)", "show-home", f"OUT={out}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(shown) == dagster_home_for(PROJECT_ROOT / out)


def test_an_instance_refuses_a_build_into_another_outputs_folder(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    claim_outputs(home, tmp_path / "outputs")
    claim_outputs(home, tmp_path / "outputs")  # the same folder again: fine
    assert (home / OUTPUTS_MARK).read_text(encoding="utf-8").strip() == str((tmp_path / "outputs").resolve())
    with pytest.raises(InstanceOutputsMismatch, match=r"belongs to the outputs folder .*outputs, not .*tehran"):
        claim_outputs(home, tmp_path / "tehran")


def test_cli_build_refuses_a_foreign_instance_with_a_clear_message(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    claim_outputs(home, tmp_path / "outputs")
    env = {**os.environ, "DAGSTER_HOME": str(home), "CREDENCE_OUTPUTS_DIR": str(tmp_path / "other")}
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "pipeline.cli", "build"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "build refused" in done.stderr and "belongs to the outputs folder" in done.stderr
    assert not (tmp_path / "other").exists()  # nothing was built
