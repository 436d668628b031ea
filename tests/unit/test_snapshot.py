"""snapshot.py: an exact copy of an environment beside it, and putting it back."""

import hashlib
import os
import stat

import pytest

from venvguard import snapshot
from venvguard.removal import DIR_FLAGS


def tree(root) -> dict[str, tuple]:
    """Everything that must come back: per path, its type, mode, size, content hash,
    link target, and (files and links) modification time."""
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            info = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path), info.st_mtime_ns)
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("file", stat.S_IMODE(info.st_mode), info.st_size, digest,
                            info.st_mtime_ns)
    return out


@pytest.fixture
def env(tmp_path):
    root = tmp_path / "p" / ".venv"
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "bin" / "python").write_text("#!/bin/sh\n")
    os.chmod(root / "bin" / "python", 0o755)
    os.symlink("python", root / "bin" / "python3")
    os.symlink("/nonexistent/elsewhere", root / "dangling")
    site = root / "lib" / "python3.11" / "site-packages"
    (site / "pkg" / "data").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("VALUE = 42\n")
    (site / "pkg" / "data" / "big.bin").write_bytes(os.urandom(1 << 20))
    os.chmod(site / "pkg" / "data", 0o555)  # some wheels ship read-only directories
    return root


@pytest.fixture
def parent(env):
    fd = os.open(env.parent, DIR_FLAGS)
    yield fd
    os.close(fd)


def test_a_snapshot_is_an_exact_copy_beside_the_environment(env, parent):
    snapshot.take(parent, ".venv", "snap")

    assert tree(env.parent / "snap") == tree(env)
    assert not (env.parent / "snap.partial").exists()


def test_restoring_puts_the_tree_back_exactly(env, parent):
    before = tree(env)
    snapshot.take(parent, ".venv", "snap")
    (env / "pyvenv.cfg").write_text("changed\n")
    (env / "lib" / "python3.11" / "site-packages" / "new.py").write_text("x")
    os.unlink(env / "bin" / "python3")

    assert snapshot.restore(parent, ".venv", "snap", "trash")

    assert tree(env) == before
    assert (env.parent / "trash" / "pyvenv.cfg").read_text() == "changed\n"
    assert not (env.parent / "snap").exists()


def test_restoring_where_the_run_removed_the_environment_puts_it_back(env, parent):
    before = tree(env)
    snapshot.take(parent, ".venv", "snap")
    os.rename(env, env.parent / "gone-elsewhere")

    assert snapshot.restore(parent, ".venv", "snap", "trash")
    assert tree(env) == before


def test_restoring_without_a_snapshot_touches_nothing(env, parent):
    before = tree(env)
    assert not snapshot.restore(parent, ".venv", "snap", "trash")
    assert tree(env) == before


def test_a_snapshot_replaced_by_a_file_is_not_restored(env, parent):
    (env.parent / "snap").write_text("not a directory")
    assert not snapshot.restore(parent, ".venv", "snap", "trash")
    assert (env / "pyvenv.cfg").exists()


def test_a_special_file_stops_the_snapshot_and_leaves_nothing_behind(env, parent):
    os.mkfifo(env / "pipe")

    with pytest.raises(OSError, match="special file"):
        snapshot.take(parent, ".venv", "snap")

    assert sorted(os.listdir(env.parent)) == [".venv"]


def test_a_linked_environment_is_not_copied(tmp_path):
    work = tmp_path / "w"
    (work / "real").mkdir(parents=True)
    os.symlink(work / "real", work / ".venv")
    fd = os.open(work, DIR_FLAGS)
    try:
        with pytest.raises(OSError):
            snapshot.take(fd, ".venv", "snap")
    finally:
        os.close(fd)
    assert sorted(os.listdir(work)) == [".venv", "real"]
