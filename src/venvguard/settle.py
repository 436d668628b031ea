"""Settling a run: from its journal entry and how it ended, to what is done on disk.

Used by the supervisor when its tool ends, by its watchdog when the supervisor
dies first, and for entries whose supervisor and watchdog are both gone (a reboot,
kill -9 of both, a deletion cut short), which the prompt hook, the next guarded run
and `venvguard clean` settle. Such an orphan is held to stricter rules: its targets
must be the ones its command names, and nothing written after its run ended (by
its heartbeat, or the boot) is taken for the run's work.
"""

import os

from venvguard import decision, journal, kept, processes, removal
from venvguard.decision import ABSENT, DIR, KEEP, NOTHING, REMOVE, UNLINK
from venvguard.messages import say, show_command, show_path

OUTCOMES = (decision.FINISHED, decision.FAILED, decision.INTERRUPTED)
WATCHDOG_WAIT = 3.0  # seconds to wait for a dead supervisor's watchdog to settle it

KEPT_BECAUSE = {
    "protected": "it is the current directory, one of its parents or your home",
    "busy": "another guarded run is using it",
    "not-mine": "it belongs to another user",
    "link": "it is a symbolic link, not an environment; what it points to is untouched",
    "not-a-directory": "it is not a directory",
    "not-a-redirect": "it is not a redirect file",
    "no-pyvenv-cfg": "it has no pyvenv.cfg, so it may not be an environment",
    "no-conda-meta": "it has no conda-meta, so it may not be an environment",
    "parent-moved": "its parent directory was moved or replaced during the run",
    "unplanned": "the journal names it, but the run's command does not",
    "moved": "it changed while being removed",
    "not-written": "nothing in it was written during the run: it was moved there",
}
STARTED_SLACK = 2.0  # seconds: file systems with coarse timestamps round down
# What was done to a target, as `clean --json` reports it (a dry run: what would be).
DONE = {REMOVE: "removed", UNLINK: "removed", KEEP: "kept", NOTHING: "nothing"}
WOULD = {"removed": "would-remove", "kept": "would-keep", "restored": "would-restore"}


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None  # deleted under us


def live_targets(own_token: str | None = None) -> list[dict]:
    """The targets of other guarded runs that are still alive."""
    found: list[dict] = []
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
        found.extend(data["targets"])
    return found


def _planned(data: dict) -> bool:
    """Does the run's own command, planned again, name exactly the entry's targets?
    A forged or damaged entry that names anything else is not acted upon."""
    from venvguard import tools

    try:
        plan = tools.plan(data["argv"], data["cwd"], data["environ"])
    except Exception:
        return False
    recorded = [(t["path"], t["shape"]) for t in data["targets"]]
    return plan is not None and plan.targets == recorded


def _identities(paths: frozenset[str]) -> set[tuple[int, int]]:
    out = set()
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        out.add((info.st_dev, info.st_ino))
    return out


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
        return f"removed {shown} (the redirect file made by {run})"
    maybe = f"{run} may have left it incomplete"
    if reason == "existed":
        text = f"it existed before; {maybe}; `{repair}` repairs it"
    elif reason == "unknown":
        text = f"{maybe}; `{repair}` repairs it"
    elif reason == "changed":
        text = f"it was written after {run} ended, so it is not only the run's"
    elif reason == "foreign":
        text = f"it holds {show_path(verdict.detail)!r}, which no environment tool writes there"
    else:
        text = KEPT_BECAUSE.get(reason, reason)
    return f"kept {shown} ({text})"


def _row(report: dict | None, target: dict) -> dict | None:
    """A target's row in a run's report (for `clean --json`), or None if none is asked."""
    if report is None:
        return None
    row = {"path": target["path"], "existed": target["existed"] != ABSENT,
           "action": "nothing", "reason": None, "message": None}
    report["targets"].append(row)
    return row


def _tell(row: dict | None, action: str, reason: str, text: str | None, *,
          dry_run: bool = False) -> None:
    """Say what was done to a target (a dry run says nothing here: orphans says what it
    would settle) and put it in the target's row, if there is one."""
    if text and not dry_run:
        say(text, notice=action in ("removed", "restored"))
    if row is None:
        return
    if dry_run and action in WOULD:
        past = action
        action = WOULD[past]
        if text and text.startswith(past + " "):
            text = f"would {action[6:]} {text[len(past) + 1:]}"
    row.update(action=action, reason=reason, message=text)


