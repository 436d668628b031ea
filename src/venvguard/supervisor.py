"""`venvguard exec -- CMD...`: run one tool under watch (stdlib only, never typer).

It runs in the tool's foreground process group, so it sees every Ctrl-C, hang-up
and termination whatever the tool does with them (in-shell traps cannot: see
docs/how-it-works.md). In order: plan the targets, note which exist and hold
their parent directories open; journal the run; start the tool as a plain child
(posix_spawn: no copy of this process); fork the watchdog while it runs; wait,
passing on signals sent to the supervisor alone; decide and clean up with
INT/HUP/TERM blocked; exit with the tool's status or die of its signal.
Invocations that cannot touch an environment are exec'd directly, so they cost
one Python start and nothing else.
"""

import os
import sys

from venvguard import processes, tools
from venvguard.messages import say, show_command, show_path
from venvguard.processes import signal

WATCHED = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
# Python ignores these at start-up; an ignored signal survives exec, so the tool
# must get them back at their defaults (as subprocess's restore_signals does).
RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)
SI_KERNEL = 0x80  # si_code of a signal the kernel sent: the terminal's, to the whole job


def main(args: list[str]) -> None:
    if args[:1] == ["--"]:
        args = args[1:]
    if not args or not args[0]:
        say("usage: venvguard exec -- COMMAND [ARGS...]")
        sys.exit(2)
    environ = tools.Recorder(os.environ)
    try:
        cwd = os.getcwd()
    except OSError:
        say(f"the current directory is gone; running `{show_command(args)}` unguarded")
        exec_tool(args)
    try:
        plan = tools.plan(args, cwd, environ)
    except Exception as e:  # never let a planning bug stand between a user and a tool
        say(f"could not work out what `{show_command(args)}` targets ({e}); running it unguarded")
        plan = None
    if not tools.worth_guarding(plan):
        exec_tool(args)
    from venvguard import config, decision, journal  # only guarded runs need them

    settings = config.load()
    if settings.problem:
        say(settings.problem)
    if config.unguarded(settings, args):
        exec_tool(args)
    if settings.failed_runs == "keep" and plan.policy == decision.ANY_FAILURE:
        plan.policy = decision.INTERRUPT_ONLY  # a failed run is then taken as finished

    being_made: set[str] = set()
    if journal.listing():  # other runs are rare: import settle only then
        from venvguard import settle

        try:
            settle.orphans()
            being_made = {t["path"] for t in settle.live_targets() if t["existed"] == "absent"}
        except Exception as e:  # best effort: never in the way of the user's command
            say(f"could not settle earlier runs ({e}); `venvguard clean` retries")
    run(args, cwd, plan, environ.read, being_made, snapshot=settings.snapshot)


def exec_tool(args: list[str]) -> None:
    """Become the tool: no process added."""
    for sig in RESTORED:
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvp(args[0], args)
    except (OSError, ValueError) as e:
        _exec_failed(args[0], e)


def _exec_failed(program: str, error: Exception) -> None:
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
        say(f"{program}: {error.strerror}")
        os._exit(126)
    say(f"{program}: command not found")
    os._exit(127)


