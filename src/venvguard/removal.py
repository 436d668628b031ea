"""Removing an environment: set it aside in one atomic step, then delete it, never
following a link.

Every step works through descriptors: the target's parent directory is held open
(by the supervisor from before the run), the target is opened with O_NOFOLLOW and
inspected through that descriptor, renamed aside relative to the parent, checked
to be the very directory inspected, and its contents deleted through descriptors.
A symlink swapped in anywhere on the way is at most unlinked itself, never
followed. The rename makes the environment vanish at once, and its name says whose
it is, so a deletion cut short is found and finished later; the deletion itself runs
in a detached child, so the prompt comes back at once however large it is.
"""

import errno
import os
import stat

from venvguard.decision import ABSENT, DIR, FILE, INF, OTHER, SYMLINK, Disk

TRASH_PREFIX = ".venvguard-removing-"
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Moved(OSError):
    """What was renamed is not what was inspected: it was put back, and is kept."""


def trash_name(token: str, index: int) -> str:
    """The name target number `index` of run `token` is set aside under, beside the
    target (so the rename never crosses a file system)."""
    return f"{TRASH_PREFIX}{token}-{index}"


def hold_anchor(path: str) -> tuple[int, list]:
    """Open the nearest existing directory above `path` (its parent, unless the tool
    is to make that too): (descriptor, [its path, device, inode]). OSError."""
    directory = os.path.dirname(path)
    while True:
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            break
        except (FileNotFoundError, NotADirectoryError):
            if directory == "/":
                raise
            directory = os.path.dirname(directory)
    info = os.fstat(fd)
    return fd, [directory, info.st_dev, info.st_ino]


