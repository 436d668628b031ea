"""An environment that existed before a run that did not finish: is what the run
touched whole, and what did it leave behind that no tool will clean up?

Touched means changed during the run: a `*.dist-info` directory whose status
change time (ctime: set by every write, rename or new entry inside, and never set
back by `touch`) is at or after the run's start. Each one is checked against its
RECORD: every file there, with the size RECORD gives. uv links a package's
`.dist-info` before its files, so an interrupt can leave half a package that its
metadata calls installed; only such a check finds it. Hashes are not compared:
an interrupted install leaves files missing or short, not rewritten at the same
size. Measured for numpy's 1 042 files (30 MB): sizes 1.6 ms, sha256 32 ms with
every file in the page cache, and many times that read from disk.

Leftovers are what the run made that no tool removes: pip's `~`-prefixed stash
directories at the top of site-packages, and the temporary files uv (`.tmpXXXXXX`)
and pip (`*.tmp`) write beside a file they replace, in `bin/`, at the top of
site-packages, in the touched `.dist-info` and in the directories of the touched
packages. Only entries changed during the run are leftovers: nothing that was
there before is touched. Everything is reached through descriptors without
following a link.
"""

import os
import posixpath
import stat

from venvguard.removal import DIR_FLAGS, remove_entry

TMP_LEN = len(".tmpXXXXXX")  # uv's temp files: the tempfile crate's default name
SITE_DEPTH = 3  # lib/pythonX.Y/site-packages below the environment's root
MAX_RECORD = 16 << 20  # bytes of a RECORD read; numpy's is 100 KiB
# Seconds before the run's start that still count as during it: Linux stamps ctime
# from a clock that lags by at most a scheduler tick. (A file server with another
# clock may stamp it further off; then less, or more, is taken for touched.)
SLACK = 0.05


class Dist:
    """One touched distribution, as its RECORD and the disk say."""

    __slots__ = ("missing", "name", "short", "tops", "total", "version")

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        self.tops: set[str] = set()  # its entries at the top of site-packages
        self.total = 0  # files RECORD lists inside the environment
        self.missing = 0
        self.short = 0  # present with another size than RECORD's

    @property
    def whole(self) -> bool:
        return not self.missing and not self.short

    def damage(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"{self.missing} of {self.total} files missing")
        if self.short:
            parts.append(f"{self.short} of {self.total} files of the wrong size")
        return ", ".join(parts)


class Report:
    """What `check` found: the touched distributions and the leftovers (each as the
    descriptor of its directory, its name, and its path for messages)."""

    __slots__ = ("dists", "leftovers", "stashes", "unclaimed", "unswept")

    def __init__(self) -> None:
        self.dists: list[Dist] = []
        self.leftovers: list[tuple[int, str, str]] = []  # temp files: always swept
        self.unclaimed: list[tuple[int, str, str]] = []  # package dirs without a dist
        self.stashes: list[tuple[int, str, str]] = []  # pip's ~ dirs: swept if replaced
        self.unswept: list[str] = []  # the stashes sweep left (maybe the only copy)

    @property
    def broken(self) -> list[Dist]:
        return [d for d in self.dists if not d.whole]


def damage(broken: list[Dist]) -> str:
    """What is broken, for a message and a kept record: `numpy 2.4.6 is broken (551 of
    1042 files missing); ...`."""
    return "; ".join(f"{d.name} {d.version} is broken ({d.damage()})" for d in broken)


def parse_record(text: str) -> list[tuple[str, int | None]]:
    """(path, size) for each row of a RECORD (CSV: path, hash, size); size None where
    RECORD gives none (RECORD itself, .pyc files)."""
    import csv

    rows = []
    for row in csv.reader(text.splitlines()):
        if not row or not row[0]:
            continue
        size = row[2] if len(row) > 2 else ""
        rows.append((row[0], int(size) if size.isascii() and size.isdigit() else None))
    return rows


