"""Settling a run: from its journal entry and how it ended, to what is done on disk.

Used by the supervisor when its tool ends, and for entries whose supervisor is
gone (kill -9, a crash, a reboot, a deletion cut short), which the prompt hook,
the next guarded run and `venvguard clean` settle.
"""

import os
import time

from venvguard import decision, journal, kept, removal
from venvguard.decision import KEEP, NOTHING, REMOVE, UNLINK
from venvguard.messages import say, show_command, show_path

TOOL_GRACE = 0.5  # seconds to let a dying tool finish before settling its run


def _names(path: str) -> set[str]:
    try:
        return set(os.listdir(path))
    except OSError:
        return set(decision.FOREIGN_MARKERS)  # cannot look inside: treat as not ours


def _busy_paths(own_token: str) -> set[str]:
    """Targets of other guarded runs that are still alive."""
    busy: set[str] = set()
    for path in journal.listing():
        pid_token = journal.parse_name(os.path.basename(path))
        if pid_token is None or pid_token[1] == own_token:
            continue
        try:
            held = journal.claim(path)
            if held is not None:  # its owner is gone: not busy
                held.release()
                continue
            data = journal.read(path)
        except journal.JournalError:
            continue
        busy.update(t[0] for t in data["targets"])
    return busy


def describe_run(outcome: str, argv: list[str]) -> str:
    command = f"`{show_command(argv)}`"
    if outcome == decision.INTERRUPTED:
        return f"the interrupted {command}"
    if outcome == decision.FAILED:
        return f"the failed {command}"
    return f"the cut-short {command}"


def message(verdict: decision.Verdict, shown: str, run: str, repair: str) -> str:
    reason = verdict.reason
    if verdict.action == REMOVE:
        return f"removed {shown} (made by {run})"
    if verdict.action == UNLINK:
        return f"removed the link {shown} (made by {run}; what it points to is untouched)"
    maybe = f"{run} may have left it incomplete"
    texts = {
        "existed": f"it existed before; {maybe}; `{repair}` repairs it",
        "protected": f"it is the current directory or holds it; {maybe}",
        "busy": "another guarded run is using it",
        "unknown": f"{maybe}; `{repair}` repairs it",
        "foreign": "it holds files no environment tool writes",
        "changed": f"it was written after {run} ended, by something else",
        "not-a-directory": f"it is not a directory; {maybe}",
    }
    return f"kept {shown} ({texts.get(reason, reason)})"


def _written_since(path: str, moment: float) -> bool:
    """Was the environment (its directory or its pyvenv.cfg) written at or after moment?"""
    for candidate in (path, os.path.join(path, "pyvenv.cfg")):
        try:
            if os.lstat(candidate).st_mtime >= moment:
                return True
        except OSError:
            continue
    return False


def conclude(entry: journal.Entry, outcome: str, *, background: bool = True) -> None:
    """Apply the decision to every target of a run that ended, tell the user, and
    finish: delete what was set aside, then the entry."""
    data = entry.data
    argv, token = data["argv"], data["token"]
    if outcome == decision.FINISHED:
        kept.finished(entry)
        return
    cwd = os.getcwd() if os.path.isdir(".") else data["cwd"]
    protected = decision.protected_paths(data["cwd"], cwd, home=os.environ.get("HOME"))
    run = describe_run(outcome, argv)
    repair = data.get("repair") or show_command(argv, limit=200)
    trash: list[str] = []
    busy: set[str] | None = None
    # A run from before a reboot ended at the latest when the machine went down:
    # whatever was written at its paths since this boot began is somebody else's.
    rebooted = data.get("boot") not in (None, journal.boot_id())
    booted = journal.boot_time() if rebooted else None
    for index, (path, existed) in enumerate(data["targets"]):
        aside = removal.trash_path(path, token, index)
        if removal.is_trash(aside):  # a deletion that was cut short
            trash.append(aside)
        now = journal.path_kind(path)
        if busy is None and existed == decision.ABSENT and now != decision.ABSENT:
            busy = _busy_paths(token)
        verdict = decision.decide(
            path=path,
            existed=existed,
            outcome=outcome,
            now=now,
            names=_names(path) if now == decision.DIR else set(),
            protected=protected,
            busy=path in (busy or ()),
            changed=booted is not None and _written_since(path, booted),
        )
        shown = show_path(path, cwd)
        try:
            if verdict.action == REMOVE:
                removal.set_aside(path, aside)
                trash.append(aside)
            elif verdict.action == UNLINK:
                removal.unlink_link(path)
        except OSError as e:
            say(f"could not remove {shown} ({e.strerror or e}); it may be incomplete")
            kept.remember(path, reason="unremovable", argv=argv, repair=repair)
            continue
        if verdict.action == NOTHING:
            continue
        say(message(verdict, shown, run, repair))
        if verdict.action == KEEP:
            kept.remember(path, reason=verdict.reason, argv=argv, repair=repair)
    _finish(entry, trash, background=background)


