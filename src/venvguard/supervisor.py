"""`venvguard exec -- CMD...`: run one tool under watch (stdlib only, never typer).

It runs in the tool's foreground process group, so it sees every Ctrl-C, hang-up
and termination whatever the tool does with them (field-notes.md section 1: in-shell
traps cannot). In order: plan the targets and note which exist; journal the run;
run the tool as a plain child; wait; decide and clean up with INT/HUP/TERM ignored;
exit with the tool's status or die of its signal. Invocations that cannot touch an
environment are exec'd directly, so they cost one Python start and nothing else.
"""

import os
import signal
import sys
from typing import TYPE_CHECKING

from venvguard import tools
from venvguard.messages import say, show_command, show_path

if TYPE_CHECKING:
    from venvguard.journal import Entry

WATCHED = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
# Python ignores these at start-up; an ignored signal survives exec, so the tool
# must get them back at their defaults (as subprocess's restore_signals does).
RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)
PR_SET_PDEATHSIG = 1


def main(args: list[str]) -> None:
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        say("usage: venvguard exec -- COMMAND [ARGS...]")
        sys.exit(2)
    try:
        cwd = os.getcwd()
        plan = tools.plan(args, cwd, os.environ)
    except Exception as e:  # never let a planning bug stand between a user and a tool
        say(f"could not work out what `{show_command(args)}` targets ({e}); running it unguarded")
        plan = None
    if plan is None or not plan.targets:
        exec_tool(args)
    from venvguard import journal  # only guarded runs need it

    if journal.listing():  # settling is rare: import it only then
        from venvguard import settle

        try:
            settle.orphans()
        except Exception as e:  # best effort: never in the way of the user's command
            say(f"could not settle earlier runs ({e}); `venvguard clean` retries")
    run(args, cwd, plan)


def exec_tool(args: list[str]) -> None:
    """Become the tool: no process added."""
    for sig in RESTORED:
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvp(args[0], args)
    except OSError as e:
        _exec_failed(args[0], e)


def _exec_failed(program: str, error: OSError) -> None:
    if isinstance(error, FileNotFoundError):
        say(f"{program}: command not found")
        os._exit(127)
    say(f"{program}: {error.strerror}")
    os._exit(126)


def run(args: list[str], cwd: str, plan: tools.Plan) -> None:
    from venvguard import decision, journal

    seen: list[int] = []
    for sig in WATCHED:
        # A signal the shell left ignored (a background job) stays ignored for the
        # tool too; a handler (never SIG_IGN) is reset to default by exec.
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, lambda signum, _frame: seen.append(signum))
    targets = [[path, journal.path_kind(path)] for path in plan.targets]
    children = signal.getsignal(signal.SIGCHLD)
    if children is signal.SIG_IGN:  # inherited: children would be reaped unseen
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid, go = spawn(args, children)
    try:
        entry = journal.create(
            journal.new_data(
                argv=args, cwd=cwd, targets=targets, policy=plan.policy,
                repair=plan.repair, tool_pid=pid, token=os.urandom(6).hex(),
            )
        )
    except OSError as e:
        say(f"cannot write the journal in {show_path(journal.runs_dir())} "
            f"({e.strerror or e}); running `{show_command(args)}` unguarded")
        entry = None
    try:
        os.write(go, b"go")
    except OSError:
        pass  # the tool is already gone; wait() tells how
    os.close(go)
    status = wait(pid)
    for sig in WATCHED:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C cannot cut cleanup short
    if entry is not None:
        outcome = decision.classify(
            exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
            died_of_signal=os.WIFSIGNALED(status),
            signals_seen=bool(seen),
            policy=plan.policy,
        )
        try:
            finish(entry, outcome)
        except Exception as e:  # whatever happens, the tool's status is passed on
            say(f"cleanup failed ({e}); `venvguard clean` retries")
    pass_on(status)


def finish(entry: "Entry", outcome: str) -> None:
    """A finished run costs no more imports: only failures need settle's machinery."""
    from venvguard import decision

    if outcome == decision.FINISHED:
        from venvguard import kept

        kept.finished(entry)
        return
    from venvguard import settle

    settle.conclude(entry, outcome)


def spawn(args: list[str], children: object) -> tuple[int, int]:
    """Fork the tool, held back until the journal names it: returns (pid, go-fd).
    `children` is the SIGCHLD disposition the tool gets, as the shell gave it."""
    hold, go = os.pipe()
    parent = os.getpid()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(hold)
        return pid, go
    try:
        os.close(go)
        _die_with(parent)
        for sig in RESTORED:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, children)
        os.read(hold, 2)
        os.close(hold)
        os.execvp(args[0], args)
    except OSError as e:
        _exec_failed(args[0], e)
    finally:
        os._exit(127)


def _die_with(parent: int) -> None:
    """Have the kernel send the tool SIGTERM if its supervisor dies (kill -9), so a run
    whose supervisor is gone is cut short, never finished unwatched (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (ImportError, OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(128 + signal.SIGTERM)


def wait(pid: int) -> int:
    """The tool's wait status. Signals only note themselves (PEP 475 resumes the wait);
    a stopped tool (Ctrl-Z) stops us too, as the same job, and fg resumes both."""
    _, status = os.waitpid(pid, 0)
    return status


def pass_on(status: int) -> None:
    """End as the tool ended: its exit code, or death by its signal, so the shell sees
    a real Ctrl-C (and `a && b` or a loop stops as it would without venvguard)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))
