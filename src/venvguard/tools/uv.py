"""uv: which of its commands create or change the project environment, and where it is.

uv's rules (checked against uv 0.13; docs/how-it-works.md):
- project commands use the workspace root's `.venv`; the root is the nearest
  `pyproject.toml` upward from `--project` (or the current directory, after
  `--directory`), or the workspace that lists it as a member;
- `UV_PROJECT_ENVIRONMENT` moves it (a relative value is taken against the
  workspace root); `--active` takes `VIRTUAL_ENV` instead;
- `uv venv [PATH]` makes PATH; without one, the project environment when run at a
  workspace root (so UV_PROJECT_ENVIRONMENT moves it), else `.venv` in the current
  directory;
- sync, add, remove, `version --bump`/`version VALUE` and run create the project
  environment; `--frozen`, `--no-sync`, `--dry-run`, `--check` and `--script` keep
  them off it, as do lock, tree, export and the rest.
`uv run` is guarded only while the environment does not exist yet, and counts as
unfinished only when uv itself dies of a signal: once uv has started the user's
program, a Ctrl-C belongs to that program and the environment is complete.
"""

import os

from venvguard.decision import SIGNAL_DEATH
from venvguard.tools import Plan, absolute
from venvguard.tools.uv_options import VALUE_OPTIONS

# Options valid anywhere (global), and so all that is known for other subcommands.
TOP_LEVEL = VALUE_OPTIONS[""]

PROJECT_COMMANDS = frozenset({"sync", "add", "remove", "version", "run"})
# Commands whose first word is a group: `uv pip install` is the command "pip install".
NESTED = frozenset({"pip", "tool", "python"})
PIP_COMMANDS = frozenset({"pip install", "pip sync", "pip uninstall"})
ELSEWHERE = frozenset({"--target", "-t", "--prefix", "--system"})
REPAIR = "uv sync --reinstall"


class Args:
    """The parts of a uv command line that decide where it works."""

    __slots__ = ("command", "options", "positionals")

    def __init__(self) -> None:
        self.command: str | None = None
        self.options: dict[str, str | None] = {}  # last value wins, as in uv
        self.positionals: list[str] = []  # after the subcommand


def parse(args: list[str]) -> Args:
    """Split a uv command line into subcommand, options and positionals. Which options
    take the next word as their value depends on the subcommand seen so far (`-c` is
    `uv venv`'s --clear flag, but `uv add -c FILE`): uv_options, generated from uv."""
    out = Args()
    takes_value = TOP_LEVEL
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            out.positionals.extend(args[i:])
            break
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.partition("=")
            if not eq and name in takes_value and i < len(args):
                value = args[i]
                i += 1
            out.options[name] = value if (eq or name in takes_value) else None
            continue
        if out.command is None or (out.command in NESTED and not out.positionals):
            out.command = f"{out.command} {arg}" if out.command else arg
            takes_value = VALUE_OPTIONS.get(out.command, TOP_LEVEL)
            continue
        out.positionals.append(arg)
        if out.command == "run":
            break  # the rest is the user's command line, not uv's
    return out


def plan(args: list[str], cwd: str, environ: "os._Environ[str] | dict[str, str]") -> Plan | None:
    parsed = parse(args)
    opts = parsed.options
    command = parsed.command
    directory = opts.get("--directory") or environ.get("UV_WORKING_DIR")
    base = absolute(directory, cwd) if directory else cwd

    if command == "venv":
        if parsed.positionals:
            return Plan([(absolute(parsed.positionals[0], base), "uv")])
        return Plan([(_venv_default(parsed, base, environ), "uv")])

    if command in PIP_COMMANDS:
        env = pip_environment(parsed, base, environ)
        return Plan([(env, "uv")]) if env else None

    if command not in PROJECT_COMMANDS or not _changes_project_env(parsed, base, environ):
        return None
    env = project_environment(parsed, base, environ)
    if env is None:
        return None
    if command == "run":  # nothing to guard once the environment exists
        return Plan([(env, "uv")], policy=SIGNAL_DEATH, repair=REPAIR, create_only=True)
    return Plan([(env, "uv")], repair=REPAIR)


def _flag(parsed: Args, environ, option: str, variable: str) -> bool:
    return option in parsed.options or environ.get(variable, "") not in ("", "0", "false")


def _venv_default(parsed: Args, base: str, environ) -> str:
    """`uv venv` without PATH: the project environment when started at a workspace
    root (so UV_PROJECT_ENVIRONMENT moves it), else `.venv` in the working directory."""
    if not _flag(parsed, environ, "--no-project", "UV_NO_PROJECT"):
        start = _project_start(parsed, base, environ)
        found = find_project(start)
        if found is not None and workspace_root(found) == start:
            return _root_environment(start, environ)
    return os.path.join(base, ".venv")


