"""`venvguard scan [DIR]`: every environment below a directory, judged whole,
half-made or broken, including ones left before venvguard was installed.

An environment is a directory with a `pyvenv.cfg`, or one shaped as uv leaves it
cut short before its `pyvenv.cfg` (uv's `CACHEDIR.TAG` and nothing a tool does
not write there). The walk never follows a link and does not look inside an
environment for more.

- half-made: no `pyvenv.cfg` yet (uv cut short); no interpreter in `bin/`; no
  site-packages; or, from `python -m venv` (no `uv`/`virtualenv` key in its
  `pyvenv.cfg`), no `bin/activate`, which it writes after the interpreter (one
  that merely has no pip, like uv's, is not half-made).
- broken: a distribution whose files are not all there at RECORD's sizes, pip's
  `~` stash directories, uv's `.tmpXXXXXX` temp files, or a package directory at
  the top of site-packages that no distribution claims.
- whole: none of these.
"""

import os

from venvguard import decision, verify
from venvguard.removal import DIR_FLAGS

WHOLE, HALF_MADE, BROKEN = "whole", "half-made", "broken"
SKIP = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__"})
UV_TAG = "Signature: 8a477f597d28d172789f06886806bc55"  # CACHEDIR.TAG's first line


class Found:
    """One environment and what scan makes of it."""

    __slots__ = ("dists", "leftovers", "path", "problems", "shape", "stashes", "sweepable",
                 "unclaimed", "verdict")

    def __init__(self, path: str, shape: str) -> None:
        self.path = path
        self.shape = shape  # "uv", "venv" or "virtualenv": who made it
        self.verdict = WHOLE
        self.problems: list[str] = []
        self.dists: list[verify.Dist] = []  # the broken ones
        self.stashes: list[str] = []  # pip's, relative to the environment
        self.leftovers: list[str] = []  # temp files
        self.unclaimed: list[str] = []  # package directories no distribution claims
        self.sweepable = 0  # how many of these --fix would remove


def environments(root: str):
    """Yield (path, has pyvenv.cfg) for every environment below root, walking
    without following links."""
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as entries:
                listed = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in entries)
        except OSError:
            continue
        names = {name for name, _is_dir in listed}
        if "pyvenv.cfg" in names:
            yield top, True
            continue
        if top != root and "CACHEDIR.TAG" in names and _uv_early(top, names):
            yield top, False
            continue
        stack.extend(os.path.join(top, name) for name, is_dir in reversed(listed)
                     if is_dir and name not in SKIP)


def _uv_early(path: str, names: set[str]) -> bool:
    """uv's environment cut short before pyvenv.cfg: its cache tag, and only what uv
    writes there first."""
    if not names <= decision.EARLY_ENTRIES["uv"]:
        return False
    try:
        with open(os.path.join(path, "CACHEDIR.TAG"), errors="replace") as f:
            return f.readline().strip() == UV_TAG
    except OSError:
        return False


def judge(path: str, has_cfg: bool) -> Found:
    """Whole, half-made or broken, and why (the module's docstring has the rules)."""
    cfg = _read_cfg(path) if has_cfg else {}
    shape = "uv" if "uv" in cfg or not has_cfg else (
        "virtualenv" if "virtualenv" in cfg else "venv")
    found = Found(path, shape)
    if not has_cfg:
        found.problems.append("no pyvenv.cfg: uv was cut short making it")
    elif not any(os.path.lexists(os.path.join(path, "bin", n)) for n in ("python", "python3")):
        found.problems.append("no interpreter in bin/")
    elif shape == "venv" and not os.path.lexists(os.path.join(path, "bin", "activate")):
        found.problems.append("no bin/activate: python -m venv was cut short")
    if not has_cfg or found.problems:
        found.verdict = HALF_MADE
        return found
    if not verify.note(path):
        found.problems.append("no site-packages")
        found.verdict = HALF_MADE
        return found
    try:
        fd = os.open(path, DIR_FLAGS)
    except OSError as e:
        found.problems.append(f"cannot be read ({e.strerror})")
        found.verdict = BROKEN
        return found
    try:
        # Everything counts as the run's here: every distribution is checked, every
        # stash and temp file is a leftover, a package no distribution claims too.
        report = verify.check(fd, since=0.0, before={})
        found.dists = report.broken
        found.stashes = [shown for _fd, _name, shown in report.stashes]
        found.leftovers = [shown for _fd, _name, shown in report.leftovers]
        found.unclaimed = [shown for _fd, _name, shown in report.unclaimed]
        found.sweepable = len(verify.doomed(report, unclaimed=False))
        verify.close(report)
    finally:
        os.close(fd)
    if found.dists or found.stashes or found.leftovers or found.unclaimed:
        found.verdict = BROKEN
    return found