def conclude(entry: journal.Entry, outcome: str, *, parents: dict[int, int] | None = None,
             ended: float | None = None, planned: bool | None = None,
             background: bool = True, notes: dict[int, dict | None] | None = None,
             report: dict | None = None, dry_run: bool = False) -> None:
    """Apply the decision to every target of a run that ended, tell the user, and
    finish: delete what was set aside, then the entry.

    parents  the supervisor's descriptors on the targets' parent directories, held
             from before the run; None for an orphan, whose parents are opened
             again (and must still be the recorded ones)
    ended    for an orphan, the latest time its run can have ended
    planned  for an orphan, whether its command names its targets, if already known
    notes    the supervisor's listings of existing targets' site-packages (verify.note)
    report   for `clean --json`: a run's dict, given its outcome and a row per target
    dry_run  decide and report only: nothing is touched, the entry is released
    """
    data = entry.data
    if outcome == decision.FINISHED:
        opened: list[int] = []
        snaps = _snapshots(entry, parents, opened)
        if snaps and background:  # a finished run's snapshots go after the prompt is back
            removal.in_background(lambda: (_delete(snaps), entry.finished()),
                                  handover=entry.rename_for)
        else:
            _delete(snaps)
            entry.finished()
        _close(opened + [fd for _parent, _name, fd in snaps])
        return
    argv, token = data["argv"], data["token"]
    cwd = _cwd()
    home = os.environ.get("HOME") or ""
    protected = decision.protected_paths(
        data["cwd"], cwd, journal.clean_path(home) if os.path.isabs(home) else None
    )
    protected_ids = _identities(protected)
    if planned is None:
        planned = parents is not None or _planned(data)
    run = describe_run(outcome, argv)
    repair = data.get("repair") or show_command(argv, limit=200)
    busy: set[str] | None = None
    trash: list[tuple[int, str, int]] = []  # (parent fd, name set aside, its fd)
    opened: list[int] = []
    if report is not None:
        report["outcome"] = outcome
    for index, target in enumerate(data["targets"]):
        path, existed, shape = target["path"], target["existed"], target["shape"]
        name, shown = os.path.basename(path), show_path(path, cwd)
        row = _row(report, target)
        parent = _reach_parent(target, parents.get(index) if parents else None, opened)
        if parent is None:  # not reached safely: never acted upon
            verdict = decision.decide(
                existed=existed, outcome=outcome, shape=shape,
                disk=decision.Disk(journal.path_kind(path)), parent_moved=True,
            )
            text = message(verdict, shown, run, repair) if verdict.action != NOTHING else None
            _tell(row, DONE[verdict.action], verdict.reason, text, dry_run=dry_run)
            continue
        if existed == DIR and planned and _rolled_back(data, index, parent, shown, run,
                                                       ended, trash, row, dry_run=dry_run):
            continue
        aside = removal.trash_name(token, index)
        if planned and not dry_run:  # an entry its command does not name touches nothing
            _leftover_trash(parent, aside, shape, trash, shown)
        disk, fd = removal.inspect(parent, name)
        if fd is not None:
            opened.append(fd)
        if busy is None and existed == ABSENT and disk.kind != ABSENT:
            busy = {t["path"] for t in live_targets(token)}
        ident = None
        if fd is not None:
            info = os.fstat(fd)
            ident = (info.st_dev, info.st_ino)
        made = existed == ABSENT and disk.kind != ABSENT  # what the run may have made
        written = removal.last_written(parent, name, fd) if made else 0.0
        verdict = decision.decide(
            existed=existed, outcome=outcome, shape=shape, disk=disk,
            protected=path in protected or ident in protected_ids,
            busy=path in (busy or ()),
            changed=made and ended is not None and written > ended,
            written_during=not made or written > data["started"] - STARTED_SLACK,
            planned=planned,
        )
        try:
            if verdict.action == REMOVE and not dry_run:
                removal.set_aside(parent, name, aside, fd, still_ok=lambda now, shape=shape:
                                  now.mine and decision.shape_problem(shape, now) is None)
                trash.append((parent, aside, fd))
                opened.remove(fd)
                processes.checkpoint("set-aside")
            elif verdict.action == UNLINK and not dry_run:
                removal.unlink_file(parent, name)
        except removal.Moved:
            verdict = decision.Verdict(KEEP, "moved")
        except OSError as e:
            _tell(row, "kept", "unremovable",
                  f"could not remove {shown} ({e.strerror or e}); it may be incomplete")
            kept.remember(path, reason="unremovable", argv=argv, repair=repair)
            continue
        if verdict.reason == "existed" and disk.kind == DIR and fd is not None and planned:
            if busy is None:
                busy = {t["path"] for t in live_targets(token)}
            if path in busy:  # another run's temp files are its own, and it may repair
                text = None
                if verdict.action == KEEP:
                    text = (f"kept {shown} (it existed before; another guarded run is using "
                            "it, so it is not checked now)")
                _tell(row, DONE[verdict.action], "busy", text, dry_run=dry_run)
            else:
                _existing(data, target, fd, verdict, shown, run,
                          notes.get(index) if notes else None, row, dry_run=dry_run)
            continue
        if verdict.action == NOTHING:
            _tell(row, "nothing", verdict.reason, None)
            continue
        _tell(row, DONE[verdict.action], verdict.reason, message(verdict, shown, run, repair),
              dry_run=dry_run)
        if verdict.action == KEEP and not dry_run:
            kept.remember(path, reason=verdict.reason, argv=argv, repair=repair)
    if dry_run:
        _close(opened)
        entry.release()
        return
    _finish(entry, trash, opened, background=background)


