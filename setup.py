"""Build step only: the wheel carries include/ (SQL and config) as ``recon_operators/include``.

Metadata lives in pyproject.toml. include/ stays at the repository root, where Airflow's image and
the checkout read it; an installed package finds the copy through ``paths.include_dir()``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

INCLUDE = Path(__file__).resolve().parent / "include"


class BuildWithInclude(build_py):
    """build_py that also copies include/ into the built package (editable installs read the checkout)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "recon_operators" / "include"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(INCLUDE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithInclude})
