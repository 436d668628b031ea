"""poetry: which of its commands create or change the project environment, and where it is.

poetry's rules (checked against poetry 2.5.1):
- the project is the nearest `pyproject.toml` upward from `-P/--project` (against
  `-C/--directory`) or the working directory (console/application.py,
  poetry.core Factory.locate); none: nothing of poetry's to guard;
- every EnvCommand (install, sync, add, remove, update, lock, run, env use, shell)
  first gets or creates the environment (Application.configure_env ->
  EnvManager.create_venv), so lock, `--dry-run` and run/shell create it when missing;
- EnvManager.get: an active VIRTUAL_ENV/CONDA_PREFIX (not conda's base) is used unless
  the project has an entry in `<virtualenvs.path>/envs.toml`; else an existing `.venv`
  directory (unless virtualenvs.in-project is false); else, with virtualenvs.create,
  `<virtualenvs.path>/<name>-<hash>-py<X.Y>` (generate_env_name: the lowered name with
  ` $`!*@"\\` and whitespace as `_`, 42 characters, then 8 characters of the urlsafe
  base64 sha256 of the project's real path); without it, the system environment;
- EnvManager.create_venv makes `.venv` when virtualenvs.in-project is true (or unset
  and `.venv` is a directory), else the central one; X.Y is the envs.toml `minor`, or
  that of the interpreter Python.get_preferred_python picks, which only running it
  tells: every 3.N is then a target, and only the one poetry makes is ever there
  (an existing central one, even with virtualenvs.in-project, is used as it is);
- settings as Config.get reads them: POETRY_<KEY> variables (booleans: "true"/"1"),
  the project's poetry.toml, `$POETRY_CONFIG_DIR/config.toml` (default
  `$XDG_CONFIG_HOME/pypoetry`), the defaults; `{cache-dir}` in a value is that
  setting (default `$XDG_CACHE_HOME/pypoetry`).
poetry runs the user's program with os.execvpe (run), so run and shell count as
unfinished only when poetry dies of the signal.
"""

import os
import re

from venvguard.decision import SIGNAL_DEATH
from venvguard.tools import Plan, absolute

CHANGING = frozenset({"install", "sync", "add", "remove", "update"})
HANDING_OVER = frozenset({"run", "shell"})
MINORS = tuple(f"3.{minor}" for minor in range(7, 17))
# cleo's global options that take a value; --help/--version print and exit.
GLOBAL_VALUES = frozenset({"-C", "--directory", "-P", "--project"})
QUITS = frozenset({"-h", "--help", "-V", "--version"})
BOOLEANS = frozenset({"virtualenvs.create", "virtualenvs.in-project"})
DEFAULTS = {"virtualenvs.create": True, "virtualenvs.in-project": None,
            "virtualenvs.path": "{cache-dir}/virtualenvs"}


def parse(args: list[str]):
    """(words, options): the positionals before `--` and the -C/-P values, or None for
    --help/--version. Command options are flags to cleo unless they take a value; only
    the first two words matter here, which no command option before them can hide in
    poetry's own routing (the shell routes on the first word)."""
    words: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg in QUITS:
            return None
        name, eq, value = arg.partition("=")
        if name in GLOBAL_VALUES:
            if not eq:
                if i >= len(args):
                    return None
                value = args[i]
                i += 1
            options[{"-C": "--directory", "-P": "--project"}.get(name, name)] = value
            continue
        if arg.startswith("-") and len(arg) > 1:
            if arg[1] in "CP":  # -CDIR, -PDIR
                options["--directory" if arg[1] == "C" else "--project"] = arg[2:]
            continue
        words.append(arg)
        if words[0] in HANDING_OVER:
            break  # the rest is the user's program
    return words, options


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    if parsed is None or not parsed[0]:
        return None
    words, options = parsed
    command = words[0]
    if command == "env":
        if words[1:2] != ["use"]:
            return None
        command = "env use"
    elif command not in CHANGING | HANDING_OVER | {"lock"}:
        return None
    root = _project_root(options, cwd)
    if root is None:
        return None
    settings = Settings(root, environ, cwd)
    name = _package_name(root)
    if name is None:
        return None
    base = generate_env_name(name, root)
    minor = _envs_minor(settings, base)
    if command == "env use":
        return _plan_env_use(words[2:], root, settings, base)
    existing = _existing_environment(root, settings, base, minor, environ, cwd)
    create_only = command == "lock" or "--dry-run" in args or command in HANDING_OVER
    if existing is False:
        return None
    if existing is not None:
        return None if create_only else Plan([(existing, "virtualenv")])
    targets = _to_create(root, settings, base, minor)
    if command in HANDING_OVER:
        return Plan(targets, policy=SIGNAL_DEATH, create_only=True)
    return Plan(targets, create_only=create_only)


# --- the project -------------------------------------------------------------------


def _project_root(options: dict[str, str], cwd: str) -> str | None:
    """Application: --directory is the working directory, --project (against it) the
    project directory; Factory.locate finds pyproject.toml from there upward."""
    directory = absolute(options.get("--directory", "."), cwd)
    start = absolute(options["--project"], directory) if "--project" in options else directory
    while True:
        if os.path.isfile(os.path.join(start, "pyproject.toml")):
            return start
        parent = os.path.dirname(start)
        if parent == start:
            return None
        start = parent