def _changes_project_env(parsed: Args, base: str, environ) -> bool:
    command = parsed.command
    if "--script" in parsed.options or "--dry-run" in parsed.options:
        return False
    if command == "sync":
        return "--check" not in parsed.options
    if command in ("add", "remove", "version"):
        if _flag(parsed, environ, "--frozen", "UV_FROZEN"):
            return False
        if _flag(parsed, environ, "--no-sync", "UV_NO_SYNC"):
            return False
        if command == "version":  # only bumping or setting the version syncs
            return "--bump" in parsed.options or bool(parsed.positionals)
        return True
    if command == "run":
        if _flag(parsed, environ, "--no-project", "UV_NO_PROJECT"):
            return False
        if _flag(parsed, environ, "--isolated", "UV_ISOLATED"):
            return False
        first = parsed.positionals[0] if parsed.positionals else ""
        return not (first.endswith(".py") and _has_script_metadata(absolute(first, base)))
    return False


def pip_environment(parsed: Args, base: str, environ) -> str | None:
    """The virtual environment `uv pip install|sync|uninstall` changes, found as uv
    finds it: `--python` (or UV_PYTHON) when it is a path (a word naming nothing
    there is a version request) to an environment or its interpreter, else
    VIRTUAL_ENV, else the first `.venv` upward from the working directory. None when
    the work goes elsewhere (`--target`, `--prefix`, `--system` or UV_SYSTEM_PYTHON),
    to a Python found by version, or to anything that is not a virtual environment
    (a conda prefix, a `.venv` with no pyvenv.cfg: uv refuses).
    That environment existed before the run, so it is checked, never removed."""
    if ELSEWHERE & parsed.options.keys() or _flag(parsed, environ, "--system",
                                                   "UV_SYSTEM_PYTHON"):
        return None
    if "--dry-run" in parsed.options:
        return None
    python = parsed.options.get("--python") or parsed.options.get("-p") or \
        environ.get("UV_PYTHON")
    if python:
        found = absolute(python, base)
        if "/" not in python and not os.path.lexists(found):
            return None  # a version request: uv searches for an interpreter
        roots = (found, os.path.dirname(os.path.dirname(found)))
    elif environ.get("VIRTUAL_ENV"):
        roots = (absolute(environ.get("VIRTUAL_ENV"), base),)
    else:
        nearest = _nearest_venv(base)
        roots = (nearest,) if nearest else ()
    for root in roots:
        if os.path.isfile(os.path.join(root, "pyvenv.cfg")):
            return root
    return None


def _nearest_venv(start: str) -> str | None:
    directory = start
    while True:
        candidate = os.path.join(directory, ".venv")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _has_script_metadata(script: str) -> bool:
    """A PEP 723 script runs in its own cached environment, not the project's."""
    try:
        with open(script, encoding="utf-8", errors="replace") as f:
            return any(line.startswith("# /// script") for line in f)
    except OSError:
        return False


def project_environment(parsed: Args, base: str, environ) -> str | None:
    """Where the project environment is, or None when there is no project."""
    if "--active" in parsed.options and "--no-active" not in parsed.options:
        active = environ.get("VIRTUAL_ENV")
        if active:
            return absolute(active, base)
    project_dir = find_project(_project_start(parsed, base, environ))
    if project_dir is None:
        return None
    return _root_environment(workspace_root(project_dir), environ)


def _project_start(parsed: Args, base: str, environ) -> str:
    """Where uv starts looking for the project: --project (or UV_PROJECT), else base."""
    project = parsed.options.get("--project") or environ.get("UV_PROJECT")
    return absolute(project, base) if project else base


def _root_environment(root: str, environ) -> str:
    """A workspace root's environment: UV_PROJECT_ENVIRONMENT (relative: against the
    root), else root/.venv."""
    custom = environ.get("UV_PROJECT_ENVIRONMENT")
    return absolute(custom, root) if custom else os.path.join(root, ".venv")


def find_project(start: str) -> str | None:
    """The nearest directory upward (inclusive) holding a pyproject.toml."""
    directory = start
    while True:
        if os.path.isfile(os.path.join(directory, "pyproject.toml")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def workspace_root(project: str) -> str:
    """The root of the uv workspace that holds `project`: itself, unless a
    pyproject.toml above it declares a workspace whose members include it."""
    if _workspace_table(project) is not None:
        return project
    directory = os.path.dirname(project)
    while True:
        table = _workspace_table(directory)
        if table is not None and _is_member(project, directory, table):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return project
        directory = parent


def _workspace_table(directory: str) -> dict | None:
    """`[tool.uv.workspace]` of directory/pyproject.toml, or None."""
    try:
        with open(os.path.join(directory, "pyproject.toml"), "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if b"workspace" not in raw:  # most files: no TOML parse at all
        return None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return None
    table = data.get("tool", {}).get("uv", {}).get("workspace")
    return table if isinstance(table, dict) else None


def _is_member(project: str, root: str, table: dict) -> bool:
    import glob

    def matches(patterns: object) -> bool:
        if not isinstance(patterns, list):
            return False
        for pattern in patterns:
            if isinstance(pattern, str):
                for hit in glob.glob(os.path.join(glob.escape(root), pattern)):
                    if os.path.normpath(hit) == project:
                        return True
        return False

    return matches(table.get("members")) and not matches(table.get("exclude"))