def _read_cfg(path: str) -> dict[str, str]:
    out = {}
    try:
        with open(os.path.join(path, "pyvenv.cfg"), errors="replace") as f:
            for line in f.read(64 * 1024).splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    out[key.strip()] = value.strip()
    except OSError:
        pass
    return out


def repair_command(found: Found, shown: str) -> str | None:
    """The command that reinstalls the broken distributions, in the way of the tool
    that made the environment (a uv project's sync where it is one)."""
    if not found.dists:
        return None
    from venvguard import tools

    project = os.path.dirname(found.path)
    is_project = all(os.path.isfile(os.path.join(project, n)) for n in ("pyproject.toml",
                                                                          "uv.lock"))
    argv = ["uv", "sync"] if found.shape == "uv" and is_project else ["scan"]
    return tools.reinstall(argv, found.shape, shown, [(d.name, d.version) for d in found.dists])


def describe(found: Found, shown: str) -> str:
    """One line: the verdict, the path, what is wrong and the command that fixes it."""
    line = f"{found.verdict:<10} {shown}"
    if found.verdict == HALF_MADE:
        return f"{line}: {'; '.join(found.problems)}; fix: `venvguard scan --fix` removes it"
    if found.verdict == WHOLE:
        return line
    wrong = [f"{d.name} {d.version} ({d.damage()})" for d in found.dists]
    if found.stashes:
        wrong.append(f"pip's stash {', '.join(found.stashes)}")
        if not found.sweepable:
            wrong[-1] += (" (it may hold the only whole copy of a package: move it back, "
                          "or reinstall the package)")
    if found.leftovers:
        wrong.append(f"temp files {', '.join(found.leftovers)}")
    if found.unclaimed:
        wrong.append(f"{', '.join(found.unclaimed)} claimed by no installed distribution")
    repair = repair_command(found, shown)
    fix = f"; repair: `{repair}`" if repair else ""
    if found.sweepable:
        fix += "; `venvguard scan --fix` sweeps the leftovers"
    return f"{line}: {'; '.join(wrong)}{fix}"


def as_dict(found: Found) -> dict:
    """What `scan --json` says of one environment."""
    return {
        "path": found.path, "verdict": found.verdict, "shape": found.shape,
        "problems": found.problems,
        "broken": [{"name": d.name, "version": d.version, "damage": d.damage()}
                   for d in found.dists],
        "stashes": found.stashes, "leftovers": found.leftovers, "unclaimed": found.unclaimed,
        "repair": repair_command(found, found.path),
    }


def sweep(found: Found) -> list[str]:
    """Remove the temp files and the pip stashes a whole distribution replaced (never
    a package directory no distribution claims: it may have been put there by hand)."""
    try:
        fd = os.open(found.path, DIR_FLAGS)
    except OSError:
        return []
    try:
        report = verify.check(fd, since=0.0, before={})
        try:
            return verify.sweep(report, unclaimed=False)
        finally:
            verify.close(report)
    finally:
        os.close(fd)


def remove_half_made(found: Found) -> str | None:
    """Remove a half-made environment if it is still shaped like one (the allowlist
    of its tool) and ours, never through a link; None, or why it was kept."""
    from venvguard import removal

    parent_path, name = os.path.split(found.path)
    try:
        parent = os.open(parent_path or ".", DIR_FLAGS)
    except OSError as e:
        return f"its directory cannot be opened ({e.strerror})"
    try:
        disk, fd = removal.inspect(parent, name)
        if fd is None:
            return "it is not a directory any more"
        try:
            problem = decision.shape_problem(found.shape, disk)
            if problem is not None:
                return f"it is not shaped like an environment ({problem.reason})"
            if not disk.mine:
                return "it belongs to another user"
            aside = removal.trash_name(os.urandom(6).hex(), 0)

            def still_ok(now):
                return now.mine and decision.shape_problem(found.shape, now) is None

            try:
                removal.set_aside(parent, name, aside, fd, still_ok=still_ok)
            except removal.Moved:
                return "it changed while being removed"
            removal.delete_tree(parent, aside, fd)
        finally:
            os.close(fd)
    except OSError as e:
        return f"it could not be removed ({e.strerror})"
    finally:
        os.close(parent)
    return None