def _toml(path: str) -> dict | None:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _package_name(root: str) -> str | None:
    """poetry.core Factory: [project] name, else [tool.poetry] name, else
    "non-package-mode"; None when pyproject.toml does not read."""
    data = _toml(os.path.join(root, "pyproject.toml"))
    if data is None:
        return None
    project = data.get("project")
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    name = project.get("name") if isinstance(project, dict) else None
    if not name and isinstance(poetry, dict):
        name = poetry.get("name")
    name = name or "non-package-mode"
    return name if isinstance(name, str) else None


def generate_env_name(name: str, root: str) -> str:
    """EnvManager.generate_env_name."""
    import base64
    import hashlib

    sanitized = re.sub(r'[ $`!*@"\\\r\n\t]', "_", name.lower())[:42]
    digest = hashlib.sha256(os.path.realpath(root).encode()).digest()
    return f"{sanitized}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


# --- settings ----------------------------------------------------------------------


def _home(environ) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def _xdg(environ, variable: str, default: str) -> str:
    """platformdirs (Unix): $XDG_* when set and not blank, else the default in HOME."""
    value = environ.get(variable, "")
    return value if value.strip() else os.path.join(_home(environ), default)


class Settings:
    """Config.get over POETRY_* variables, poetry.toml and the user config.toml."""

    def __init__(self, root: str, environ, cwd: str) -> None:
        self.environ = environ
        self.cwd = cwd
        config_dir = environ.get("POETRY_CONFIG_DIR") or os.path.join(
            _xdg(environ, "XDG_CONFIG_HOME", ".config"), "pypoetry")
        self.layers = [_toml(os.path.join(root, "poetry.toml")) or {},
                       _toml(os.path.join(config_dir, "config.toml")) or {}]

    def get(self, key: str):
        variable = "POETRY_" + key.upper().replace(".", "_").replace("-", "_")
        value = self.environ.get(variable)
        if value is not None:
            if key in BOOLEANS:
                return value.lower() in ("true", "1")
        else:
            value = DEFAULTS.get(key)
            for layer in self.layers:
                found = _dotted(layer, key)
                if found is not None:
                    value = found
                    break
        if key == "cache-dir" and value is None:
            value = os.path.join(_xdg(self.environ, "XDG_CACHE_HOME", ".cache"), "pypoetry")
        if isinstance(value, str) and key != "cache-dir":  # Config.process
            value = re.sub(r"{(.+?)}", lambda m: str(self.get(m.group(1))), value)
        return value

    def virtualenvs_path(self) -> str:
        """Config.virtualenvs_path, `~` expanded, a relative one against the working
        directory."""
        path = str(self.get("virtualenvs.path"))
        if path == "~" or path.startswith("~/"):
            path = _home(self.environ) + path[1:]
        return absolute(path, self.cwd)


def _dotted(layer: dict, key: str):
    value = layer
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# --- environments ------------------------------------------------------------------


def _envs_minor(settings: Settings, base: str) -> str | None:
    """EnvsFile: the `minor` recorded by `env use` for this project, if any."""
    data = _toml(os.path.join(settings.virtualenvs_path(), "envs.toml")) or {}
    entry = data.get(base)
    minor = entry.get("minor") if isinstance(entry, dict) else None
    return minor.strip() if isinstance(minor, str) else None


def _in_project(root: str, settings: Settings) -> bool:
    """EnvManager.use_in_project_venv."""
    value = settings.get("virtualenvs.in-project")
    if value is not None:
        return bool(value)
    return os.path.isdir(os.path.join(root, ".venv"))


def _existing_environment(root, settings, base, minor, environ, cwd):
    """EnvManager.get: the path of the environment poetry uses; False for the
    system environment or when it cannot be told (nothing to guard); None when poetry
    creates one. With no envs.toml entry poetry takes `<base>-py<X.Y>` of the python it
    finds: one such environment there is taken for it (when it is another python's,
    poetry makes a new one unguarded: never a wrong removal); several: unsure."""
    active = environ.get("VIRTUAL_ENV")
    if active is None:
        active = environ.get("CONDA_PREFIX")
    if active and environ.get("CONDA_DEFAULT_ENV") != "base" and minor is None:
        return absolute(active, cwd)
    venv = os.path.join(root, ".venv")
    if settings.get("virtualenvs.in-project") is not False and os.path.isdir(venv):
        return venv
    if not settings.get("virtualenvs.create"):
        return False
    location = settings.virtualenvs_path()
    if minor is not None:
        central = os.path.join(location, f"{base}-py{minor}")
        return central if os.path.exists(central) else None
    found = [env for env in (os.path.join(location, f"{base}-py{m}") for m in MINORS)
             if os.path.exists(env)]
    if len(found) > 1:
        return False  # which one poetry takes depends on the python it finds: unsure
    return found[0] if found else None


def _to_create(root, settings, base, minor):
    if _in_project(root, settings):
        return [(os.path.join(root, ".venv"), "virtualenv")]
    location = settings.virtualenvs_path()
    return [(os.path.join(location, f"{base}-py{m}"), "virtualenv")
            for m in ((minor,) if minor else MINORS)]


def _plan_env_use(rest, root, settings, base):
    """EnvManager.activate: `.venv` (in-project) or `<base>-py<X.Y>` of the named
    python, created when missing (or recreated for another patch version)."""
    if not settings.get("virtualenvs.create"):
        return None
    python = rest[0] if rest else ""
    named = re.fullmatch(r"(?:python)?(3\.\d+)", python)
    return Plan(_to_create(root, settings, base, named.group(1) if named else None))
