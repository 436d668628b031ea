"""hatch: which of its commands create an environment, and where it is.

hatch's rules (checked against hatch 1.18, hatch/cli/__init__.py, hatch/project/core.py
Project.get_environment and prepare_environment, hatch/env/virtual.py
VirtualEnvironment.__init__):
- the project is `-p/--project` (HATCH_PROJECT: the config's [projects] table, else a
  directory of that name in dirs.project), else the nearest pyproject.toml or setup.py
  above the working directory (its real path), or the config's `project` in mode
  "project" (and in mode "aware" outside any project);
- the environment named by `-e/--env` (HATCH_ENV, else HATCH_ENV_ACTIVE, else
  "default"), `run ENV:cmd`, `env create ENV`, `shell ENV`, or hatch-test's matrix for
  `test`, configured in [tool.hatch.envs] and hatch.toml (templates, matrices);
- a `virtual` environment is at its `path` option (HATCH_ENV_TYPE_VIRTUAL_PATH; a
  relative one against the project root, resolved), else
  `<env dir>/<project name>/<id>/<name>` where the env dir is [dirs.env] `virtual` of
  hatch's config.toml (relative: against the project root) or
  `<data dir>/env/virtual`, <id> is the first 8 characters of the urlsafe base64
  sha256 of the root, and <name> the project's normalised name for "default", else
  the environment's own; a base inside the project (or ~/.virtualenvs) holds
  `<base>/<name>` directly. Other environment types are not guarded;
- hatch makes it with virtualenv, or with uv (`installer = "uv"`, `uv-path`).
`env create` makes every environment it names that is missing and only that
(ANY_FAILURE); `run`, `env run`, `shell` and `test` are guarded only while they have
the environment to create, and count as unfinished only when hatch dies of the
signal: once hatch runs the user's program it ignores SIGINT and exits with the
program's status. hatch catches Ctrl-C itself (click's "Aborted!", status 1) and
leaves the half-made environment; it removes one only on an exception of its own.
"""

import os

from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH
from venvguard.tools import Plan, absolute

# hatch's root options (hatch/cli/__init__.py): those taking a value, and the flags.
ROOT_VALUES = {"-e": "--env", "--env": "--env", "-p": "--project", "--project": "--project",
               "--data-dir": "--data-dir", "--cache-dir": "--cache-dir", "--config": "--config"}
ROOT_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "--color", "--no-color",
                        "--interactive", "--no-interactive"})
# `env run`'s options with a value (hatch/cli/env/run.py), `test`'s (cli/test).
ENV_RUN_VALUES = frozenset({"-e", "--env", "-i", "--include", "-x", "--exclude", "-f",
                            "--filter"})
ENV_RUN_FLAGS = frozenset({"--force-continue", "--ignore-compat"})
TEST_VALUES = frozenset({"--retries", "--retry-delay", "--cover-xml-output", "--python", "-py",
                         "--include", "-i", "--exclude", "-x"})
# Options an override may set that move or retype an environment: not followed.
LOCATING = frozenset({"type", "path", "installer", "uv-path", "matrix-name-format"})

# hatch/env/internal/test.py get_default_config: the one internal environment followed
# (the others, for builds, fmt, check and uv, are not guarded).
HATCH_TEST = {
    "installer": "uv",
    "dependencies": [
        "coverage-enable-subprocess==1.0", "coverage[toml]~=7.11", "pytest~=9.0",
        "pytest-mock~=3.12", "pytest-randomly~=3.15", "pytest-rerunfailures~=14.0",
        "pytest-xdist[psutil]~=3.5",
    ],
    "matrix": [{"python": ["3.15", "3.15t", "3.14", "3.14t", "3.13", "3.12", "3.11", "3.10"]}],
}
INTERNAL = ("hatch-build", "hatch-check-code", "hatch-check-fmt", "hatch-check-types",
            "hatch-static-analysis", "hatch-test", "hatch-uv")
UNKNOWN = "\0unknown"  # a key marking an environment whose settings are not followed


class Args:
    """A hatch command line as click reads it."""

    __slots__ = ("command", "config", "data_dir", "env", "project", "quits", "rest")

    def __init__(self) -> None:
        self.command: str | None = None
        self.env: str | None = None
        self.project: str | None = None
        self.data_dir: str | None = None
        self.config: str | None = None
        self.quits = False  # --version, -h/--help, an unknown option: hatch does no work
        self.rest: list[str] = []