def _existing(data: dict, target: dict, fd: int, verdict: decision.Verdict, shown: str,
              run: str, before: dict | None, row: dict | None = None, *,
              dry_run: bool = False) -> None:
    """An environment that was there before the run: check what the run touched,
    sweep what it left, and say both in one line (after a failure, only if there is
    something to say). A broken one is remembered with the command that repairs it.
    A dry run checks and lists what it would sweep, and changes nothing."""
    from venvguard import tools, verify

    report = verify.check(fd, since=data["started"] - verify.SLACK, before=before)
    try:
        swept = ([shown for _parent, _name, shown in verify.doomed(report)] if dry_run
                 else verify.sweep(report))
    finally:
        verify.close(report)
    broken = report.broken
    if row is not None:
        row.update(damage=None, repair=None, swept=swept)
    if not broken and not swept and not report.unswept and verdict.action == NOTHING:
        _tell(row, "nothing", "existed", None)
        return
    text = f"kept {shown} (it existed before)"
    if broken:
        repair = tools.reinstall(data["argv"], target["shape"], shown,
                                 [(d.name, d.version) for d in broken])
        damage = verify.damage(broken)
        text += f": {damage}; repair: `{repair}`"
        if row is not None:
            row.update(damage=damage, repair=repair)
        if not dry_run:
            kept.remember(target["path"], reason=f"{kept.BROKEN}{damage}", argv=data["argv"],
                          repair=repair, cwd=data["cwd"])
    else:
        count = len(report.dists)
        touched = f"the {count} packages {run} touched are" if count != 1 else \
            f"the package {run} touched is"
        text += f"; {touched} whole" if count else f"; {run} touched no package"
    if report.unswept:
        text += (f"; kept pip's stash {', '.join(report.unswept)}: it may hold the only "
                 "whole copy of a package")
    if swept:
        text += f"; {'would sweep' if dry_run else 'swept'} {len(swept)} " \
            f"leftover{'s' if len(swept) > 1 else ''}: " + \
            ", ".join(swept[:3]) + (", ..." if len(swept) > 3 else "")
    _tell(row, "kept", "broken" if broken else "existed", text, dry_run=dry_run)


def _rolled_back(data: dict, index: int, parent: int, shown: str, run: str,
                 ended: float | None, trash: list, row: dict | None = None, *,
                 dry_run: bool = False) -> bool:
    """VENVGUARD_SNAPSHOT=1: put back the snapshot taken before the run, unless
    another live run uses the environment or (settled later) something wrote in it
    after the run ended. True when the target is dealt with (restored, or kept and
    said); a snapshot cut short while being made goes to the trash."""
    from venvguard import snapshot

    target = data["targets"][index]
    name, snap = os.path.basename(target["path"]), snapshot.name(data["token"], index)
    for made in (snapshot.partial(snap), snap):
        disk, fd = removal.inspect(parent, made)
        if fd is None:
            continue
        if not disk.mine or (dry_run and made != snap):
            os.close(fd)
        elif made != snap:
            trash.append((parent, made, fd))
        else:
            os.close(fd)
            break
    else:
        return False
    kept_snapshot = f"its snapshot from before the run is {snap} beside it"
    if target["path"] in {t["path"] for t in live_targets(data["token"])}:
        _tell(row, "kept", "busy", f"kept {shown} (another guarded run is using it; "
              f"{kept_snapshot})", dry_run=dry_run)
        return True
    if ended is not None:
        _disk, env = removal.inspect(parent, name)
        written = removal.last_written(parent, name, env) if env is not None else 0.0
        if env is not None:
            os.close(env)
        if written > ended:
            _tell(row, "kept", "changed", f"kept {shown} (it was written after {run} ended; "
                  f"{kept_snapshot})", dry_run=dry_run)
            return True
    restored = f"restored {shown} as it was before {run}"
    if dry_run:
        _tell(row, "restored", "snapshot", restored, dry_run=True)
        return True
    aside = removal.trash_name(data["token"], index)
    if not snapshot.restore(parent, name, snap, aside):
        return False
    _tell(row, "restored", "snapshot", restored)
    _disk, fd = removal.inspect(parent, aside)
    if fd is not None:
        trash.append((parent, aside, fd))
    return True


