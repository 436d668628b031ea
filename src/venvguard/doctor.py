"""`venvguard doctor`: check the installation (PATH, state directory, /proc, the
shell it is typed in, cached snippets, runs cut short, environments kept broken,
tools, shells' init lines), one line per check or one JSON object; exit 1 on a
problem.

A process cannot look into the shell that started it: the snippets define a
`venvguard` function that hands `doctor` what the shell knows, in
VENVGUARD_SHELL_STATE, as the script `venvguard _shell-state SHELL VERSION` prints
(shell/state.SHELL) says it: tab-separated lines, shell, pid, version, hook, then
`name NAME KIND WHERE` for each name it wraps (KIND: venvguard, function or none)
and `alias NAME VALUE`. The script is kept out of the snippet, which every shell
start reads, and run only by `venvguard doctor`.

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
        out.append(_check(check, status, detail))

    def must(check: str, ok: bool, detail: str) -> None:
        add(check, "ok" if ok else "warn", detail)

    found = shutil.which("venvguard")
    me = this_command()
    if found and me and os.path.realpath(found) != me:
        add("path", "warn", f"venvguard on PATH is {found}, not this one ({me}): "
            "shells run that one")
    else:
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
    told = os.environ.get("VENVGUARD_SHELL_STATE")  # by the shell's venvguard function
    if told is not None:
        out += this_shell(parse_state(told))
    else:
        out.append(no_shell_state(parent_shell()))
    skipped = os.environ.get("VENVGUARD_SKIPPED", "").split()
    if skipped and told is None:  # the snippet's: a function of the user's has the name
        add("skipped", "warn", f"not wrapped in this shell: {', '.join(skipped)}: a "
            "function of yours has that name, so its calls are not guarded; rename it, "
            f"or have it call `venvguard exec -- {skipped[0]} \"$@\"`")
    out += cache_checks() + leftover_checks()
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


def shell_state_main(args: list[str]) -> int:
    """`venvguard _shell-state SHELL VERSION`: the script (shell/state.SHELL) that the
    snippet's `venvguard` function runs to tell doctor what the shell has loaded,
    with the snippet's VERSION in it."""
    from venvguard import init
    from venvguard.messages import say

    if len(args) != 2 or args[0] not in init.SHELLS:
        say("usage: venvguard _shell-state bash|zsh|fish VERSION")
        return 2
    shell, version = args
    if not version or not all(c.isalnum() or c in ".+-_" for c in version):
        version = "?"  # it goes inside '...' in the script
    with open(os.path.join(init.SHELL_DIR, f"state.{shell}"), encoding="utf-8") as f:
        sys.stdout.write(f.read().replace(init.VERSION, version, 1))
    return 0


def this_command() -> str | None:
    """This venvguard's command, resolved; None under `python -m venvguard`."""
    if os.path.basename(sys.argv[0]) != "venvguard":
        return None
    return os.path.realpath(sys.argv[0])


def parse_state(text: str) -> dict:
    """VENVGUARD_SHELL_STATE as {shell, pid, version, hook, names: [(name, kind,
    where)], aliases: {name: value}}; lines it does not know are passed over."""
    state: dict = {"names": [], "aliases": {}}
    for line in text.splitlines():
        key, _, rest = line.partition("\t")
        if key == "name":
            name, kind, where = [*rest.split("\t", 2), "", ""][:3]
            state["names"].append((name, kind, where))
        elif key == "alias":
            name, _, value = rest.partition("\t")
            state["aliases"][name] = value
        elif key in ("shell", "pid", "version", "hook"):
            state[key] = rest
    return state


def this_shell(state: dict) -> list[dict]:
    """What the shell `doctor` was typed in has loaded: the snippet (of this
    version?), the prompt hook, and what stands behind each name it wraps."""
    shell = state.get("shell", "?")
    program = shell.split()[0]
    where = f"this shell ({shell}, pid {state.get('pid', '?')})"
    out = []
    if state.get("version") == __version__:
        out.append(_check("shell", "ok", f"{where} has venvguard's snippet loaded"))
    else:
        out.append(_check("shell", "warn", f"{where} runs the snippet of venvguard "
                          f"{state.get('version', '?')}, and this is {__version__}: start a "
                          f"new shell (exec {program}) to load this one"))
    if state.get("hook") == "yes":
        out.append(_check("hook", "ok", "prompt hook in place: a run cut short (kill -9, "
                          "a closed terminal) is settled at the next prompt"))
    else:
        out.append(_check("hook", "warn", "prompt hook missing in this shell (something "
                          "after the init line reset it): runs cut short wait for "
                          "`venvguard clean`"))
    ours = []
    for name, kind, found in state["names"]:
        alias = state["aliases"].get(name)
        if alias is not None and alias.split()[:1] != [name]:
            out.append(_check(f"wrap:{name}", "info", f"{name}: an alias for `{alias}`: "
                              "it runs that, guarded if that is"))
        elif kind == "venvguard":
            ours.append(name)
        elif kind == "function":
            out.append(_check(f"wrap:{name}", "warn", f"{name}: a function of yours "
                              f"({found or 'defined here'}) stands in for venvguard's wrapper: "
                              f"its calls are not guarded; have it call `venvguard exec -- "
                              f"{name} ...`"))
        else:  # removed after the init line; a problem only if the command is there
            out.append(_check(f"wrap:{name}", "warn" if found else "info",
                              f"{name}: not wrapped in this shell (something removed the "
                              f"wrapper){f', so {found} runs unguarded' if found else ''}"))
    out.append(_check("wrapped", "ok", "wrapped in this shell: " + (", ".join(ours) or
                                                                     "nothing")))
    return out


