"""The typer CLI: status, repair, clean, doctor, --version, and help for everything.

`init`, `exec`/`run` and the prompt hook's `_settle` are dispatched in entry.py
without importing typer (they are on hot paths); they are declared here too so
that `venvguard --help` lists them and `venvguard exec --help` explains them.
"""

import os
import shutil
import sys
import time

import typer

from venvguard import __version__, journal, kept, settle
from venvguard.messages import say, show_command, show_path

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: no `<bool>` after flags, and no rich to import
    help="Ctrl-C during uv sync or python -m venv leaves no half-made environment behind.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"venvguard {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Guard uv, python -m venv and virtualenv in your shell: add the init line to your rc
    file (`eval "$(venvguard init zsh)"`, bash likewise, fish: `venvguard init fish | source`).
    """


@app.command()
def init(shell: str = typer.Argument(None, help="bash, zsh or fish; guessed when left out.")):
    """Print the shell integration for your rc file."""
    from venvguard import init as init_module

    raise typer.Exit(init_module.main([shell] if shell else []))


EXEC_HELP = (
    "Run a command under watch: venvguard exec -- uv sync. For scripts, Makefiles and CI."
    "\n\nRemoves an environment the command created if it is interrupted or fails; keeps "
    "(and reports) one that existed before. Exit status and signals are the command's."
)


EXEC_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
EXEC_USAGE = "-- COMMAND [ARGS]..."


@app.command("exec", help=EXEC_HELP, context_settings=EXEC_SETTINGS, options_metavar=EXEC_USAGE)
def exec_(ctx: typer.Context):
    from venvguard import supervisor

    supervisor.main(ctx.args)


app.command(
    "run", help="The same as exec.", context_settings=EXEC_SETTINGS, options_metavar=EXEC_USAGE
)(exec_)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
):
    """List runs that are under way or were cut short, and environments kept incomplete.

    Example: venvguard status --json | jq '.kept[] | select(.state == "broken") | .path'
    """
    runs = [_entry_state(path) for path in journal.listing()]
    records = [_record_state(record) for record in kept.prune()]
    if as_json:
        import json

        typer.echo(json.dumps({"runs": runs, "kept": records}, indent=2))
        return
    for run in runs:
        typer.echo(_describe_run(run))
    for record in records:
        command = show_command(record["argv"] or ["?"])
        repair = record["repair"] or show_command(record["argv"] or ["?"], limit=200)
        if record["state"] == "broken":
            what = f"broken   {show_path(record['path'])}: {record['reason']}"
        else:
            what = f"kept     {show_path(record['path'])}: may be incomplete"
        typer.echo(f"{what} after `{command}` ({_ago(record['when'])}); repair: {repair}")
    if not runs and not records:
        typer.echo("nothing under way, nothing cut short, no environment kept incomplete")


def _record_state(record: dict) -> dict:
    """A kept record as `status` shows it: broken (checked, with what is wrong) or
    incomplete (kept unchecked)."""
    broken = kept.is_broken(record)
    reason = record.get("reason") or ""
    return {
        "path": record["path"],
        "state": "broken" if broken else "incomplete",
        "reason": reason[len(kept.BROKEN):] if broken else reason,
        "argv": record.get("argv") or [],
        "repair": record.get("repair"),
        "cwd": record.get("cwd"),
        "when": record.get("when"),
    }


def _entry_state(path: str) -> dict:
    """One journal entry: running (its supervisor holds it), cut short (nobody does),
    elsewhere (another host's), or unreadable."""
    try:
        held = journal.claim(path)
        if held is None:
            data, state = journal.read(path), "running"
        else:
            data = held.data
            held.release()
            state = "cut-short" if data["host"] == os.uname().nodename else "elsewhere"
    except journal.JournalError as e:
        return {"entry": path, "state": "unreadable", "error": str(e)}
    return {
        "entry": path, "state": state, "argv": data["argv"], "cwd": data["cwd"],
        "started": data.get("started"),
        "targets": [{"path": t["path"], "existed": t["existed"] != "absent"}
                    for t in data["targets"]],
    }


def _describe_run(run: dict) -> str:
    if run["state"] == "unreadable":
        return f"broken   {show_path(run['entry'])}: {run['error']}"
    label = {"running": "running ", "cut-short": "cut short"}.get(run["state"], run["state"])
    targets = ", ".join(
        f"{show_path(t['path'])} ({'existed' if t['existed'] else 'new'})" for t in run["targets"]
    )
    return (
        f"{label} `{show_command(run['argv'])}` in {show_path(run['cwd'])} "
        f"({_ago(run['started'])}): {targets}"
    )


def _ago(when: object) -> str:
    if not isinstance(when, int | float):
        return "time unknown"
    seconds = max(0, int(time.time() - when))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


@app.command()
def repair(
    path: str = typer.Argument(None, help="The environment; by default the broken one "
                               "of the project you are in."),
):
    """Run the command that repairs a broken environment, then check it whole again."""
    record = _broken_record(path)
    if record is None:
        say(f"no broken environment recorded {'at ' + path if path else 'here'}; "
            "`venvguard status` lists them")
        raise typer.Exit(1)
    import shlex
    import subprocess

    env, command = record["path"], record["repair"]
    say(f"repairing {show_path(env)}: {command}")
    kept.forget([env])  # checked below, and recorded again if still broken
    run = [sys.executable, "-m", "venvguard", "exec", "--", *shlex.split(command)]
    status = subprocess.run(run, cwd=record.get("cwd") or os.path.dirname(env)).returncode
    damage = kept.broken_now(env)
    if damage or status != 0:  # a failed repair keeps the record as it was
        reason = f"{kept.BROKEN}{damage}" if damage else record["reason"]
        kept.remember(env, reason=reason, argv=record["argv"], repair=command,
                      cwd=record.get("cwd"))
    if damage:
        say(f"{show_path(env)} is still broken: {damage}")
    if status != 0 or damage:
        raise typer.Exit(status or 1)
    say(f"{show_path(env)} is whole: every package in it checks out against its RECORD")


def _broken_record(path: str | None) -> dict | None:
    """The broken record for `path`, or (none given) for an environment in the
    current directory or the nearest one above it."""
    broken = [r for r in kept.prune()
              if kept.is_broken(r) and r.get("repair")]
    if path is not None:
        wanted = journal.clean_path(os.path.abspath(path))
        return next((r for r in broken if r["path"] == wanted), None)
    here = journal.clean_path(os.getcwd())
    around = [r for r in broken if here == os.path.dirname(r["path"])
              or here.startswith(os.path.dirname(r["path"]).rstrip("/") + "/")]
    return max(around, key=lambda r: len(r["path"]), default=None)


@app.command()
def scan(
    directory: str = typer.Argument(".", help="Where to look (default: here)."),
    fix: bool = typer.Option(False, "--fix", help="Sweep leftovers, run repairs, remove "
                             "half-made environments (asking first on a terminal)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --fix: do not ask."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list, one object per "
                                 "environment, for scripts (with --fix: after fixing)."),
):
    """Find every environment below DIRECTORY: whole, half-made or broken. Exit 1 if
    any is not whole.

    Example: venvguard scan ~/code --json | jq -r '.[] | select(.verdict != "whole") | .path'
    """
    from venvguard import scan as scanning

    here = os.path.abspath(directory)
    busy = {t["path"] for t in settle.live_targets()}
    bad = 0
    report = []
    for path, has_cfg in scanning.environments(here):
        found = scanning.judge(path, has_cfg)
        shown = show_path(path)
        if as_json and not fix:
            report.append(scanning.as_dict(found))
            bad += found.verdict != scanning.WHOLE
            continue
        if fix and found.verdict != scanning.WHOLE:
            if path in busy:
                typer.echo(f"{scanning.describe(found, shown)} (a guarded run is using it: "
                           "left alone)")
                bad += 1
                continue
            found = _fix(scanning, found, shown, yes)
            if found is None:
                continue  # removed, and said so
        if as_json:
            report.append(scanning.as_dict(found))
        else:
            typer.echo(scanning.describe(found, shown))
        bad += found.verdict != scanning.WHOLE
    if as_json:
        import json

        typer.echo(json.dumps(report, indent=2))
    raise typer.Exit(1 if bad else 0)


def _fix(scanning, found, shown: str, yes: bool):
    """Sweep and repair a broken environment and judge it again; remove a half-made
    one (None once it is gone)."""
    if found.verdict == scanning.HALF_MADE:
        if not yes and not _confirm(f"remove the half-made {shown}?"):
            return found
        why = scanning.remove_half_made(found)
        if why is None:
            say(f"removed {shown} (half-made)")
            return None
        say(f"kept {shown} ({why})")
        return found
    swept = scanning.sweep(found)
    if swept:
        say(f"swept {len(swept)} leftover{'s' if len(swept) > 1 else ''} in {shown}")
    repair = scanning.repair_command(found, found.path)  # run where the project is
    if repair:
        import shlex
        import subprocess

        say(f"repairing {shown}: {repair}")
        subprocess.run(shlex.split(repair), cwd=os.path.dirname(found.path))
    again = scanning.judge(found.path, True)
    if again.verdict == scanning.WHOLE:
        kept.forget([found.path])
    return again


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        say(f"{question} not on a terminal: run with --yes to remove it")
        return False
    return typer.confirm(f"venvguard: {question}", default=False, err=True)


@app.command()
def clean(
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="Say what would be done."),
):
    """Settle runs that were cut short (kill -9, a crash, a reboot), as the prompt hook does."""
    count = settle.orphans(dry_run=dry_run)
    if count == 0:
        say("nothing to settle")


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
):
    """Check the installation: PATH, state directory, tools and shells; exit 1 on a problem.

    Example: venvguard doctor --json | jq -r '.checks[] | select(.status == "warn") | .detail'
    """
    checks = _doctor_checks()
    problems = sum(check["status"] == "warn" for check in checks)
    if as_json:
        import json

        typer.echo(json.dumps({"ok": not problems, "checks": checks}, indent=2))
    else:
        for check in checks:
            typer.echo(f"{check['status'] if check['status'] != 'warn' else 'WARN':<4}  "
                       f"{check['detail']}")
    raise typer.Exit(1 if problems else 0)