def _snapshots(entry: journal.Entry, parents: dict[int, int] | None,
               opened: list[int]) -> list[tuple[int, str, int]]:
    """The run's snapshots (and ones cut short while being made), held open."""
    from venvguard import snapshot

    found = []
    for index, target in enumerate(entry.data["targets"]):
        if target["existed"] != DIR:
            continue
        parent = _reach_parent(target, parents.get(index) if parents else None, opened)
        if parent is None:
            continue
        snap = snapshot.name(entry.token, index)
        for made in (snap, snapshot.partial(snap)):
            disk, fd = removal.inspect(parent, made)
            if fd is not None and disk.mine:
                found.append((parent, made, fd))
            elif fd is not None:
                os.close(fd)
    return found


def discard_snapshots(entry: journal.Entry, parents: dict[int, int]) -> None:
    """Delete the run's snapshots now (the run never started)."""
    opened: list[int] = []
    snaps = _snapshots(entry, parents, opened)
    _delete(snaps)
    _close(opened + [fd for _parent, _name, fd in snaps])


def _delete(items: list[tuple[int, str, int]]) -> None:
    for parent, name, fd in items:
        try:
            removal.delete_tree(parent, name, fd)
        except OSError as e:
            say(f"could not delete {name} ({e.strerror or e}); remove it by hand")