def no_shell_state(parent: tuple[str, int] | None) -> dict:
    """The shell check when no snippet answered: a problem if doctor was typed in an
    interactive shell (which then has no venvguard loaded)."""
    if parent is None:
        return _check("shell", "info", "not typed in an interactive shell: type "
                      "`venvguard doctor` in yours to check what it has loaded")
    name, pid = parent
    return _check("shell", "warn", f"this {name} (pid {pid}) has no venvguard loaded: "
                  "no wrappers, no prompt hook (see the init line checks below)")


def parent_shell() -> tuple[str, int] | None:
    """(name, pid) of the interactive bash, zsh or fish doctor was typed in, if it was."""
    pid = os.getppid()
    try:
        interactive = sys.stdin.isatty()
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            name = f.read().strip()
    except (OSError, ValueError):
        return None
    return (name, pid) if interactive and name in ("bash", "zsh", "fish") else None


def cache_checks() -> list[dict]:
    """Each cached snippet (`venvguard init SHELL --cache`): is it what this
    venvguard writes?"""
    from venvguard import init

    out = []
    for shell in init.SHELLS:
        path = os.path.join(init.cache_dir(), f"init.{shell}")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if cache_is_current(shell, text):
            out.append(_check(f"cache:{shell}", "ok",
                              f"cached {shell} snippet {show_path(path)} is current"))
        else:
            out.append(_check(f"cache:{shell}", "info", f"cached {shell} snippet "
                              f"{show_path(path)} is not this venvguard's: the next {shell} "
                              "start rewrites it"))
    return out


def cache_is_current(shell: str, text: str) -> bool:
    """Whether a cached snippet is what this venvguard writes for the python3.N and
    the PATH it was made with (read back from its header's quoted words)."""
    import re

    from venvguard import init

    if shell == "fish":  # '...' with \\ and \' inside
        word, unquote = r"'((?:[^'\\]|\\.)*)'", lambda s: re.sub(r"\\(.)", r"\1", s)
    else:  # '...' with '\'' for a quote
        word, unquote = r"'((?:[^']|'\\'')*)'", lambda s: s.replace("'\\''", "'")
    found = re.search(rf"__venvguard_cache_stale {word} {word}", text)
    if found is None:
        return False
    # the header lists them sorted as words; the snippet wraps them in version order
    pythons = sorted(unquote(found[1]).split(), key=lambda name: int(name.rpartition(".")[2]))
    return text == init.cached_text(shell, pythons, unquote(found[2]))


def leftover_checks() -> list[dict]:
    """Runs cut short and not settled yet, and environments kept broken or
    incomplete: each a problem until settled or repaired."""
    from venvguard import kept, status

    runs = [status.entry_state(path) for path in journal.listing()]
    short = [run for run in runs if run["state"] in ("cut-short", "unreadable")]
    live = sum(run["state"] == "running" for run in runs)
    under_way = f" ({live} under way)" if live else ""
    if short:
        runs_check = _check("runs", "warn", f"{len(short)} run{'s' * (len(short) > 1)} cut "
                            f"short and not settled yet{under_way}: `venvguard clean` settles "
                            "them (the prompt hook does, at the next prompt)")
    else:
        runs_check = _check("runs", "ok", f"no run cut short and left unsettled{under_way}")
    records = kept.prune()
    if records:
        paths = ", ".join(show_path(record["path"]) for record in records)
        kept_check = _check("kept", "warn", f"kept broken or incomplete: {paths}: "
                            "`venvguard status` says how to repair each")
    else:
        kept_check = _check("kept", "ok", "no environment kept broken or incomplete")
    return [runs_check, kept_check]


def _check(check: str, status: str, detail: str) -> dict:
    return {"check": check, "status": status, "detail": detail}