def parse(args: list[str]) -> Args:
    """The root options up to the subcommand (a click group takes none after it)."""
    out = Args()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            if i < len(args):
                out.command, out.rest = args[i], args[i + 1:]
            return out
        if not arg.startswith("-") or arg == "-":
            out.command, out.rest = arg, args[i:]
            return out
        found, i = _options(arg, args, i, ROOT_VALUES, ROOT_FLAGS)
        if found is None:
            out.quits = True
            return out
        for name, value in found:
            if name in ("--env", "--project", "--data-dir", "--config"):
                setattr(out, name[2:].replace("-", "_"), value)
    return out


def _options(arg: str, args: list[str], i: int, values, flags):
    """click's reading of one option word: `--name=value`, `--name value`, `-xVALUE`,
    `-abx VALUE`; (name, value) pairs and the next index, or None for --help,
    --version or an unknown option."""
    if arg.startswith("--") or arg in values or arg in flags:
        name, eq, value = arg.partition("=")
        if name in values:
            if eq:
                return [(values[name] if isinstance(values, dict) else name, value)], i
            if i >= len(args):
                return None, i
            return [(values[name] if isinstance(values, dict) else name, args[i])], i + 1
        if name in flags and not eq:
            return [(name, None)], i
        return None, i
    found = []
    for k in range(1, len(arg)):
        short = "-" + arg[k]
        if short in values:
            rest = arg[k + 1:]
            if rest:
                found.append((values[short] if isinstance(values, dict) else short, rest))
            elif i < len(args):
                found.append((values[short] if isinstance(values, dict) else short, args[i]))
                i += 1
            else:
                return None, i
            return found, i
        if short not in flags:
            return None, i
        found.append((short, None))
    return found, i


def _read_command(rest: list[str], values, flags, *, interspersed: bool = True):
    """A subcommand's options and positionals; None on help or an unknown option."""
    options: list[tuple[str, str | None]] = []
    positionals: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg == "--":
            positionals.extend(rest[i:])
            break
        if arg.startswith("-") and arg != "-" and (interspersed or not positionals):
            found, i = _options(arg, rest, i, values, flags)
            if found is None:
                return None
            options.extend(found)
            continue
        positionals.append(arg)
    return options, positionals


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    if parsed.quits or parsed.command is None:
        return None
    command, rest = parsed.command, parsed.rest
    if command == "env":
        if not rest or rest[0] not in ("create", "run"):
            return None
        command, rest = "env " + rest[0], rest[1:]
    if command not in ("env create", "env run", "run", "shell", "test"):
        return None
    names = _requested(command, rest, parsed, environ, cwd)
    if names is None:
        return None
    app = App(parsed, cwd, environ)
    if app.root is None:
        return None
    envs = Environments(app)
    if command == "env create" or command == "env run":
        expanded = envs.expand(names[0]) if command == "env create" else \
            [e for name in names for e in envs.expand(name)]
    elif command == "shell":
        if names[0] in envs.matrices or (
                names[0] == app.env_active and names[0] is not None):
            return None  # hatch refuses: a matrix, or the environment it runs in
        expanded = [names[0]] if names[0] in envs.config else []
    elif command == "test":
        expanded = envs.expand("hatch-test")
        if expanded == ["hatch-test"]:
            return None
    else:
        expanded = envs.expand(names[0])
    if not expanded:
        return None
    targets = []
    for name in expanded:
        target = envs.target(name)
        if target is None:
            return None
        targets.append(target)
    if command == "env create":
        return Plan(targets, policy=ANY_FAILURE)
    return Plan(targets, policy=SIGNAL_DEATH, create_only=True)


