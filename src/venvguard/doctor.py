"""`venvguard doctor`: check the installation (PATH, state directory, /proc, tools,
shells' init lines), one line per check or one JSON object; exit 1 on a problem.

Standard library only: entry.py runs it without typer, whose import (pydantic
with it) costs a quarter of a second where no bytecode is written, as under
`uv tool install`; a doctor must start fast where starting is the problem.
cli.py declares the command, for --help, and calls run().
"""

import os
import shutil
import sys

from venvguard import __version__, journal
from venvguard.messages import show_path

FLAGS = ("--json",)  # exactly the options cli.doctor declares (a test holds them equal)
TOOLS = ("uv", "python3", "virtualenv", "pip", "poetry", "pdm", "hatch", "pipenv", "tox", "nox")


def main(args: list[str]) -> int:
    """`venvguard doctor [--json]`; entry.py passes only FLAGS, typer gets the rest."""
    return run(as_json="--json" in args)


def run(*, as_json: bool = False) -> int:
    found = checks()
    problems = sum(check["status"] == "warn" for check in found)
    if as_json:
        import json

        sys.stdout.write(json.dumps({"ok": not problems, "checks": found}, indent=2) + "\n")
    else:
        sys.stdout.write("".join(
            f"{check['status'] if check['status'] != 'warn' else 'WARN':<4}  {check['detail']}\n"
            for check in found
        ))
    return 1 if problems else 0


def checks() -> list[dict]:
    """Each check as {check, status (ok, warn: a problem, info), detail}."""
    out = []

    def add(check: str, status: str, detail: str) -> None:
        out.append({"check": check, "status": status, "detail": detail})

    def must(check: str, ok: bool, detail: str) -> None:
        add(check, "ok" if ok else "warn", detail)

    found = shutil.which("venvguard")
    must("path", found is not None, f"venvguard {__version__} on PATH: {found or 'not found'}")
    add("python", "ok", f"python: {sys.executable} ({sys.version.split()[0]})")
    state = journal.state_dir()
    must("state", writable(state), f"state directory {show_path(state)} is writable")
    must("proc", os.path.isdir("/proc"), "/proc is there (tools die with a killed supervisor)")
    must("enabled", os.environ.get("VENVGUARD_DISABLE") != "1",
         "VENVGUARD_DISABLE is not set to 1")
    from venvguard import config

    settings = config.load()
    must("config", settings.problem is None, settings.problem or "settings: "
         + ("the defaults" if set(settings.source.values()) == {"default"}
            else f"from {', '.join(sorted(set(settings.source.values()) - {'default'}))}"))
    skipped = os.environ.get("VENVGUARD_SKIPPED", "").split()
    if skipped:  # the snippet's: a function of the user's has the name
        add("skipped", "warn", f"not wrapped in this shell: {', '.join(skipped)}: a "
            "function of yours has that name, so its calls are not guarded; rename it, "
            f"or have it call `venvguard exec -- {skipped[0]} \"$@\"`")
    for tool in TOOLS:
        where = shutil.which(tool)
        add(f"tool:{tool}", "ok" if where else "info", f"{tool}: {where or 'not on PATH'}")
    for shell, rc in rc_files().items():
        if shutil.which(shell) is None:
            continue
        found_in = file_with_init(rc)
        if found_in:
            add(f"shell:{shell}", "ok", f"{shell}: {show_path(found_in)} has the init line")
        else:
            add(f"shell:{shell}", "info", f"{shell}: no init line in {show_path(rc)}")
    return out


def writable(directory: str) -> bool:
    probe = directory
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    return os.path.isdir(probe) and os.access(probe, os.W_OK | os.X_OK)


def rc_files() -> dict[str, str]:
    home = os.path.expanduser("~")
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return {
        "bash": os.path.join(home, ".bashrc"),
        "zsh": os.path.join(os.environ.get("ZDOTDIR") or home, ".zshrc"),
        "fish": os.path.join(config, "fish", "config.fish"),
    }


def file_with_init(rc: str) -> str | None:
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
