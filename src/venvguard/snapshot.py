"""Exact rollback, opt-in (the snapshot setting, VENVGUARD_SNAPSHOT=1): before a guarded run on an
environment that exists, copy it beside itself; if the run does not finish, put
the copy back in its place, so that the tree (paths, sizes, contents, modes,
links, file times) is the one from before the run.

The copy shares blocks with the original where the file system can (a reflink:
btrfs, XFS, bcachefs), and is a real copy otherwise (ext4). Hard links are never
used: a tool that wrote into a file in place would change the snapshot too. It
sits beside the environment as `.venvguard-snapshot-<run>-<n>`, on the same file
system, so that putting it back is two renames; everything goes through
descriptors, without following a link. A run that finishes deletes it.
"""

import errno
import fcntl
import os
import stat

from venvguard.removal import DIR_FLAGS

PREFIX = ".venvguard-snapshot-"
FICLONE = 0x40049409  # ioctl: make the destination share the source's blocks
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def name(token: str, index: int) -> str:
    return f"{PREFIX}{token}-{index}"


def partial(snap: str) -> str:
    """Where a snapshot is made: it gets its name only once complete, so that one cut
    short is never taken for one to restore."""
    return snap + ".partial"


def take(parent: int, target: str, snap: str) -> None:
    """Copy `target` (a directory in the held directory `parent`) to `snap` beside
    it. OSError, with nothing left behind, when it cannot be copied exactly."""
    src = os.open(target, DIR_FLAGS, dir_fd=parent)
    making = partial(snap)
    try:
        os.mkdir(making, 0o700, dir_fd=parent)
        dst = os.open(making, DIR_FLAGS, dir_fd=parent)
        try:
            _copy_tree(src, dst)
            _copy_attributes(dst, os.fstat(src))
            os.rename(making, snap, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            discard(parent, making, dst)
            raise
        finally:
            os.close(dst)
    finally:
        os.close(src)


def discard(parent: int, snap: str, fd: int) -> None:
    """Delete a snapshot (or one cut short) held open on `fd`."""
    from venvguard.removal import delete_tree

    delete_tree(parent, snap, fd)


def restore(parent: int, target: str, snap: str, trash: str) -> bool:
    """Put the snapshot back at `target`, moving what is there now to `trash`
    (for the caller to delete). False, touching nothing, if the snapshot is not a
    directory of ours any more."""
    try:
        info = os.lstat(snap, dir_fd=parent)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        return False
    try:
        os.rename(target, trash, src_dir_fd=parent, dst_dir_fd=parent)
    except FileNotFoundError:
        pass  # the run removed it: the snapshot simply goes back
    os.rename(snap, target, src_dir_fd=parent, dst_dir_fd=parent)
    return True


def _copy_tree(src: int, dst: int) -> None:
    with os.scandir(src) as entries:
        listed = [(entry.name, entry.stat(follow_symlinks=False)) for entry in entries]
    for entry, info in listed:
        if stat.S_ISDIR(info.st_mode):
            os.mkdir(entry, 0o700, dir_fd=dst)
            sub_src = os.open(entry, DIR_FLAGS, dir_fd=src)
            sub_dst = os.open(entry, DIR_FLAGS, dir_fd=dst)
            try:
                _copy_tree(sub_src, sub_dst)
                _copy_attributes(sub_dst, info)
            finally:
                os.close(sub_src)
                os.close(sub_dst)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(src, dst, entry, info)
        elif stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(entry, dir_fd=src), entry, dir_fd=dst)
            os.utime(entry, ns=(info.st_atime_ns, info.st_mtime_ns), dir_fd=dst,
                     follow_symlinks=False)
        else:
            raise OSError(errno.EINVAL, f"{entry} is a special file, which is not copied")


def _copy_file(src_dir: int, dst_dir: int, entry: str, info: os.stat_result) -> None:
    src = os.open(entry, FILE_FLAGS, dir_fd=src_dir)
    try:
        dst = os.open(entry, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o600, dir_fd=dst_dir)
        try:
            if not _clone(src, dst):
                _copy_bytes(src, dst, info.st_size)
            _copy_attributes(dst, info)
        finally:
            os.close(dst)
    finally:
        os.close(src)


_NO_REFLINKS = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS}
_reflinks = [True]  # until the file system says it has none: then not asked again


def _clone(src: int, dst: int) -> bool:
    if not _reflinks[0]:
        return False
    try:
        fcntl.ioctl(dst, FICLONE, src)
        return True
    except OSError as e:
        if e.errno in _NO_REFLINKS:
            _reflinks[0] = False
        return False


def _copy_bytes(src: int, dst: int, size: int) -> None:
    copied = 0
    while copied < size:
        done = os.copy_file_range(src, dst, size - copied)
        if done == 0:
            break  # it shrank meanwhile: what is there is what is copied
        copied += done


def _copy_attributes(fd: int, info: os.stat_result) -> None:
    os.chmod(fd, stat.S_IMODE(info.st_mode))
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))