def _finish(entry: journal.Entry, trash: list[str], *, background: bool) -> None:
    """Delete what was set aside, then the entry. In the background (the supervisor:
    the prompt comes back at once) a failure leaves the entry for a later settle;
    inline (settling an orphan) a failure is said once and the entry dropped."""
    if not trash:
        entry.remove()
        return
    if background:
        removal.in_background(lambda: _delete_quietly(entry, trash), handover=entry.rename_for)
        return
    for aside in trash:
        try:
            removal.delete_tree(aside)
        except OSError as e:
            say(f"could not delete {show_path(aside)} ({e.strerror or e}); remove it by hand")
    entry.remove()


def _delete_quietly(entry: journal.Entry, trash: list[str]) -> None:
    try:
        for aside in trash:
            removal.delete_tree(aside)
    except OSError:
        entry.release()  # the next settle retries, and says so if it fails again
        return
    entry.remove()


def orphans(*, dry_run: bool = False) -> int:
    """Settle every entry whose supervisor is gone. Returns how many were settled."""
    settled = 0
    for path in journal.listing():
        try:
            entry = journal.claim(path)
        except journal.JournalError as e:
            _quarantine(path, str(e), dry_run=dry_run)
            continue
        if entry is None:
            continue  # alive
        data = entry.data
        if data["host"] != os.uname().nodename:
            entry.release()  # another machine's run, on a shared home: not ours to judge
            continue
        if not _tool_gone(data):
            # The tool outlives its supervisor: name the entry after the tool, so the
            # prompt hooks see a live owner with builtins and start nothing until it ends.
            if not dry_run:
                try:
                    entry.rename_for(data["tool"][0])
                except OSError:
                    pass
            entry.release()
            continue
        may_have_finished = data["policy"] == decision.SIGNAL_DEATH
        outcome = decision.UNKNOWN if may_have_finished else decision.CUT_SHORT
        if dry_run:
            say(f"would settle {show_path(path)}: {show_command(data['argv'])} was cut short")
            entry.release()
        else:
            conclude(entry, outcome, background=False)
        settled += 1
    return settled


def _tool_gone(data: dict) -> bool:
    """Wait briefly for the tool of a dead supervisor to die too (it is sent SIGTERM
    when its supervisor dies); False if it lives on."""
    pid, started = data["tool"][0], data["tool"][1]
    deadline = time.monotonic() + TOOL_GRACE
    while journal.process_alive(pid, started, data.get("boot")):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _quarantine(path: str, problem: str, *, dry_run: bool) -> None:
    """Set an unreadable entry aside (so the hook stops finding it) and say so once."""
    shown = show_path(path)
    if dry_run:
        say(f"journal entry {shown} is unreadable: {problem}")
        return
    try:
        os.rename(path, path + ".corrupt")
    except OSError:
        pass
    say(f"journal entry {shown} is unreadable: {problem}; set aside as "
        f"{os.path.basename(path)}.corrupt, no environment touched")