def _requested(command: str, rest: list[str], parsed: Args, environ, cwd: str):
    """The environment names a command asks for (matrices unexpanded), or None when it
    does no work hatch's way (help, --show, a script, `system`)."""
    if command == "env create":
        read = _read_command(rest, {}, frozenset())
        if read is None or len(read[1]) > 1:
            return None
        return [read[1][0] if read[1] else "default"]
    if command == "shell":
        read = _read_command(rest, frozenset({"--name", "--path"}), frozenset())
        if read is None or len(read[1]) > 1:
            return None
        return [read[1][0] if read[1] else _app_env(parsed, environ)]
    if command == "test":
        i = 0  # ignore_unknown_options: any other word is pytest's
        while i < len(rest) and rest[i] != "--":
            word = rest[i].partition("=")[0]
            if word in ("-h", "--help", "-s", "--show"):
                return None  # information only
            i += 2 if word in TEST_VALUES and "=" not in rest[i] else 1
        return ["hatch-test"]
    if command == "env run":
        read = _read_command(rest, ENV_RUN_VALUES, ENV_RUN_FLAGS)
        if read is None or not read[1]:
            return None
        names = [v for name, v in read[0] if name in ("-e", "--env")]
        if "--filter" in (n for n, _v in read[0]) or "-f" in (n for n, _v in read[0]):
            return None  # a JSON filter over matrix variables: not followed
        if not names:
            names = [_app_env(parsed, environ)]
        return None if "system" in names else list(dict.fromkeys(names))
    # run: every word is its own (no options, no help names); `+var`/`-var` select
    # matrix variables, then `[ENV:]command`.
    words = rest[1:] if rest[:1] == ["--"] else rest
    if not words or words[0] in ("-h", "--help"):
        return None
    if words[0].endswith(".py") and os.path.isfile(absolute(words[0], cwd)):
        return None  # a script with inline metadata gets its own environment: not followed
    words = [w for w in words if not w.startswith(("+", "-"))] if words else words
    if not words:
        return None
    env, colon, _command = words[0].rpartition(":")
    if not colon:
        env = _app_env(parsed, environ)
    return None if env in ("", "system") else [env]


def _app_env(parsed: Args, environ) -> str:
    """hatch/cli/__init__.py: -e/--env, HATCH_ENV, else HATCH_ENV_ACTIVE, "default"."""
    return parsed.env or environ.get("HATCH_ENV") or environ.get("HATCH_ENV_ACTIVE") \
        or "default"


# --- settings ----------------------------------------------------------------------


def _home(environ) -> str:
    home = environ.get("HOME")
    if home:
        return home
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def _platform_home(environ) -> str:
    """platformdirs' expand_user: an absolute HOME, else the account's."""
    home = environ.get("HOME")
    if home and home.startswith("/"):
        return home
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def _xdg(environ, variable: str, default: str) -> str:
    """platformdirs: an absolute $XDG_* directory, else the default below HOME."""
    value = environ.get(variable, "")
    return value if value.startswith("/") else os.path.join(_platform_home(environ), default)


def expand(path: str, environ) -> str:
    """hatch/utils/fs.py Path.expand: os.path.expanduser of os.path.expandvars."""
    import re

    def variable(match):
        name = match.group(1) or match.group(2)
        value = environ.get(name)
        return match.group(0) if value is None else value

    if "$" in path:
        path = re.sub(r"\$(?:(\w+)|\{([^}]*)\})", variable, path)
    if path == "~" or path.startswith("~/"):
        path = _home(environ).rstrip("/") + path[1:] or "/"
    return path


