"""A wheel built from the repository carries include/ and runs ``recon check`` from any folder.

Why: paths.py once resolved include/ beside plugins/ only, so an installed wheel had no SQL or
config. The wheel is installed without dependencies into a fresh venv that borrows this venv's
site-packages (appended after its own), so the recon_operators it imports is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding only the wheel (its dependencies come from this venv)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy, so the build leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in"):
        shutil.copy2(REPO / name, source / name)
    for folder in ("plugins", "include"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root / "dist"),
        ],
        cwd=source,
        env=_clean_env(),
    )
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("recon_operators-*.whl"))

    target = root / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    Path(site.stdout.strip(), "project_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        cwd=root,
        env=_clean_env(),  # a checkout on PYTHONPATH holds recon_operators.egg-info: pip would call it installed
    )
    assert done.returncode == 0, done.stderr
    return target / "bin"


def _clean_env() -> dict[str, str]:
    """No checkout on the path and no overrides pointing back at it."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "RECON_PROJECT_ROOT", "RECON_SQL_DIR", "RECON_CONFIG_DIR")
    }


def test_wheel_runs_the_bundled_example_suite_from_another_folder(installed, tmp_path):
    where = _run(
        [str(installed / "python"), "-c", "import recon_operators.paths as p; print(p.__file__); print(p.sql_dir())"],
        cwd=tmp_path,
        env=_clean_env(),
    )
    module, sql = where.stdout.split()
    assert str(installed.parent) in module and str(REPO) not in module
    assert (Path(sql) / "store" / "open_run.sql").is_file(), sql

    result = _run(
        [str(installed / "recon"), "check", "example_files.yaml", "--scope", "cohort_id=C1"],
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "suite example_subscribers" in result.stdout
    assert "subscriber_count" in result.stdout