def inside(path: str) -> str | None:
    """A RECORD path (relative to site-packages, which is lib/pythonX.Y/site-packages
    in the environment) in its normal form, None if it leaves the environment: an
    absolute path, or `..` past its root (a RECORD that lies)."""
    if not path or path.startswith("/") or "\0" in path:
        return None
    normal = posixpath.normpath(path)
    if normal == "." or normal.split("/")[:SITE_DEPTH + 1] == [".."] * (SITE_DEPTH + 1):
        return None
    return normal


def note(path: str) -> dict[str, frozenset[str]] | None:
    """Before a run: the names at the top of each site-packages of the environment at
    `path` (a listing, no tree walk), so that what appears during the run is known."""
    try:
        env = os.open(path, DIR_FLAGS)
    except OSError:
        return None
    try:
        listing = {}
        for site, shown in _site_packages(env):
            try:
                listing[shown] = frozenset(os.listdir(site))
            finally:
                os.close(site)
        return listing
    finally:
        os.close(env)


def check(env: int, since: float, before: dict[str, frozenset[str]] | None = None) -> Report:
    """Check the environment held open on `env` for what changed since `since`;
    `before`, the note taken before the run, if any."""
    report = Report()
    for site, shown in _site_packages(env):
        try:
            _check_site(site, shown, since, report,
                        None if before is None else before.get(shown, frozenset()))
        finally:
            os.close(site)
    bin_dir = _open_dir(env, "bin")
    if bin_dir is not None:
        _temps(bin_dir, "bin", since, report, pip_too=False)
    return report


def doomed(report: Report, *, unclaimed: bool = True) -> list[tuple[int, str, str]]:
    """What `sweep` removes: the leftovers, the stashes whose package the run
    installed whole again (any other stash may hold the only whole copy of a
    package: pip cut short between moving the old version aside and writing the new
    one, or uninstalling it), and with `unclaimed` the package directories no
    distribution claims. Sets report.unswept to the stashes it leaves."""
    whole = [d for d in report.dists if d.whole]
    replaced = [s for s in report.stashes if _replaced(s[1], whole)]
    report.unswept = [s[1] for s in report.stashes if s not in replaced]
    return report.leftovers + replaced + (report.unclaimed if unclaimed else [])


def sweep(report: Report, *, unclaimed: bool = True) -> list[str]:
    """Remove what `doomed` names; the paths removed (relative to the environment)."""
    swept = []
    for parent, name, shown in doomed(report, unclaimed=unclaimed):
        try:
            remove_entry(parent, name)
            swept.append(shown)
        except OSError:
            pass
    return swept


def _replaced(stash: str, whole: list[Dist]) -> bool:
    """Is pip's stash `~xyz` (its first letter replaced by `~`) of a package that a
    whole touched distribution now provides: the package directory `?xyz`, or the
    `.dist-info` of a project `?xyz` in another version?"""
    tail = stash[1:]
    if tail.endswith(".dist-info"):
        project = _normal(tail.partition("-")[0])
        return any(_normal(d.name)[1:] == project for d in whole)
    return any(top != stash and top[1:] == tail for d in whole for top in d.tops)