def _toml(path: str):
    """A TOML file's table; {} when missing; None when hatch would fail on it."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def _table(data, key: str) -> dict:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def find_root(path: str) -> str | None:
    """Project.find_project_root: the nearest directory up with a pyproject.toml
    (a file) or a setup.py."""
    while True:
        if os.path.isfile(os.path.join(path, "pyproject.toml")) or os.path.isfile(
                os.path.join(path, "setup.py")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


class App:
    """What hatch's root command settles: its config, data dir and project location."""

    def __init__(self, parsed: Args, cwd: str, environ) -> None:
        self.environ = environ
        self.cwd = cwd
        self.root: str | None = None
        self.env_active = environ.get("HATCH_ENV_ACTIVE")
        self.home = _home(environ)
        config_file = parsed.config or environ.get("HATCH_CONFIG")
        if config_file:  # resolved, and it must exist (else hatch aborts)
            config_file = os.path.realpath(absolute(config_file, cwd))
            if not os.path.isfile(config_file):
                return
        else:
            config_file = os.path.join(_xdg(environ, "XDG_CONFIG_HOME", ".config"), "hatch",
                                       "config.toml")
        config = _toml(config_file)
        if config is None:
            return
        self.config = config
        self.dirs = _table(config, "dirs")
        data = parsed.data_dir or environ.get("HATCH_DATA_DIR") or self.dirs.get("data")
        if not isinstance(data, str) or not data:
            data = os.path.join(_xdg(environ, "XDG_DATA_HOME", ".local/share"), "hatch")
        self.data_dir = absolute(expand(data, environ), cwd)
        self.location = self._locate(parsed.project or environ.get("HATCH_PROJECT"), cwd)
        if self.location is not None:
            self.root = self.location

    def _locate(self, chosen: str | None, cwd: str) -> str | None:
        """hatch(): `-p` must name a project with a root; else the working directory's
        project, or the config's `project` by its mode."""
        if chosen:
            found = self._from_config(chosen, cwd)
            return found if found is not None and find_root(found) is not None else None
        here = os.path.realpath(cwd)  # Path.cwd()
        mode = self.config.get("mode", "local")
        if mode not in ("local", "project", "aware"):
            return None
        if mode != "local" and (mode == "project" or find_root(here) is None):
            name = self.config.get("project", "")
            found = self._from_config(name, cwd) if isinstance(name, str) and name else None
            if found is not None:
                return find_root(found) or found
        return find_root(here) or here

    def _from_config(self, name: str, cwd: str) -> str | None:
        """Project.from_config: [projects] NAME (a string or a table's `location`),
        else the first `dirs.project` directory holding NAME; resolved."""
        projects = _table(self.config, "projects")
        if name in projects:
            entry = projects[name]
            location = entry.get("location") if isinstance(entry, dict) else entry
            if isinstance(location, str) and location:
                return os.path.realpath(absolute(location, cwd))
            return None
        dirs = self.dirs.get("project", [])
        for directory in dirs if isinstance(dirs, list) else []:
            if isinstance(directory, str) and directory:
                candidate = absolute(os.path.join(directory, name), cwd)
                if os.path.isdir(candidate):
                    return os.path.realpath(candidate)
        return None

    def env_directory(self) -> str:
        """Application.get_env_directory("virtual"): [dirs.env] virtual (expanded;
        relative: below the project), else <data dir>/env/virtual."""
        configured = _table(self.dirs, "env").get("virtual")
        if isinstance(configured, str):
            path = expand(configured, self.environ)
            return absolute(path, self.root if not path.startswith("/") else "/")
        return os.path.join(self.data_dir, "env", "virtual")