def _close(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _reach_parent(target: dict, anchor_fd: int | None, opened: list[int]) -> int | None:
    """A descriptor on the target's parent, reached from its anchor (held since before
    the run, or opened again and checked to be the recorded one) without following a
    link; None when that is not possible, or the anchor was moved during the run."""
    anchor = target["anchor"]
    if anchor is None:
        return None
    if anchor_fd is None:
        anchor_fd = removal.open_anchor(anchor)
        if anchor_fd is None:
            return None
        opened.append(anchor_fd)
    if not removal.anchor_in_place(anchor_fd, anchor):
        return None
    try:
        parent = removal.open_parent(anchor_fd, anchor[0], target["path"])
    except OSError:
        return None
    opened.append(parent)
    return parent


def _leftover_trash(parent: int, aside: str, shape: str, trash: list, shown: str) -> None:
    """A directory this run set aside earlier, whose deletion was cut short: finish
    it, if it is still ours and still shaped like what was set aside."""
    disk, fd = removal.inspect(parent, aside)
    if disk.kind == ABSENT:
        return
    if fd is not None and disk.mine and decision.shape_problem(shape, disk) is None:
        trash.append((parent, aside, fd))
        say(f"finishing the removal of {shown}, cut short earlier")
        return
    if fd is not None:
        os.close(fd)
    say(f"left {aside} beside {shown} alone: it is not what venvguard set aside")


def _finish(entry: journal.Entry, trash: list, opened: list[int], *, background: bool) -> None:
    """Delete what was set aside, then the entry. In the background (the supervisor:
    the prompt comes back at once) a failure leaves the entry for a later settle;
    inline (settling an orphan) a failure is said once and the entry dropped."""
    if not trash:
        entry.remove()
    elif background:
        removal.in_background(lambda: _delete_quietly(entry, trash), handover=entry.rename_for)
    else:
        for parent, aside, fd in trash:
            try:
                removal.delete_tree(parent, aside, fd)
            except OSError as e:
                say(f"could not delete {aside} ({e.strerror or e}); remove it by hand")
        entry.remove()
    for fd in opened + [fd for _parent, _aside, fd in trash]:
        try:
            os.close(fd)
        except OSError:
            pass


def _delete_quietly(entry: journal.Entry, trash: list) -> None:
    try:
        processes.checkpoint("deleting")
        for parent, aside, fd in trash:
            removal.delete_tree(parent, aside, fd)
    except OSError:
        entry.release()  # the next settle retries, and says so if it fails again
        return
    entry.remove()


def end_bound(path: str, data: dict) -> float:
    """The latest time an orphan's run can have ended: its last heartbeat (plus the
    time a tool takes to die), and at the latest the boot after it."""
    bound = journal.heartbeat_bound(path) or data["started"]
    if data.get("boot") not in (None, processes.boot_id()):
        booted = processes.boot_time()
        if booted is not None:
            bound = min(bound, booted)
    return bound


def orphans(*, dry_run: bool = False, wait: float = WATCHDOG_WAIT,
            report: list[dict] | None = None) -> int:
    """Settle every entry whose supervisor is gone. Returns how many were settled.
    A dead supervisor's watchdog holds the entry's lock while it settles the run:
    wait for it up to `wait` seconds (so that the prompt comes back after, not
    before), and leave the entry to it if it takes longer.

    `report` (for `clean --json`): a list that gets one dict per entry settled
    (dry: that would be), with what was (would be) done to each target, and one per
    unreadable entry (outcome "unreadable")."""
    settled = 0
    for path in journal.listing():
        named = journal.parse_name(os.path.basename(path))
        owner_dead = named is not None and not processes.alive(named[0], None, None)
        try:
            entry = journal.claim(path, wait=wait if owner_dead else 0)
        except journal.JournalError as e:
            _quarantine(path, str(e), dry_run=dry_run)
            if report is not None:
                report.append({"entry": path, "outcome": "unreadable", "error": str(e),
                               "set_aside": None if dry_run else path + ".corrupt"})
            continue
        if entry is None:
            continue  # alive, or settled meanwhile
        data = entry.data
        if data["host"] != os.uname().nodename:
            entry.release()  # another machine's run, on a shared home: not ours to judge
            continue
        owner = data["owner"]
        if processes.alive(owner[0], owner[1], data.get("boot")):
            entry.release()  # a copy of a live run's entry: that run is its owner's
            continue
        run = None
        if report is not None:
            run = {"entry": path, "argv": data["argv"], "cwd": data["cwd"],
                   "started": data.get("started"), "outcome": None, "targets": []}
            report.append(run)
        if dry_run:
            say(f"would settle {show_path(path)}: {show_command(data['argv'])} was cut short")
            if run is None:
                entry.release()
            else:  # what settling would do, found as settling finds it
                _cut_short(entry, exact=False, report=run, dry_run=True)
            settled += 1
            continue
        _cut_short(entry, exact=False, report=run)
        settled += 1
    return settled


def abandoned(entry: journal.Entry, outcome: str | None) -> None:
    """The watchdog's settle, the moment its supervisor is gone, under the lock it
    shares: if the supervisor left its entry where it was, settle it for the outcome
    the supervisor had told (it died during cleanup), or as cut short right now (it
    died before knowing). An entry removed or handed on meanwhile is not its own."""
    try:
        if not os.path.samestat(os.fstat(entry.fd), os.lstat(entry.path)):
            return
    except OSError:
        return
    if outcome in OUTCOMES:
        if outcome != decision.FINISHED:  # what a finished run left running is the user's
            end_processes(entry.data)
        conclude(entry, outcome, background=False)
    else:
        _cut_short(entry, exact=True)


def end_processes(data: dict) -> bool:
    """End what the run started and left running (a build backend must not write on)."""
    return processes.end_run(data["token"], data["owner"][1], data.get("boot"))


def _cut_short(entry: journal.Entry, *, exact: bool, report: dict | None = None,
               dry_run: bool = False) -> None:
    """Settle a run whose supervisor is gone. Nothing of the run may go on writing
    meanwhile, so its processes are ended first: only if the entry is its command's
    own (no process is ended for a forged one). `exact`: it is known to have ended
    just now (the watchdog saw it); otherwise by its heartbeat, unless some of its
    processes were still running until now. A dry run ends nothing: it only looks
    whether any is still running."""
    data = entry.data
    if not _planned(data):  # keeps all, and says why
        conclude(entry, decision.CUT_SHORT, planned=False, background=False, report=report,
                 dry_run=dry_run)
        return
    if dry_run:
        ran_until_now = data.get("boot") in (None, processes.boot_id()) and bool(
            processes.members(data["token"], data["owner"][1]))
    else:
        ran_until_now = end_processes(data)
    may_have_finished = data["policy"] == decision.SIGNAL_DEATH
    outcome = decision.UNKNOWN if may_have_finished else decision.CUT_SHORT
    ended = None if exact or ran_until_now else end_bound(entry.path, data)
    conclude(entry, outcome, ended=ended, planned=True, background=False, report=report,
             dry_run=dry_run)


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
