"""Removing an environment: set it aside in one atomic step, then delete it.

The rename makes the environment vanish at once (no tool or IDE sees half of
it) and gives the remains a name that says whose they are, so a deletion cut
short is found and finished later. The deletion itself runs in a detached
child, so the prompt comes back at once however large the environment is.
"""

import os
import stat

TRASH_PREFIX = ".venvguard-removing-"


def trash_path(path: str, token: str, index: int) -> str:
    """Where target number `index` of run `token` is set aside: beside it, so the
    rename never crosses a file system."""
    return os.path.join(os.path.dirname(path), f"{TRASH_PREFIX}{token}-{index}")


def is_trash(path: str) -> bool:
    """A directory we set aside ourselves: our name, and a real directory."""
    if not os.path.basename(path).startswith(TRASH_PREFIX):
        return False
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def set_aside(path: str, trash: str) -> None:
    """Rename a directory aside; refuses (OSError) unless it is still a real directory."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise NotADirectoryError(f"{path} is no longer a directory")
    os.rename(path, trash)


def unlink_link(path: str) -> None:
    """Remove a symlink or redirect file itself, never what it points to."""
    if stat.S_ISDIR(os.lstat(path).st_mode):
        raise IsADirectoryError(f"{path} is now a directory")
    os.unlink(path)


def delete_tree(trash: str) -> None:
    """Delete a set-aside environment, `pyvenv.cfg` last, so that a deletion cut
    short still looks like an environment to every tool. What is already gone (a
    concurrent `rm -rf`) counts as deleted. Raises OSError."""
    try:
        with os.scandir(trash) as entries:
            names = [e.name for e in entries if e.name != "pyvenv.cfg"]
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(trash, name)
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                _rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
    try:
        os.unlink(os.path.join(trash, "pyvenv.cfg"))
    except FileNotFoundError:
        pass
    try:
        os.rmdir(trash)
    except FileNotFoundError:
        pass


def _rmtree(path: str) -> None:
    import shutil
    import sys

    def retry(func, failed, exc):
        if isinstance(exc, FileNotFoundError):
            return
        # A read-only directory (some wheels ship them) stops rmtree: open it up once.
        parent = os.path.dirname(failed)
        os.chmod(parent, os.lstat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        func(failed)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=lambda func, failed, info: retry(func, failed, info[1]))


def in_background(work, *, handover) -> None:
    """Run `work()` in a detached child and return once it has taken over.

    The child first calls `handover(its_pid)` (which renames the journal entry to
    its pid, so the prompt hook sees a live owner), then this process returns and
    the child works. The child is in its own session, with INT/HUP/TERM as this
    process has them (ignored during cleanup) and no terminal, so neither Ctrl-C
    nor a closed terminal stops it. Falls back to working inline.
    """
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        work()
        return
    if pid == 0:
        os.close(read_end)
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            handover(os.getpid())
            os.close(write_end)
            work()
        finally:
            os._exit(0)
    os.close(write_end)
    os.read(read_end, 1)  # EOF once the child has taken over (or died)
    os.close(read_end)
