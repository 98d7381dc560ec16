"""A plain (non-editable) install ships the configs: both entry points work from another folder."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_plain_install_runs_from_another_directory(tmp_path):
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
                          "--target", str(target), str(REPO)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    assert (target / "rnnbench" / "conf" / "dataset" / "jsb.yaml").is_file()
    assert (target / "rnnbench" / "data" / "SHA256SUMS").is_file()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import rnnbench; print(rnnbench.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(target)), where.stdout  # the installed copy, not the checkout
    run = subprocess.run([sys.executable, "-m", "rnnbench", "dataset=synthetic", "train=debug", "model.hidden=8"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert len(list(work.glob("outputs/runs/*/*/results.json"))) == 1
    report = subprocess.run([sys.executable, "-m", "rnnbench.report.cli"], cwd=work, env=env, capture_output=True, text=True)
    assert report.returncode == 0 and "srnn / none" in report.stdout


def test_every_subpackage_is_shipped():
    """pyproject's hand-written package list names every package under rnnbench/ (a missing one
    installs without error and fails at import: rnnbench.regularisers once did)."""
    import tomllib

    from setuptools import find_packages

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(REPO), include=["rnnbench", "rnnbench.*"])) | {"rnnbench.conf"}
    assert listed == found, f"missing: {sorted(found - listed)}, stale: {sorted(listed - found)}"
