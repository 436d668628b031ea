"""What to do with one environment path once a guarded run has ended.

A pure function of the journal entry, how the run ended and what is on disk now,
so that every rule can be tested without a disk. When unsure, keep.
"""

import os

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

# What to do.
NOTHING = "nothing"  # leave it and say nothing
KEEP = "keep"  # leave it and tell the user it may be incomplete
REMOVE = "remove"  # set the directory aside and delete it
UNLINK = "unlink"  # remove the link or redirect file itself, never what it points to

# What is at a path (os.lstat, never following a link).
ABSENT, DIR, SYMLINK, FILE, OTHER = "absent", "dir", "symlink", "file", "other"

# Names that no environment tool writes at the top of an environment: a directory
# holding one of them is somebody's project or repository, whoever made it.
FOREIGN_MARKERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "uv.lock",
        "poetry.lock",
        "Pipfile",
        "requirements.txt",
    }
)


class Verdict:
    """An action and the reason for it, as a short word the messages spell out."""

    __slots__ = ("action", "reason")

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verdict) and (self.action, self.reason) == (
            other.action,
            other.reason,
        )

    def __repr__(self) -> str:
        return f"Verdict({self.action!r}, {self.reason!r})"


def decide(
    *,
    path: str,
    existed: str,
    outcome: str,
    now: str,
    names: frozenset[str] | set[str] = frozenset(),
    protected: frozenset[str] | set[str] = frozenset(),
    busy: bool = False,
    changed: bool = False,
) -> Verdict:
    """Decide for one target.

    path      absolute, normalised target path
    existed   what was at the path before the run (ABSENT, DIR, SYMLINK, FILE, OTHER)
    outcome   how the run ended (FINISHED ... UNKNOWN)
    now       what is at the path now
    names     the entries at the top of the directory now (when it is one)
    protected paths never to remove: the current directories and their parents, $HOME, /
    busy      another live guarded run names the same path
    changed   written after the run ended (a run cut short by a reboot, and an
              environment made since): not the run's work
    """
    if outcome == FINISHED:
        return Verdict(NOTHING, "finished")
    if now == ABSENT:
        return Verdict(NOTHING, "absent")
    if existed != ABSENT:
        # Tools fail before touching an environment on ordinary errors; only an
        # interrupted run is worth a word about one that was already there.
        if outcome == FAILED:
            return Verdict(NOTHING, "existed")
        return Verdict(KEEP, "existed")
    if path in protected or path == os.sep:
        return Verdict(KEEP, "protected")
    if busy:
        return Verdict(KEEP, "busy")
    if changed:
        return Verdict(KEEP, "changed")
    if outcome == UNKNOWN:
        return Verdict(KEEP, "unknown")
    if now in (SYMLINK, FILE):
        return Verdict(UNLINK, "created")
    if now != DIR:
        return Verdict(KEEP, "not-a-directory")
    if names & FOREIGN_MARKERS:
        return Verdict(KEEP, "foreign")
    return Verdict(REMOVE, "created")


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
    return FAILED


def protected_paths(*dirs: str, home: str | None = None) -> frozenset[str]:
    """Each directory with all its parents, plus $HOME: never removed."""
    out: set[str] = {os.sep}
    for d in (*dirs, home):
        while d and d not in out:
            out.add(d)
            d = os.path.dirname(d)
    return frozenset(out)
