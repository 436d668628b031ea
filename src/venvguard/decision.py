"""What to do with one environment path once a guarded run has ended.

A pure function of the journal entry, how the run ended and what is on disk now,
so that every rule can be tested without a disk. Removal is an allowlist: only a
directory shaped like the environment its tool writes is removed, and anything
else is kept with the reason said. When unsure, keep (docs/policy.md).
"""

# How a run ended, from the environment's point of view.
FINISHED = "finished"  # exit 0, or (uv run) the tool handed over to the user's program
FAILED = "failed"  # non-zero exit, no signal seen
INTERRUPTED = "interrupted"  # Ctrl-C, hang-up or termination
CUT_SHORT = "cut-short"  # the supervisor itself is gone (kill -9, crash, reboot)
UNKNOWN = "unknown"  # the supervisor is gone and the run may have finished (uv run)

# What marks a run as not finished, as far as its environments go (a Plan's policy).
ANY_FAILURE = "exit"  # any non-zero exit or signal: uv sync, python -m venv, ...
SIGNAL_DEATH = "signal"  # only the tool dying of a signal: uv run, which hands over to
#                          the user's program once the environment is complete
INTERRUPT_ONLY = "interrupt"  # only a signal, seen or died of: tox and nox, whose exit
#                               status is that of the user's tests
POLICIES = frozenset({ANY_FAILURE, SIGNAL_DEATH, INTERRUPT_ONLY})

# What to do.
NOTHING = "nothing"  # leave it and say nothing
KEEP = "keep"  # leave it and tell the user why
REMOVE = "remove"  # set the directory aside and delete it
UNLINK = "unlink"  # remove the redirect file

# What is at a path (os.lstat, never following a link).
ABSENT, DIR, SYMLINK, FILE, OTHER = "absent", "dir", "symlink", "file", "other"

# The top-level entries an environment tool writes into an environment (venv,
# virtualenv and uv write the first ones; installers add scripts to bin/, data
# files to share/, etc/ and man/, pip's editable VCS checkouts to src/; pipenv writes
# `.project`, the project's directory, as soon as it has made the environment).
ENV_ENTRIES = frozenset(
    {
        "pyvenv.cfg", "bin", "lib", "lib64", "include", "share", "etc", "man", "src",
        ".gitignore", "CACHEDIR.TAG", ".lock", ".project",
    }
)
# tox's own entries in each environment it makes, `log/` and `tmp/` before the
# virtualenv itself (tox_env/api.py _setup_env, tox_env/info.py).
TOX_ENTRIES = frozenset({"log", "tmp", ".tox-info.json", "file.lock"})
# What each tool has written before pyvenv.cfg, so may leave when cut that early.
# `python -m venv` writes only directories before it, so its early shape holds no file.
EARLY_ENTRIES = {
    "uv": frozenset({"CACHEDIR.TAG", ".gitignore", "bin", "lib", "lib64", "include"}),
    "venv": frozenset({"bin", "include", "lib", "lib64"}),
    "virtualenv": frozenset({"bin", "include", "lib", "lib64", "CACHEDIR.TAG", ".gitignore"}),
}
EARLY_ENTRIES["tox"] = EARLY_ENTRIES["virtualenv"] | TOX_ENTRIES
# A conda prefix (conda, mamba, micromamba, pixi): `conda-meta/` stands for pyvenv.cfg,
# and the top-level entries are the prefix layout packages install into (Linux). A
# prefix holding anything else is kept. Path rules only: no conda tool runs here.
CONDA = "conda"
CONDA_ENTRIES = frozenset({
    "conda-meta", "bin", "lib", "lib64", "include", "share", "etc", "man", "ssl", "libexec",
    "sbin", "var", "doc", "docs", "compiler_compat", "x86_64-conda-linux-gnu",
    "aarch64-conda-linux-gnu", "x86_64-conda_cos6-linux-gnu", "mkspecs", "plugins",
    "translations", "phrasebooks", "qml", "resources", "shell", "condabin", ".nonadmin",
})
REDIRECT = "redirect"  # virtualenv's `.venv` redirect file: only ever a small file
REDIRECT_MAX = 4096
# A time later than any: "written, but when is unknown". Not math.inf: math is a
# shared library to load, at every guarded call.
INF = float("inf")


class Disk:
    """What is at a target now, as removal.inspect sees it through descriptors."""

    __slots__ = ("has_files", "kind", "mine", "names", "pyvenv_cfg", "size")

    def __init__(self, kind: str, *, names: frozenset[str] = frozenset(),
                 pyvenv_cfg: bool = False, has_files: bool = False, mine: bool = True,
                 size: int = 0) -> None:
        self.kind = kind  # ABSENT, DIR, SYMLINK, FILE, OTHER
        self.names = names  # the top-level entries of a directory
        self.pyvenv_cfg = pyvenv_cfg  # pyvenv.cfg is there, a regular file
        self.has_files = has_files  # a regular file anywhere below (looked at only early)
        self.mine = mine  # owned by the user venvguard runs as
        self.size = size  # of a file

    def __repr__(self) -> str:
        return (f"Disk({self.kind!r}, names={sorted(self.names)!r}, "
                f"pyvenv_cfg={self.pyvenv_cfg}, has_files={self.has_files}, mine={self.mine})")


