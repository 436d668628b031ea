"""Helpers shared by the unit tests (plain functions; fixtures live in conftest.py)."""

import os


def make_env(path, *, packages=("pip",)):
    """A small directory that looks like a virtual environment."""
    path.mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    (path / "bin").mkdir()
    (path / "bin" / "python").write_text("")
    site = path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name in packages:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text("")
    return path


def fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