def _normal(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def close(report: Report) -> None:
    for fd in {parent for parent, _name, _shown in
               report.leftovers + report.stashes + report.unclaimed}:
        os.close(fd)


def _site_packages(env: int) -> list[tuple[int, str]]:
    found = []
    lib = _open_dir(env, "lib")
    if lib is None:
        return found
    try:
        for version in sorted(os.listdir(lib)):
            if version.startswith("python"):
                site = _open_dir(lib, f"{version}/site-packages")
                if site is not None:
                    found.append((site, f"lib/{version}/site-packages"))
    finally:
        os.close(lib)
    return found


def _open_dir(parent: int, path: str) -> int | None:
    fd = parent
    try:
        for part in path.split("/"):
            new = os.open(part, DIR_FLAGS, dir_fd=fd)
            if fd != parent:
                os.close(fd)
            fd = new
    except OSError:
        if fd != parent:
            os.close(fd)
        return None
    return fd


def _changed(parent: int, name: str, since: float) -> bool:
    try:
        return os.lstat(name, dir_fd=parent).st_ctime >= since
    except OSError:
        return False


def _check_site(site: int, shown: str, since: float, report: Report,
                before: frozenset[str] | None) -> None:
    names = os.listdir(site)
    dirs_of_touched: set[str] = set()
    first = len(report.dists)
    for name in sorted(names):
        if not _changed(site, name, since):
            continue
        if name.startswith("~"):
            report.stashes.append((os.dup(site), name, f"{shown}/{name}"))
        elif name.endswith(".dist-info"):
            dist = _check_dist(site, name, dirs_of_touched)
            if dist is not None:
                report.dists.append(dist)
            info = _open_dir(site, name)
            if info is not None:
                _temps(info, f"{shown}/{name}", since, report, pip_too=True)
    if before is not None:
        _unclaimed(site, shown, since, report, names, before, report.dists[first:])
    dirs_of_touched.discard(".")
    _temps(os.dup(site), shown, since, report, pip_too=False)
    for directory in sorted(dirs_of_touched):
        if directory.startswith(".."):
            continue  # bin/ and the like: looked at once, by check
        fd = _open_dir(site, directory)
        if fd is not None:
            _temps(fd, f"{shown}/{directory}", since, report, pip_too=False)


def _unclaimed(site: int, shown: str, since: float, report: Report, names: list[str],
               before: frozenset[str], touched: list[Dist]) -> None:
    """A package directory that appeared during the run and that no distribution
    claims: pip cut short while writing a new package, before its .dist-info.
    It shadows imports of anything else by its name; nothing of it was there before."""
    claimed = {top for dist in touched for top in dist.tops}
    projects = {_normal(n.partition("-")[0]) for n in names
                if n.endswith((".dist-info", ".egg-info", ".egg-link"))}
    for name in sorted(set(names) - before):
        if (name.isidentifier() and name != "__pycache__" and name not in claimed
                and _normal(name) not in projects and _changed(site, name, since)):
            try:
                is_dir = stat.S_ISDIR(os.lstat(name, dir_fd=site).st_mode)
            except OSError:
                continue
            if is_dir:
                report.unclaimed.append((os.dup(site), name, f"{shown}/{name}"))


def _check_dist(site: int, name: str, dirs: set[str]) -> Dist | None:
    """Check one .dist-info against its RECORD, adding the directories its files are
    in to `dirs`; None if it has no readable RECORD."""
    project, _, version = name[: -len(".dist-info")].partition("-")
    try:
        fd = os.open(f"{name}/RECORD", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=site)
    except OSError:
        return None
    try:
        with os.fdopen(fd, encoding="utf-8", errors="replace") as f:
            rows = parse_record(f.read(MAX_RECORD))
    except (OSError, ValueError):
        return None
    dist = Dist(project, version)
    for path, size in rows:
        relative = inside(path)
        if relative is None:
            continue
        dist.total += 1
        dist.tops.add(relative.split("/", 1)[0])
        dirs.add(posixpath.dirname(relative) or ".")  # where a temp of it may be, even if
        try:  # the file itself is not there yet
            info = os.lstat(relative, dir_fd=site)
        except OSError:
            dist.missing += 1
            continue
        if size is not None and stat.S_ISREG(info.st_mode) and info.st_size != size:
            dist.short += 1
    return dist


def _temps(fd: int, shown: str, since: float, report: Report, *, pip_too: bool) -> None:
    """Note the temp files in the directory `fd` (which the report then owns)."""
    kept_fd = False
    try:
        names = os.listdir(fd)
    except OSError:
        names = []
    for name in sorted(names):
        uv_temp = name.startswith(".tmp") and len(name) == TMP_LEN and name[4:].isalnum()
        pip_temp = pip_too and name.endswith(".tmp") and name != ".tmp"
        if (uv_temp or pip_temp) and _changed(fd, name, since):
            report.leftovers.append((fd, name, f"{shown}/{name}"))
            kept_fd = True
    if not kept_fd:
        os.close(fd)