class Verdict:
    """An action and the reason for it, as a short word the messages spell out;
    `detail` names the entry behind a `foreign` reason."""

    __slots__ = ("action", "detail", "reason")

    def __init__(self, action: str, reason: str, detail: str = "") -> None:
        self.action = action
        self.reason = reason
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and (self.action, self.reason, self.detail) == (
            other.action, other.reason, other.detail,
        )

    def __repr__(self) -> str:
        return f"Verdict({self.action!r}, {self.reason!r}, {self.detail!r})"


def shape_problem(shape: str, disk: Disk) -> Verdict | None:
    """Why what is on disk is not the environment `shape`'s tool writes, or None."""
    if shape == REDIRECT:
        if disk.kind != FILE or disk.size > REDIRECT_MAX:
            return Verdict(KEEP, "not-a-redirect")
        return None
    if disk.kind == SYMLINK:
        return Verdict(KEEP, "link")
    if disk.kind != DIR:
        return Verdict(KEEP, "not-a-directory")
    if shape == CONDA:
        unknown = sorted(disk.names - CONDA_ENTRIES)
        if unknown:
            return Verdict(KEEP, "foreign", unknown[0])
        if "conda-meta" in disk.names or not disk.names:
            return None
        return Verdict(KEEP, "no-conda-meta")
    unknown = sorted(disk.names - ENV_ENTRIES - (TOX_ENTRIES if shape == "tox" else frozenset()))
    if unknown:
        return Verdict(KEEP, "foreign", unknown[0])
    if disk.pyvenv_cfg or not disk.names:
        return None
    early = EARLY_ENTRIES.get(shape, frozenset())
    if disk.names <= early and not (shape == "venv" and disk.has_files):
        return None
    return Verdict(KEEP, "no-pyvenv-cfg")


def decide(
    *,
    existed: str,
    outcome: str,
    shape: str,
    disk: Disk,
    protected: bool = False,
    busy: bool = False,
    changed: bool = False,
    written_during: bool = True,
    parent_moved: bool = False,
    planned: bool = True,
) -> Verdict:
    """Decide for one target.

    existed       what was at the path before the run (ABSENT, DIR, SYMLINK, FILE, OTHER)
    outcome       how the run ended (FINISHED ... UNKNOWN)
    shape         the tool whose environment this is ("uv", "venv", ...) or REDIRECT
    disk          what is at the path now
    protected     it is a current directory or one of its parents, $HOME or /
    busy          another live guarded run names the same path
    changed       written after the run ended: not the run's work
    written_during  written while the run ran (a directory moved there from elsewhere
                  during the run, with nothing in it newer than the run, is not)
    parent_moved  the way to it is not the one the run started with (a directory above
                  it renamed or swapped for a link): it is not reached safely
    planned       the run's own command names this target (a forged entry's may not)
    """
    if outcome == FINISHED:
        return Verdict(NOTHING, "finished")
    if disk.kind == ABSENT:
        return Verdict(NOTHING, "absent")
    if existed != ABSENT:
        # Tools fail before touching an environment on ordinary errors; only an
        # interrupted run is worth a word about one that was already there.
        if outcome == FAILED or shape == REDIRECT:  # virtualenv leaves one it found
            return Verdict(NOTHING, "existed")
        return Verdict(KEEP, "existed")
    for reason, true in (
        ("unplanned", not planned), ("protected", protected), ("parent-moved", parent_moved),
        ("busy", busy), ("changed", changed), ("not-written", not written_during),
        ("unknown", outcome == UNKNOWN),
        ("not-mine", not disk.mine),
    ):
        if true:
            return Verdict(KEEP, reason)
    problem = shape_problem(shape, disk)
    if problem is not None:
        return problem
    return Verdict(UNLINK if shape == REDIRECT else REMOVE, "created")


def classify(*, exit_code: int, died_of_signal: bool, signals_seen: bool, policy: str) -> str:
    """How a run ended, from the tool's wait status and the signals the supervisor saw.

    Tools that catch SIGINT exit 1 like any failure, so an interrupt is told apart by
    the signals the supervisor itself received, not by the exit code.
    """
    if policy == SIGNAL_DEATH:
        return INTERRUPTED if died_of_signal else FINISHED
    if exit_code == 0 and not died_of_signal:
        return FINISHED
    if died_of_signal or signals_seen:
        return INTERRUPTED
    return FINISHED if policy == INTERRUPT_ONLY else FAILED


def protected_paths(*dirs: str | None) -> frozenset[str]:
    """Each directory with all its parents, and /: never removed."""
    out: set[str] = {"/"}
    for d in dirs:
        while d and d not in out:
            out.add(d)
            d = d.rsplit("/", 1)[0] or "/"
    return frozenset(out)