def project_id(root: str) -> str:
    """hatch/utils/fs.py Path.id: urlsafe base64 of the root's sha256, 8 characters."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(root.encode("utf-8")).digest()).decode()[:8]


def normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


class Environments:
    """ProjectConfig.envs: the collectors' environments, the project's [tool.hatch.envs]
    (hatch.toml's over pyproject's), templates, then matrices expanded."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.config: dict[str, dict] = {}
        self.matrices: dict[str, list[str]] = {}
        self.name: str | None = None
        pyproject = _toml(os.path.join(app.root, "pyproject.toml"))
        hatch_toml = _toml(os.path.join(app.root, "hatch.toml"))
        if pyproject is None or hatch_toml is None:
            return
        project = pyproject.get("project")
        if project is None:  # hatch makes one up, named after the directory
            self.name = normalize(os.path.basename(app.root))
        elif isinstance(project, dict) and isinstance(project.get("name"), str) \
                and project["name"]:
            self.name = normalize(project["name"])
        else:
            return
        hatch = dict(_table(_table(pyproject, "tool"), "hatch"))
        hatch.update(hatch_toml)  # HatchMetadata: hatch.toml's top-level keys win
        env = hatch.get("env", {})
        if not isinstance(env, dict) or set(_table(env, "collectors")) - {"default"}:
            return  # an environment collector plugin may add or change anything
        user = hatch.get("envs", {})
        if not isinstance(user, dict):
            return
        self._build(user, _table(hatch, "sources"))

    def _build(self, user: dict, sources: dict) -> None:
        config: dict[str, dict] = {"default": {}}
        for name in INTERNAL:
            internal = dict(HATCH_TEST) if name == "hatch-test" else {UNKNOWN: True}
            internal["template"] = name
            config[name] = internal
        for name, data in user.items():
            if not isinstance(data, dict):
                return
            config.setdefault(name, {}).update(data)
        for data in config.values():
            data.setdefault("type", "virtual")
        seen: set[str] = set()
        for name in list(config):
            if not self._inherit(name, config, seen, []):
                return
        for name, data in config.items():
            self._expand(name, data)

    def _inherit(self, name: str, config: dict, seen: set, active: list) -> bool:
        """_populate_default_env_values: `template` (default "default"; `detached` is
        its own) lends every key the environment does not set, but its matrix."""
        if name in seen:
            return True
        data = config[name]
        if data.pop("detached", False):
            data["template"] = name
            data["skip-install"] = True
        template = data.pop("template", "default")
        if template not in config or name in active:
            return False
        if template == name:
            seen.add(name)
            return True
        active.append(name)
        if not self._inherit(template, config, seen, active):
            return False
        for key, value in config[template].items():
            if key != "matrix":
                data.setdefault(key, value)
        seen.add(name)
        active.pop()
        return True

    def _expand(self, name: str, data: dict) -> None:
        """The matrix's environments, named as ProjectConfig.envs names them."""
        overrides = data.get("overrides", {})
        for source in overrides.values() if isinstance(overrides, dict) else ():
            for options in source.values() if isinstance(source, dict) else ():
                if isinstance(options, dict) and any(
                        option.rpartition("set-")[2] in LOCATING for option in options):
                    data = {**data, UNKNOWN: True}
        if "matrix" not in data:
            self.config[name] = data
            return
        import itertools

        fmt = data.get("matrix-name-format", "{value}")
        matrices = data["matrix"]
        if not isinstance(fmt, str) or not isinstance(matrices, list):
            return
        names = self.matrices[name] = []
        for matrix in matrices:
            if not isinstance(matrix, dict) or not matrix:
                return
            variables, python = {}, False
            for variable in ("py", "python"):
                if variable in matrix:
                    if python:
                        return  # both: hatch refuses the matrix
                    python = True
                    matrix = dict(matrix)
                    variables[variable] = matrix.pop(variable)
            variables.update(matrix)
            if any(not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v)
                   for v in variables.values()):
                return
            for values in itertools.product(*variables.values()):
                parts = []
                for j, (variable, value) in enumerate(zip(variables, values, strict=False)):
                    if j == 0 and python:
                        parts.append(value if value.startswith("py") else f"py{value}")
                    else:
                        parts.append(fmt.format(variable=variable, value=value))
                generated = "-".join(parts)
                if name != "default":
                    generated = f"{name}.{generated}"
                names.append(generated)
                self.config[generated] = {k: v for k, v in data.items() if k != "matrix"}

    def expand(self, name: str) -> list[str]:
        """Project.expand_environments: a matrix's environments, or the one named."""
        if name in self.matrices:
            return list(self.matrices[name])
        return [name] if name in self.config else []

    def target(self, name: str) -> tuple[str, str] | None:
        """(path, shape) of a virtual environment, or None when it is not followed."""
        data = self.config.get(name)
        if data is None or data.get(UNKNOWN) or self.name is None:
            return None
        if data.get("type") != "virtual":
            return None
        app, environ = self.app, self.app.environ
        root = app.root
        ident = project_id(root)
        venv_name = self.name if name == "default" else name
        isolated = self._isolated(name, data)
        if isolated:
            data_directory = os.path.join(app.data_dir, "env", ".internal", name)
        else:
            data_directory = app.env_directory()
        chosen = environ.get("HATCH_ENV_TYPE_VIRTUAL_PATH") or data.get("path", "")
        if not isinstance(chosen, str):
            return None
        if chosen:
            path = absolute(chosen, "/") if chosen.startswith("/") else \
                os.path.realpath(os.path.join(root, chosen))
        elif data_directory == os.path.join(app.home, ".virtualenvs") or _below(
                os.path.realpath(data_directory), root):
            path = os.path.join(data_directory, venv_name)
        else:
            path = os.path.join(data_directory, self.name, ident, venv_name)
        uv = data.get("installer", "pip") == "uv" or bool(
            environ.get("HATCH_ENV_TYPE_VIRTUAL_UV_PATH") or data.get("uv-path"))
        return absolute(path, "/"), "uv" if uv else "virtualenv"

    @staticmethod
    def _isolated(name: str, data: dict) -> bool:
        """is_isolated_environment: no builder, skip-install, the internal defaults'
        dependencies (hatch-test's is the one followed)."""
        if name.split(".")[0] != "hatch-test":
            return False
        return not data.get("builder", False) and bool(data.get("skip-install", False)) and all(
            data.get(key) == HATCH_TEST.get(key)
            for key in ("dependencies", "extra-dependencies", "features"))


def _below(path: str, root: str) -> bool:
    """`root in Path(path).parents`: root is a strict ancestor of path."""
    return path != root and path.startswith(root.rstrip("/") + "/")

