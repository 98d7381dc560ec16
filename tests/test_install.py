"""A plain (non-editable) install ships every package and the configs, and runs from another folder."""
import os
import subprocess
import sys
import sysconfig

import pytest

from tests.conftest import LEARNS, REPO


@pytest.mark.slow
def test_the_wheel_runs_where_the_checkout_cannot_be_seen(tmp_path):
    """Build the wheel, install it into a folder of its own and run it with ``python -S`` (no site
    directories, so no editable-install hook can reach the checkout), from another folder; the
    dependencies come from this interpreter's site-packages, placed after the installed wheel."""
    dist, target, work = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    wheel = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(dist), str(REPO)], capture_output=True, text=True, timeout=300)
    assert wheel.returncode == 0, wheel.stderr
    assert "warning" not in wheel.stderr.lower(), wheel.stderr  # setuptools has nothing to complain about
    [whl] = dist.glob("rnnbench-*.whl")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                          str(whl)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    assert (target / "rnnbench" / "conf" / "dataset" / "jsb.yaml").is_file()
    assert (target / "rnnbench" / "conf" / "task" / "word-lm.yaml").is_file()
    assert (target / "rnnbench" / "conf" / "hydra" / "launcher" / "slurm.yaml").is_file()
    assert (target / "rnnbench" / "data" / "SHA256SUMS").is_file()
    assert (target / "rnnbench" / "regularisers" / "sfc64.c").is_file()  # the native kernel's source (native.py)
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])}

    def run(*args):
        return subprocess.run([sys.executable, "-S", *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=300)

    where = run("-c", "import rnnbench, rnnbench.regularisers, rnnbench.tools.reproduce; print(rnnbench.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(target)), where.stdout  # the installed copy, not the checkout
    trained = run("-m", "rnnbench", "dataset=synthetic", "train=debug", *LEARNS, "regulariser=fd")
    assert trained.returncode == 0, trained.stderr
    assert len(list(work.glob("outputs/runs/*/*/results.json"))) == 1
    report = run("-m", "rnnbench.tools.report.cli")
    assert report.returncode == 0 and "srnn / fd" in report.stdout
    dry = run("-m", "rnnbench.tools.reproduce.cli", "zaremba-small", "--dry-run")
    assert dry.returncode == 0 and "experiment=zaremba-small" in dry.stdout

def test_every_subpackage_is_shipped():
    """pyproject's hand-written package list names every package under rnnbench/ (a missing one
    installs without error and fails at import: rnnbench.regularisers once did)."""
    import tomllib

    from setuptools import find_packages

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    groups = {"rnnbench.conf." + ".".join(d.relative_to(REPO / "conf").parts) for d in (REPO / "conf").rglob("*")
              if d.is_dir() and any(d.glob("*.yaml")) and "__pycache__" not in d.parts}
    found = set(find_packages(str(REPO), include=["rnnbench", "rnnbench.*"])) | {"rnnbench.conf"} | groups
    assert listed == found, f"missing: {sorted(found - listed)}, stale: {sorted(listed - found)}"