def run(args: list[str], cwd: str, plan: tools.Plan, environ: dict[str, str],
        being_made: set[str], snapshot: bool = False) -> None:
    """Run the tool under watch. A target another live guarded run is still making
    counts as absent before this run too: if neither finishes, it is half-made."""
    from venvguard import decision, journal, removal

    token = os.urandom(6).hex()
    held: dict[int, int] = {}  # target index -> descriptor on its nearest directory
    notes: dict[int, dict | None] = {}  # target index -> its site-packages listings
    targets = []
    for index, (path, shape) in enumerate(plan.targets):
        try:
            held[index], anchor = removal.hold_anchor(path)
        except OSError:
            anchor = None
        existed = decision.ABSENT if path in being_made else journal.path_kind(path)
        targets.append({"path": path, "existed": existed, "shape": shape, "anchor": anchor})
        if existed == decision.DIR:  # what appears in it during the run is then known
            from venvguard import verify

            notes[index] = verify.note(path)
    processes.checkpoint("planned")
    # A signal the shell left ignored (a background job) stays ignored for the tool
    # too. The others are blocked and waited for, so that each comes with who sent it.
    watched = [sig for sig in WATCHED if signal.getsignal(sig) != signal.SIG_IGN]
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:  # children would be reaped unseen
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [*watched, signal.SIGCHLD])
    early = set(watched) & signal.sigpending()
    if early:  # Ctrl-C before the tool started: end as it would have
        die_of(min(early))
    try:
        entry = journal.create(
            journal.new_data(argv=args, cwd=cwd, environ=environ, targets=targets,
                             policy=plan.policy, repair=plan.repair, token=token)
        )
    except OSError as e:
        say(f"cannot write the journal in {show_path(journal.runs_dir())} "
            f"({e.strerror or e}); running `{show_command(args)}` unguarded")
        entry = None
    processes.checkpoint("journaled")
    snapshots = {}
    if entry is not None and snapshot:
        snapshots = take_snapshots(targets, held, token)
        early = set(watched) & signal.sigpending()
        if early:  # Ctrl-C while copying: nothing ran, nothing to keep
            from venvguard import settle

            settle.discard_snapshots(entry, held)
            entry.remove()
            die_of(min(early))
    try:
        pid = spawn(args, token, watched, mask)
    except (OSError, ValueError) as e:
        if entry is not None:
            entry.remove()  # nothing ran
        _exec_failed(args[0], e)
    from venvguard import watchdog  # once the tool runs: its start never waits for this

    dog = entry and watchdog.start(entry, close=tuple(held.values()))
    processes.checkpoint("running")
    status, seen = wait(pid, watched)
    processes.checkpoint("ended")
    if entry is not None:
        outcome = decision.classify(
            exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
            died_of_signal=os.WIFSIGNALED(status),
            signals_seen=bool(seen),
            policy=plan.policy,
        )
        watchdog.tell(dog, outcome)
        processes.checkpoint("decided")
        try:
            finish(entry, outcome, held, notes, bool(snapshots))
        except Exception as e:  # whatever happens, the tool's status is passed on
            say(f"cleanup failed ({e}); `venvguard clean` retries")
    watchdog.dismiss(dog)
    pass_on(status)


def finish(entry, outcome: str, held: dict[int, int], notes: dict[int, dict | None],
           snapshots: bool) -> None:
    """A finished run costs no more imports: only failures need settle's machinery."""
    from venvguard import decision

    if outcome == decision.FINISHED and not snapshots:
        entry.finished()
        return
    from venvguard import settle

    if outcome != decision.FINISHED:  # a build backend left running must not write on
        settle.end_processes(entry.data)
    settle.conclude(entry, outcome, parents=held, notes=notes)


def take_snapshots(targets: list[dict], held: dict[int, int], token: str) -> dict[int, str]:
    """The snapshot setting: copy each environment that exists (its parent is the one
    held), before the tool starts. One that cannot be copied is said and left."""
    from venvguard import decision, snapshot

    taken = {}
    for index, target in enumerate(targets):
        if target["existed"] != decision.DIR or index not in held:
            continue
        snap = snapshot.name(token, index)
        try:
            snapshot.take(held[index], os.path.basename(target["path"]), snap)
            taken[index] = snap
        except OSError as e:
            say(f"no snapshot of {show_path(target['path'])} ({e.strerror or e}); "
                "it cannot be rolled back")
    return taken


def spawn(args: list[str], token: str, watched: list[int], mask: set[int]) -> int:
    """Start the tool (posix_spawn: no copy of this process) with the signal
    dispositions and mask the shell gave us, and the run's marker in its
    environment. OSError or ValueError if it cannot be started."""
    return os.posix_spawnp(
        args[0], args, {**os.environ, processes.MARKER: token},
        setsigmask=mask, setsigdef=(*watched, *RESTORED, signal.SIGCHLD),
    )


def wait(pid: int, watched: list[int]) -> tuple[int, list[int]]:
    """The tool's wait status, and the signals we received meanwhile. A signal the
    terminal sent reached the whole job, the tool too; one a process sent may have
    been meant for us alone (`kill PID`, a CI runner, a process manager), so it is
    passed on to the tool, once. A stopped tool (Ctrl-Z) stops us too, as the same
    job, and fg resumes both."""
    seen: list[int] = []
    waited = {*watched, signal.SIGCHLD}
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, seen
        info = signal.sigwaitinfo(waited)
        if info.si_signo == signal.SIGCHLD:
            continue
        seen.append(info.si_signo)
        if info.si_code != SI_KERNEL:
            try:
                os.kill(pid, info.si_signo)
            except ProcessLookupError:
                pass


def pass_on(status: int) -> None:
    """End as the tool ended: its exit code, or death by its signal, so the shell sees
    a real Ctrl-C (and `a && b` or a loop stops as it would without venvguard)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if os.WIFSIGNALED(status):
        die_of(os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


def die_of(sig: int) -> None:
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
    os.kill(os.getpid(), sig)
    os._exit(128 + sig)