def open_anchor(anchor: list) -> int | None:
    """Open a recorded anchor again; None unless it is still the same directory."""
    try:
        fd = os.open(anchor[0], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if [info.st_dev, info.st_ino] != anchor[1:]:
        os.close(fd)
        return None
    return fd


def anchor_in_place(fd: int, anchor: list) -> bool:
    """Is the directory at the anchor's path still the one held? A directory renamed
    or swapped for a link to another one during the run is not; a link back to the
    very directory held is (everything goes through the held descriptor anyway)."""
    try:
        return os.path.samestat(os.stat(anchor[0]), os.fstat(fd))
    except OSError:
        return False


def open_parent(fd: int, anchor_path: str, path: str) -> int:
    """Open `path`'s parent from the held anchor, one name at a time and never
    through a link: a new descriptor. OSError (ELOOP, ENOTDIR, ...) otherwise."""
    rest = os.path.relpath(os.path.dirname(path), anchor_path)
    current = os.dup(fd)
    if rest == ".":
        return current
    for name in rest.split("/"):
        try:
            step = os.open(name, DIR_FLAGS, dir_fd=current)
        finally:
            os.close(current)
        current = step
    return current


def inspect(parent: int, name: str) -> tuple[Disk, int | None]:
    """What is at `name` in the held directory, and for a directory a descriptor on it
    (opened without following a link) that every later step goes through."""
    try:
        info = os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return Disk(ABSENT), None
    except OSError:
        return Disk(OTHER), None
    mine = info.st_uid == os.geteuid()
    if stat.S_ISLNK(info.st_mode):
        return Disk(SYMLINK, mine=mine), None
    if stat.S_ISREG(info.st_mode):
        return Disk(FILE, mine=mine, size=info.st_size), None
    if not stat.S_ISDIR(info.st_mode):
        return Disk(OTHER, mine=mine), None
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError:
        return Disk(OTHER, mine=mine), None  # swapped since, or unreadable: not ours
    try:
        if not os.path.samestat(os.fstat(fd), info):
            raise OSError(errno.ESTALE, "replaced while being looked at")
        names = frozenset(os.listdir(fd))
        pyvenv_cfg = "pyvenv.cfg" in names and _is_file(fd, "pyvenv.cfg")
        has_files = not pyvenv_cfg and _has_files(fd)
    except OSError:
        os.close(fd)
        return Disk(OTHER, mine=mine), None
    return Disk(DIR, names=names, pyvenv_cfg=pyvenv_cfg, has_files=has_files, mine=mine), fd


def _is_file(fd: int, name: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode)
    except OSError:
        return False


def _has_files(fd: int, depth: int = 0) -> bool:
    """A regular file anywhere below (only asked of an environment with no pyvenv.cfg,
    which is nearly empty); too deep to tell counts as yes."""
    if depth > 8:
        return True
    with os.scandir(fd) as entries:
        listed = [(e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
                  for e in entries]
    for name, is_dir, is_file in listed:
        if is_file:
            return True
        if is_dir:
            sub = os.open(name, DIR_FLAGS, dir_fd=fd)
            try:
                if _has_files(sub, depth + 1):
                    return True
            finally:
                os.close(sub)
    return False


def last_written(parent: int, name: str, fd: int | None) -> float:
    """When the target, an entry at its top, or its site-packages was last written:
    a whole environment re-made shows at its top, one somebody went on installing
    into in site-packages (a new package is a new entry there). Infinity when it
    cannot be told: then it is not provably the run's, either way."""
    try:
        newest = os.lstat(name, dir_fd=parent).st_mtime
        if fd is None:
            return newest
        for entry in os.listdir(fd):
            newest = max(newest, os.lstat(entry, dir_fd=fd).st_mtime)
        return max(newest, _site_packages_written(fd))
    except OSError:
        return INF


def _site_packages_written(fd: int) -> float:
    try:
        lib = os.open("lib", DIR_FLAGS, dir_fd=fd)
    except OSError:
        return -INF  # no lib/ (yet), or not a directory: nothing more to look at
    newest = -INF
    try:
        for version in os.listdir(lib):
            try:
                newest = max(newest, os.lstat(f"{version}/site-packages", dir_fd=lib).st_mtime)
            except (FileNotFoundError, NotADirectoryError):
                continue
    finally:
        os.close(lib)
    return newest


def set_aside(parent: int, name: str, trash: str, fd: int, still_ok=None) -> None:
    """Rename the inspected directory aside. If what got renamed is not the directory
    `fd` holds (swapped in between), or `still_ok(disk)` says what it now holds is no
    longer removable (something wrote into it in between), it is put back and Moved
    is raised. Once renamed, only what knows the new name can write into it."""
    os.rename(name, trash, src_dir_fd=parent, dst_dir_fd=parent)
    try:
        moved = os.lstat(trash, dir_fd=parent)
    except OSError:
        raise Moved(errno.ESTALE, "it changed while being removed") from None
    ok = os.path.samestat(moved, os.fstat(fd))
    if ok and still_ok is not None:
        disk, again = inspect(parent, trash)
        if again is not None:
            os.close(again)
        ok = still_ok(disk)
    if not ok:
        try:
            os.rename(trash, name, src_dir_fd=parent, dst_dir_fd=parent)
        except OSError:
            pass
        raise Moved(errno.ESTALE, "it changed while being removed")


def unlink_file(parent: int, name: str) -> None:
    """Remove a redirect file itself; refuses (OSError) unless it is still a file."""
    if not stat.S_ISREG(os.lstat(name, dir_fd=parent).st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is no longer a file")
    os.unlink(name, dir_fd=parent)


def delete_tree(parent: int, trash: str, fd: int) -> None:
    """Delete the set-aside directory `fd` holds, `pyvenv.cfg` last, so that a
    deletion cut short still looks like an environment to every tool; then its name,
    if that is still the same directory. What is already gone counts as deleted."""
    _empty(fd, last="pyvenv.cfg")
    try:
        now = os.lstat(trash, dir_fd=parent)
    except FileNotFoundError:
        return
    if os.path.samestat(now, os.fstat(fd)):
        os.rmdir(trash, dir_fd=parent)


def remove_entry(parent: int, name: str) -> None:
    """Remove one entry of the held directory `parent`, the whole tree if it is a
    directory, never following a link (verify.py's sweep)."""
    _unlink(parent, name)


def _empty(fd: int, last: str | None = None) -> None:
    with os.scandir(fd) as entries:
        listed = sorted((e.name == last, e.name, e.is_dir(follow_symlinks=False))
                         for e in entries)
    for _last, name, is_dir in listed:
        try:
            if is_dir:
                _remove_dir(fd, name)
            else:
                _unlink(fd, name)
        except FileNotFoundError:
            pass


def _remove_dir(parent: int, name: str) -> None:
    try:
        sub = os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):  # now a link or a file: only the name
            _unlink(parent, name)
            return
        if e.errno != errno.EACCES:
            raise
        # A directory without read permission (some wheels ship them): open it up.
        if not stat.S_ISDIR(os.lstat(name, dir_fd=parent).st_mode):
            raise
        os.chmod(name, stat.S_IRWXU, dir_fd=parent)
        sub = os.open(name, DIR_FLAGS, dir_fd=parent)
    try:
        _empty(sub)
    finally:
        os.close(sub)
    try:
        os.rmdir(name, dir_fd=parent)
    except PermissionError:  # a read-only parent: open it up, through its fd
        os.chmod(parent, stat.S_IRWXU)
        os.rmdir(name, dir_fd=parent)


def _unlink(parent: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=parent)
    except IsADirectoryError:
        _remove_dir(parent, name)
    except PermissionError:
        # A read-only directory stops unlink inside it: open it up, through its fd.
        os.chmod(parent, stat.S_IRWXU)
        os.unlink(name, dir_fd=parent)


def in_background(work, *, handover) -> None:
    """Run `work()` in a detached child and return once it has taken over.

    The child first calls `handover(its_pid)` (which renames the journal entry to
    its pid, so the prompt hook sees a live owner), then this process returns and
    the child works. The child is in its own session, with INT/HUP/TERM as this
    process has them (blocked during cleanup) and no terminal, so neither Ctrl-C
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