def _doctor_checks() -> list[dict]:
    """Each check as {check, status (ok, warn: a problem, info), detail}."""
    checks = []

    def add(check: str, status: str, detail: str) -> None:
        checks.append({"check": check, "status": status, "detail": detail})

    def must(check: str, ok: bool, detail: str) -> None:
        add(check, "ok" if ok else "warn", detail)

    found = shutil.which("venvguard")
    must("path", found is not None, f"venvguard {__version__} on PATH: {found or 'not found'}")
    add("python", "ok", f"python: {sys.executable} ({sys.version.split()[0]})")
    state = journal.state_dir()
    must("state", _writable(state), f"state directory {show_path(state)} is writable")
    must("proc", os.path.isdir("/proc"), "/proc is there (tools die with a killed supervisor)")
    must("enabled", os.environ.get("VENVGUARD_DISABLE") != "1",
         "VENVGUARD_DISABLE is not set to 1")
    for tool in ("uv", "python3", "virtualenv", "pip", "poetry", "pdm", "hatch", "pipenv",
                 "tox", "nox"):
        where = shutil.which(tool)
        add(f"tool:{tool}", "ok" if where else "info", f"{tool}: {where or 'not on PATH'}")
    for shell, rc in _rc_files().items():
        if shutil.which(shell) is None:
            continue
        found_in = _file_with_init(rc)
        if found_in:
            add(f"shell:{shell}", "ok", f"{shell}: {show_path(found_in)} has the init line")
        else:
            add(f"shell:{shell}", "info", f"{shell}: no init line in {show_path(rc)}")
    return checks


def _writable(directory: str) -> bool:
    probe = directory
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    return os.path.isdir(probe) and os.access(probe, os.W_OK | os.X_OK)


def _rc_files() -> dict[str, str]:
    home = os.path.expanduser("~")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return {
        "bash": os.path.join(home, ".bashrc"),
        "zsh": os.path.join(os.environ.get("ZDOTDIR") or home, ".zshrc"),
        "fish": os.path.join(config, "fish", "config.fish"),
    }


def _file_with_init(rc: str) -> str | None:
    """The rc file (or, for fish, conf.d file) that holds the init line, if any."""
    candidates = [rc]
    if rc.endswith("config.fish"):
        conf_d = os.path.join(os.path.dirname(rc), "conf.d")
        if os.path.isdir(conf_d):
            candidates += sorted(os.path.join(conf_d, n) for n in os.listdir(conf_d))
    for path in candidates:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if "venvguard init" in f.read():
                    return path
        except OSError:
            continue
    return None
