"""The typer CLI: repair, scan, and help for everything.

`init`, `completion`, `exec`/`run`, the prompt hook's `_settle`, `--version`, and `status`,
`clean`, `doctor`, `config` with only their own options are dispatched in entry.py without
importing typer (a quarter of a second where no bytecode is written); they are
declared here too so that `venvguard --help` lists them, `venvguard CMD --help`
explains them and a wrong option gets typer's usage error. The commands here call
the same functions entry.py does (status.run, clean.run, doctor.run, config.main).
"""

import enum
import os
import sys
from pathlib import Path

import typer

from venvguard import __version__, journal, kept
from venvguard.messages import say, show_path

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: no `<bool>` after flags, and no rich to import
    help="Ctrl-C during uv sync or python -m venv leaves no half-made environment behind.",
    context_settings={"help_option_names": ["-h", "--help"]},
)




class Shell(enum.StrEnum):
    """The shells, as an argument type: --help shows `SHELL <bash|zsh|fish>`, where a
    plain str would show `<str>`."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"



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
def init(
    shell: Shell = typer.Argument(None, metavar="SHELL", help="Guessed when left out."),
    cache: bool = typer.Option(False, "--cache", help="Write the snippet to "
                               "~/.cache/venvguard/init.SHELL and print the line that "
                               "sources it: shell start-up then starts no process."),
):
    """Print the shell integration for your rc file.

    Example: venvguard init zsh, as eval "$(venvguard init zsh)" in ~/.zshrc (fish:
    venvguard init fish | source, in config.fish)
    """
    from venvguard import init as init_module

    raise typer.Exit(init_module.main([*([shell.value] if shell else []),
                                       *(["--cache"] * cache)]))


@app.command()
def completion(
    shell: Shell = typer.Argument(None, metavar="SHELL", help="Guessed when left out."),
):
    """Print venvguard's completion script for a shell (install.sh puts it in place).

    Example: venvguard completion fish > ~/.config/fish/completions/venvguard.fish
    """
    from venvguard import completion as completion_module

    raise typer.Exit(completion_module.main([shell.value] if shell else []))


EXEC_HELP = (
    "Run a command under watch. For scripts, Makefiles and CI."
    "\n\nRemoves an environment the command created if it is interrupted or fails; keeps "
    "(and reports) one that existed before. Exit status and signals are the command's."
    "\n\nExample: venvguard exec -- uv sync --frozen"
)


EXEC_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
EXEC_USAGE = "-- COMMAND [ARGS]..."


@app.command("exec", help=EXEC_HELP, context_settings=EXEC_SETTINGS, options_metavar=EXEC_USAGE)
def exec_(ctx: typer.Context):
    from venvguard import supervisor

    supervisor.main(ctx.args)


app.command(
    "run", help="The same as exec.\n\nExample: venvguard run -- poetry install",
    context_settings=EXEC_SETTINGS, options_metavar=EXEC_USAGE,
)(exec_)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
):
    """List runs that are under way or were cut short, and environments kept incomplete.

    Example: venvguard status --json | jq '.kept[] | select(.state == "broken") | .path'
    """
    from venvguard import status as status_module  # entry.py calls it without typer

    raise typer.Exit(status_module.run(as_json=as_json))


@app.command()
def repair(
    environment: Path = typer.Argument(None, metavar="PATH", file_okay=False,
                                       help="The environment; by default "
                                       "the broken one of the project you are in."),
):
    """Run the command that repairs a broken environment, then check it whole again.

    Example: venvguard repair .venv
    """
    path = None if environment is None else str(environment)
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
    directory: Path = typer.Argument(".", metavar="DIRECTORY", show_default=False,
                                     file_okay=False,
                                    help="Where to look (default: here)."),
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
    from venvguard import settle

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
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts: "
                                 "what was (would be) done to each environment, and why."),
):
    """Settle runs that were cut short (kill -9, a crash, a reboot), as the prompt hook does.

    Example: venvguard clean -n --json | jq -r '.settled[].targets[] | .action'
    """
    from venvguard import clean as clean_module  # entry.py calls it without typer

    raise typer.Exit(clean_module.run(dry_run=dry_run, as_json=as_json))


@app.command("config")
def config_(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
):
    """Show the effective settings and where each came from (the default,
    config.toml, or a VENVGUARD_* variable); exit 1 if one could not be used.

    Example: venvguard config --json | jq -r '.settings.quiet.source'
    """
    from venvguard import config

    raise typer.Exit(config.main(["--json"] if as_json else []))


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
):
    """Check the installation: PATH, state directory, tools and shells; exit 1 on a problem.

    Example: venvguard doctor --json | jq -r '.checks[] | select(.status == "warn") | .detail'
    """
    from venvguard import doctor as doctor_module  # entry.py calls it without typer

    raise typer.Exit(doctor_module.run(as_json=as_json))
