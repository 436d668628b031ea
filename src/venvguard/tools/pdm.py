"""pdm: which of its commands create or change the project environment, and where it is.

pdm's rules (checked against pdm 2.29, pdm/project/core.py Project.resolve_interpreter
and get_environment, pdm/cli/commands/venv/):
- the project is `-p/--project` (or PDM_PROJECT), else the nearest `pyproject.toml`
  upward; a member of a `[tool.pdm.workspace]` uses the workspace root's environment;
- its environment is the one of the saved interpreter (PDM_PYTHON, `.pdm-python`)
  when that is a virtual environment's python, else the active VIRTUAL_ENV (not with
  PDM_IGNORE_ACTIVE_VENV), else the first of `.venv`, `venv`, `env` in the project,
  then `<venv.location>/<name>-<hash>-*`; when none exists, pdm creates one: `.venv`
  (`venv.in_project`, the default) or `<venv.location>/<name>-<hash>-<3.N>`;
- a non-venv interpreter, `python.use_venv = false` or an existing `__pypackages__`
  mean PEP 582 mode, whose `__pypackages__` is no environment venvguard can check or
  remove: not guarded;
- settings are read as pdm's Config does: PDM_* variables, then the project's
  `pdm.toml`, the global config (`-c`, PDM_CONFIG_FILE, ~/.config/pdm/config.toml),
  the site config, the defaults.
install, sync, add, remove and update change it; lock, `--dry-run` runs and
`--no-sync` create it when missing (guarded only then); `venv create` and `use` make
one; `run` is guarded only while it has an environment to create, and counts as
unfinished only when pdm itself dies of the signal (once it runs the user's
program, it ignores SIGINT and exits with the program's status).
"""

import os

from venvguard.decision import SIGNAL_DEATH
from venvguard.tools import Plan, absolute

REPAIR = "pdm sync --reinstall"

# pdm's subcommands (pdm/cli/commands/); any other first word is `pdm run WORD` when
# WORD is a project script (Core.main).
COMMANDS = frozenset({
    "add", "build", "cache", "completion", "config", "export", "fix", "import", "info",
    "init", "install", "list", "lock", "new", "outdated", "plugin", "publish", "py", "python",
    "remove", "run", "search", "self", "show", "sync", "update", "use", "venv",
})
# Options taking a value, and those whose value is optional (nargs="?"), per parser;
# the long ones, for argparse's unambiguous abbreviations. Read from pdm 2.29's parser.
_COMMON = ("--project", "--skip", "--verbose", "--quiet", "--help", "--global")
_INSTALLING = ("--lockfile", "--config-setting", "--no-isolation", "--override", "--venv",
               "--dry-run", "--fail-fast", "--no-editable", "--no-self", "--dev")
_GROUPS = ("--group", "--with", "--without", "--no-default", "--prod", "--production")
_SAVE = ("--save-compatible", "--save-exact", "--save-minimum", "--save-safe-compatible",
         "--save-wildcard", "--pre", "--prerelease", "--stable", "--unconstrained",
         "--update-all", "--update-eager", "--update-reuse", "--update-reuse-installed")
VALUES = {
    "": frozenset({"-c", "--config"}),
    "install": frozenset({"-p", "--project", "-G", "--group", "--with", "--without",
                          "--config-setting", "-C", "--override", "-L", "--lockfile", "-k",
                          "--skip"}),
    "sync": frozenset({"-p", "--project", "-G", "--group", "--with", "--without", "-L",
                       "--lockfile", "-k", "--skip", "--config-setting", "-C"}),
    "add": frozenset({"-p", "--project", "-L", "--lockfile", "--override", "-e", "--editable",
                      "--config-setting", "-C", "-k", "--skip", "-G", "--group"}),
    "remove": frozenset({"-p", "--project", "--config-setting", "-C", "-L", "--lockfile",
                         "--override", "-k", "--skip", "-G", "--group"}),
    "update": frozenset({"-p", "--project", "-G", "--group", "--with", "--without",
                         "--config-setting", "-C", "-L", "--lockfile", "--override", "-k",
                         "--skip"}),
    "lock": frozenset({"-p", "--project", "-L", "--lockfile", "--config-setting", "-C",
                       "--override", "-k", "--skip", "-G", "--group", "--with", "--without",
                       "--strategy", "-S", "--exclude-newer", "--exclude-newer-override",
                       "--python", "--platform", "--implementation"}),
    "use": frozenset({"-p", "--project", "-k", "--skip", "--venv"}),
    "run": frozenset({"-p", "--project", "-k", "--skip", "--env", "--env-file",
                      "--working-dir"}),
    "venv": frozenset({"-p", "--project", "--path", "--python"}),
    "venv create": frozenset({"-w", "--with", "-n", "--name"}),
}
OPTIONAL = {"": frozenset({"--pep582"}), "install": frozenset({"--venv"}),
            "sync": frozenset({"--venv"}), "add": frozenset({"--venv"}),
            "remove": frozenset({"--venv"}), "update": frozenset({"--venv"}),
            "run": frozenset({"--venv"})}
LONG = {
    "": ("--config", "--help", "--ignore-python", "--no-cache", "--non-interactive",
         "--pep582", "--quiet", "--verbose", "--version"),
    "install": (*_COMMON, *_INSTALLING, *_GROUPS, "--check", "--frozen-lockfile",
                "--no-lock", "--plugins"),
    "sync": (*_COMMON, *_INSTALLING, *_GROUPS, "--clean", "--clean-unselected",
             "--only-keep", "--reinstall"),
    "add": (*_COMMON, *_INSTALLING, *_SAVE, "--editable", "--frozen-lockfile", "--no-lock",
            "--no-sync", "--group"),
    "remove": (*_COMMON, *_INSTALLING, "--frozen-lockfile", "--no-lock", "--no-sync",
               "--group"),
    "update": (*_COMMON, *_INSTALLING, *_GROUPS, *_SAVE, "--frozen-lockfile", "--no-lock",
               "--no-sync", "--outdated", "--top"),
    "lock": (*_COMMON, *_GROUPS, "--append", "--check", "--config-setting", "--dev",
             "--exclude-newer", "--exclude-newer-override", "--implementation", "--lockfile",
             "--no-cross-platform", "--no-isolation", "--no-static-urls", "--override",
             "--platform", "--python", "--refresh", "--static-urls", "--strategy",
             "--update-reuse", "--update-reuse-installed"),
    "use": (*_COMMON, "--auto-install-max", "--auto-install-min", "--first",
            "--ignore-remembered", "--no-version-file", "--venv"),
    "run": (*_COMMON, "--env", "--env-file", "--json", "--list", "--recreate",
            "--site-packages", "--venv", "--working-dir"),
    "venv": ("--help", "--path", "--project", "--python"),
    "venv create": ("--force", "--help", "--name", "--quiet", "--verbose", "--with",
                    "--with-pip"),
}
SHAPES = {"virtualenv": "virtualenv", "venv": "venv", "uv": "uv"}  # conda: not guarded
# pdm names a central environment after its interpreter's "3.N" (PythonInfo.identifier,
# "t" when free-threaded), which only running that interpreter tells: every one is a
# target, and only the one pdm makes is ever there.
IDENTS = tuple(f"3.{minor}{t}" for minor in range(7, 17) for t in ("", "t"))
DEFAULTS = {"python.use_venv": True, "venv.in_project": True, "venv.backend": "virtualenv",
            "use_uv": False, "global_project.fallback": False}
ENV_VARS = {"python.use_venv": "PDM_USE_VENV", "venv.in_project": "PDM_VENV_IN_PROJECT",
            "venv.backend": "PDM_VENV_BACKEND", "use_uv": "PDM_USE_UV"}
BOOLEANS = frozenset({"python.use_venv", "venv.in_project", "use_uv",
                      "global_project.fallback"})


class Args:
    """A pdm command line as argparse reads it: the global options, the subcommand
    (`venv create` for venv's), its options (long spelling where it has one) and
    positionals."""

    __slots__ = ("command", "config", "ignore_python", "options", "positionals", "quits")

    def __init__(self) -> None:
        self.command: str | None = None
        self.config: str | None = None
        self.ignore_python = False
        self.quits = False  # --help, --version, --pep582: pdm prints and exits
        self.options: dict[str, str | None] = {}
        self.positionals: list[str] = []


def parse(args: list[str]) -> Args:
    out = Args()
    scope = ""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            out.positionals.extend(args[i:])
            break
        if arg.startswith("-") and len(arg) > 1:
            found, i = _option(arg, args, i, scope)
            for name, value in found:
                if scope == "":
                    if name in ("--help", "--version", "--pep582", "-h", "-V"):
                        out.quits = True
                    elif name == "--config":
                        out.config = value
                    elif name == "--ignore-python":
                        out.ignore_python = True
                    continue
                out.options[name] = value
            continue
        if out.command is None:
            out.command = arg
            scope = arg if arg in VALUES else "?"
            continue
        if out.command == "venv" and not out.positionals and arg == "create":
            out.command = scope = "venv create"
            continue
        out.positionals.append(arg)
        if out.command in ("run", "venv create"):
            out.positionals.extend(args[i:])  # argparse.REMAINDER: the rest is not pdm's
            break
    return out


SHORT = {"-p": "--project", "-g": "--global", "-h": "--help", "-V": "--version",
         "-c": "--config", "-I": "--ignore-python", "-l": "--list", "-j": "--json",
         "-L": "--lockfile", "-G": "--group", "-k": "--skip", "-C": "--config-setting",
         "-e": "--editable", "-S": "--strategy", "-w": "--with", "-n": "--name",
         "-f": "--force"}


def _option(arg: str, args: list[str], i: int, scope: str):
    """The (name, value) pairs of one option word, and the index after its value,
    argparse's way: `--name=value`, `--name value`, unambiguous abbreviations, `-pDIR`,
    `-xp DIR`."""
    takes = VALUES.get(scope, frozenset())
    optional = OPTIONAL.get(scope, frozenset())
    if arg.startswith("--"):
        name, eq, value = arg.partition("=")
        longs = LONG.get(scope, ())
        if name not in longs:
            matches = [o for o in longs if o.startswith(name)]
            if len(matches) == 1:
                name = matches[0]
        if eq:
            return [(name, value)], i
        if name in takes and i < len(args):
            return [(name, args[i])], i + 1
        if name in optional and i < len(args) and not args[i].startswith("-"):
            return [(name, args[i])], i + 1
        return [(name, None)], i
    found = []
    for k in range(1, len(arg)):
        short = "-" + arg[k]
        name = SHORT.get(short, short) if short != "-n" or scope == "venv create" else short
        if short in takes:
            rest = arg[k + 1:].removeprefix("=")
            if rest:
                found.append((name, rest))
            elif i < len(args):
                found.append((name, args[i]))
                i += 1
            else:
                found.append((name, None))
            break
        found.append((name, None))
    return found, i


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    if parsed.quits or "--help" in parsed.options or "--global" in parsed.options:
        return None
    root = _project_root(parsed, cwd, environ)
    if root is None:
        return None
    injected = _injected_options(root, parsed.command, args)
    if injected is not None:  # [tool.pdm.options]: read as if typed after the command
        parsed = parse(injected)
        root = _project_root(parsed, cwd, environ) or root
    command = parsed.command
    if command is not None and command not in COMMANDS and command != "venv create":
        if command not in _scripts(root):
            return None
        command = "run"  # `pdm SCRIPT` is `pdm run SCRIPT`
        parsed.positionals.insert(0, parsed.command)
    if command == "venv create":
        return _plan_venv_create(parsed, root, cwd, environ)
    if command == "use":
        return _plan_use(parsed, root, cwd, environ)
    if command not in ("install", "sync", "add", "remove", "update", "lock", "run"):
        return None
    opts = parsed.options
    if command == "install" and "--plugins" in opts:
        return None  # into pdm's own plugin directory
    if command == "lock" and "--check" in opts:
        return None
    if command == "run":
        return _plan_run(parsed, root, cwd, environ)
    if "--venv" in opts:  # an existing environment by its key, never one to create
        env = _named_venv(opts["--venv"] or "in-project", root, _settings(root, parsed, cwd,
                                                                            environ), cwd)
        return Plan([(env, "virtualenv")], repair=_repair(parsed)) if env else None
    root = _workspace_root(root)
    settings = _settings(root, parsed, cwd, environ)
    existing = _existing_environment(root, settings, parsed, cwd, environ)
    lock_only = command == "lock" or "--dry-run" in opts or "--outdated" in opts or (
        command in ("add", "remove", "update") and "--no-sync" in opts)
    if existing is not None:
        if existing is False or lock_only:
            return None
        return Plan([(existing, "virtualenv")], repair=_repair(parsed))
    targets = _to_create(root, settings, cwd, settings.backend(for_project=True))
    if not targets:
        return None
    return Plan(targets, repair=_repair(parsed), create_only=lock_only)


def _repair(parsed: Args) -> str:
    project = parsed.options.get("--project")
    if project:
        from shlex import quote

        return f"pdm sync -p {quote(project)} --reinstall"
    return REPAIR


def reinstall(argv: list[str], env: str, dists: list[tuple[str, str]]) -> str | None:
    """pdm's environments have no pip: `pdm sync --reinstall` reinstalls what its lock
    file pins, the packages named among them."""
    parsed = parse(argv[1:])
    if parsed.command in ("install", "sync", "add", "remove", "update"):
        return _repair(parsed)
    return None


# --- the project -------------------------------------------------------------------


def _pathlib_absolute(path: str, cwd: str) -> str:
    """Path(path).absolute() as a string: `.` parts and repeated slashes go, `..` stays
    (pdm hashes this spelling of the project root)."""
    joined = path if path.startswith("/") else cwd + "/" + path
    parts = [p for p in joined.split("/") if p and p != "."]
    return "/" + "/".join(parts)


def _project_root(parsed: Args, cwd: str, environ) -> str | None:
    """Core.ensure_project: -p/--project (PDM_PROJECT) as given, else the nearest
    pyproject.toml upward (utils.find_project_root); None when there is none (pdm
    then works on nothing it creates, or on the global project)."""
    given = parsed.options.get("--project") or environ.get("PDM_PROJECT")
    if given:
        root = _pathlib_absolute(given, cwd)
        return root if os.path.exists(os.path.join(root, "pyproject.toml")) else None
    directory = cwd
    while True:
        if os.path.exists(os.path.join(directory, "pyproject.toml")):
            return _pathlib_absolute(directory, "/")
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _pyproject(root: str) -> dict:
    try:
        with open(os.path.join(root, "pyproject.toml"), "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    if b"pdm" not in raw:
        return {}
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return {}
    pdm = data.get("tool", {}).get("pdm", {})
    return pdm if isinstance(pdm, dict) else {}


def _scripts(root: str) -> dict:
    scripts = _pyproject(root).get("scripts", {})
    return scripts if isinstance(scripts, dict) else {}


def _injected_options(root: str, command: str | None, args: list[str]) -> list[str] | None:
    """Core._inject_cli_args: `[tool.pdm.options] CMD = [...]` inserted after CMD."""
    if command is None:
        return None
    table = _pyproject(root).get("options", {})
    extra = table.get(command) if isinstance(table, dict) else None
    if not isinstance(extra, list) or not extra:
        return None
    position = _command_position(args)
    return [*args[:position + 1], *map(str, extra), *args[position + 1:]]


def _command_position(args: list[str]) -> int:
    """Core.get_command: the first word that is neither an option nor -c's value."""
    need_value = False
    for i, arg in enumerate(args):
        if arg.startswith("-"):
            if arg.startswith(("-c", "--config")) and not (
                (arg.startswith("-c") and arg != "-c") or arg.startswith("--config=")
            ):
                need_value = True
        elif need_value:
            need_value = False
        else:
            return i
    return -1


def _workspace_root(root: str) -> str:
    """WorkspaceManager.project: the nearest directory above with a pyproject.toml whose
    [tool.pdm.workspace] lists `root` among its members (paths compared resolved, as
    pdm does), else root itself."""
    real = os.path.realpath(root)
    directory = os.path.dirname(root)
    while True:
        if os.path.exists(os.path.join(directory, "pyproject.toml")):
            workspace = _pyproject(directory).get("workspace")
            if workspace and isinstance(workspace, dict) and _is_member(real, directory,
                                                                       workspace):
                return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return root
        directory = parent


def _is_member(real: str, directory: str, workspace: dict) -> bool:
    import glob

    members = workspace.get("members", [])
    for pattern in members if isinstance(members, list) else []:
        if not isinstance(pattern, str):
            continue
        if any(c in pattern for c in "*?["):
            paths = glob.glob(os.path.join(glob.escape(directory), pattern))
        else:
            paths = [os.path.join(directory, pattern)]
        if any(os.path.realpath(p) == real for p in paths):
            return True
    return False


# --- settings ----------------------------------------------------------------------


def _home(environ) -> str:
    home = environ.get("HOME")
    if home and home.startswith("/"):
        return home
    import pwd

    return pwd.getpwuid(os.getuid()).pw_dir


def _expanduser(path: str, environ) -> str:
    if path == "~" or path.startswith("~/"):
        return _home(environ) + path[1:]
    return path


def _xdg(environ, variable: str, default: str) -> str:
    """platformdirs: an absolute $XDG_* directory, else the default below HOME."""
    value = environ.get(variable, "")
    return value if value.startswith("/") else os.path.join(_home(environ), default)


def _load(path: str) -> dict:
    """project/config.py load_config: a TOML file's tables flattened to dotted keys."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return {}
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return {}

    def flatten(table: dict, prefix: str, out: dict) -> dict:
        for key, value in table.items():
            if isinstance(value, dict):
                flatten(value, f"{prefix}{key}.", out)
            else:
                out[prefix + key] = value
        return out

    return flatten(data, "", {})


class Settings:
    """Project.config: PDM_* variables, the project's pdm.toml (and the legacy
    .pdm.toml over it), the global config file, the site config, the defaults."""

    def __init__(self, root: str, config_file: str | None, cwd: str, environ) -> None:
        self.environ = environ
        self.cwd = cwd
        project = _load(os.path.join(root, "pdm.toml"))
        legacy = _load(os.path.join(root, ".pdm.toml"))
        legacy.pop("python.path", None)
        project.update(legacy)
        if config_file is None:
            config_file = os.path.join(_xdg(environ, "XDG_CONFIG_HOME", ".config"), "pdm",
                                       "config.toml")
        dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "").split(":") if d.startswith("/")]
        site = os.path.join(dirs[0] if dirs else "/etc/xdg", "pdm", "config.toml")
        self.layers = (project, _load(absolute(config_file, cwd)), _load(site))

    def get(self, key: str):
        variable = ENV_VARS.get(key)
        value = self.environ.get(variable) if variable else None
        if value is None:
            value = next((layer[key] for layer in self.layers if key in layer),
                         DEFAULTS.get(key))
        if key in BOOLEANS and isinstance(value, str):  # config.ensure_boolean
            return bool(value) and value.lower() not in ("false", "no", "0")
        return value

    def location(self) -> str:
        """venv.location (`~` expanded; relative: against the working directory)."""
        value = self.get("venv.location")
        if not isinstance(value, str):
            value = os.path.join(_xdg(self.environ, "XDG_DATA_HOME", ".local/share"), "pdm",
                                 "venvs")
        return absolute(_expanduser(value, self.environ), self.cwd)

    def backend(self, *, for_project: bool) -> str:
        """venv.backend; Project._create_virtualenv takes uv for virtualenv with use_uv."""
        backend = str(self.get("venv.backend"))
        if for_project and backend == "virtualenv" and self.get("use_uv"):
            return "uv"
        return backend


def _settings(root: str, parsed: Args, cwd: str, environ) -> Settings:
    return Settings(root, parsed.config or environ.get("PDM_CONFIG_FILE"), cwd, environ)


# --- environments ------------------------------------------------------------------


def hash_path(path: str) -> str:
    """venv/utils.py hash_path: urlsafe base64 of the path's md5, 8 characters."""
    import base64
    import hashlib

    digest = hashlib.md5(path.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode()[:8]


def venv_prefix(root: str) -> str:
    """venv/utils.py get_venv_prefix: `<name>-<hash>-` of the project root."""
    return f"{os.path.basename(root)}-{hash_path(root)}-"


def _has_python(env: str) -> bool:
    return os.path.exists(os.path.join(env, "bin", "python"))  # models/venv.VirtualEnv.get


def _in_project_venv(root: str) -> str | None:
    for name in (".venv", "venv", "env"):
        env = os.path.join(root, name)
        if _has_python(env):
            return env
    return None


def _central_venvs(root: str, settings: Settings):
    """(key, path) of `<venv.location>/<prefix>*` with a python, in directory order
    (pdm globs them)."""
    location = settings.location()
    prefix = venv_prefix(root)
    try:
        names = os.listdir(location)
    except OSError:
        return
    for name in names:
        env = os.path.join(location, name)
        if name.startswith(prefix) and _has_python(env):
            yield name[len(prefix):], env


def _named_venv(key: str, root: str, settings: Settings, cwd: str) -> str | None:
    """venv/utils.py get_venv_with_name: "in-project" or a central environment's key."""
    if key == "in-project":
        return _in_project_venv(root)
    return dict(_central_venvs(root, settings)).get(key)


def _truthy(environ, key: str) -> bool:
    value = environ.get(key)
    return bool(value) and value.lower() not in ("false", "no", "0")


def _venv_of(python: str, environ) -> str | None:
    """utils.get_venv_like_prefix: the environment an interpreter belongs to."""
    bin_dir = os.path.dirname(python)
    if os.path.exists(os.path.join(bin_dir, "conda-meta")):
        return bin_dir
    prefix = os.path.dirname(bin_dir)
    if os.path.exists(os.path.join(prefix, "pyvenv.cfg")) or os.path.exists(
            os.path.join(prefix, "conda-meta")):
        return prefix
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        active = environ.get(variable)
        if active and (python + "/").startswith(absolute(active, "/") + "/"):
            return absolute(active, "/")
    return None


def _saved_python(root: str, environ) -> str | None:
    """Project._saved_python: PDM_PYTHON, `.pdm-python`, the legacy .pdm.toml's path."""
    value = environ.get("PDM_PYTHON")
    if value:
        return value
    try:
        with open(os.path.join(root, ".pdm-python"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        pass
    legacy = _load(os.path.join(root, ".pdm.toml")).get("python.path")
    return legacy if isinstance(legacy, str) and legacy else None


def _existing_environment(root: str, settings: Settings, parsed: Args, cwd: str, environ):
    """The environment pdm would use, as Project.resolve_interpreter finds it: its path;
    False when that is no virtual environment (PEP 582 mode); None when pdm would
    create one. The saved interpreter is taken when it exists (pdm also checks it
    against requires-python, which only running it tells)."""
    use_venv = settings.get("python.use_venv")
    saved = _saved_python(root, environ)
    if saved and not parsed.ignore_python and not _truthy(environ, "PDM_IGNORE_SAVED_PYTHON"):
        python = absolute(saved, cwd)
        if os.path.exists(python):
            env = _venv_of(python, environ)
            return env if env and use_venv else False
    if not use_venv:
        return False
    ignore_active = _truthy(environ, "PDM_IGNORE_ACTIVE_VENV")
    active = environ.get("VIRTUAL_ENV")
    if active is None:
        active = environ.get("CONDA_PREFIX")
    active = absolute(active, cwd) if active else None
    if active and not ignore_active and environ.get("CONDA_DEFAULT_ENV", "") != "base" \
            and _has_python(active):
        return active
    found = _in_project_venv(root)
    if found and not (ignore_active and found == active):
        return found
    for _key, env in _central_venvs(root, settings):
        if not (ignore_active and env == active):
            return env
    if os.path.exists(os.path.join(root, "__pypackages__")):
        return False
    return None


def _to_create(root: str, settings: Settings, cwd: str, backend: str, *,
               in_project: bool | None = None, name: str | None = None):
    """The (path, shape) targets of the environment pdm creates (Backend.create):
    `.venv` in the project, else `<venv.location>/<prefix><name or 3.N>`."""
    shape = SHAPES.get(backend)
    if shape is None:
        return []
    if in_project is None:
        in_project = settings.get("venv.in_project")
    if in_project:
        return [(os.path.join(root, ".venv"), shape)]
    location = settings.location()
    prefix = venv_prefix(root)
    return [(os.path.join(location, prefix + ident), shape) for ident in
            ((name,) if name else IDENTS)]


# --- commands that make an environment ----------------------------------------------


def _plan_venv_create(parsed: Args, root: str, cwd: str, environ) -> Plan | None:
    """venv/create.py: `.venv` (venv.in_project, no --name), else the central
    `<prefix><name or 3.N>`; the backend is --with or venv.backend."""
    if "--path" in parsed.options or "--python" in parsed.options:
        return None  # `pdm venv --path/--python KEY` prints a path and exits
    settings = _settings(root, parsed, cwd, environ)
    name = parsed.options.get("--name")
    backend = parsed.options.get("--with") or settings.backend(for_project=False)
    in_project = bool(settings.get("venv.in_project")) and not name
    targets = _to_create(root, settings, cwd, backend, in_project=in_project, name=name)
    return Plan(targets) if targets else None


def _plan_use(parsed: Args, root: str, cwd: str, environ) -> Plan | None:
    """use.py do_use: with python.use_venv, an interpreter that is not a virtual
    environment's gets one made for it, replacing what is there (force)."""
    opts = parsed.options
    if "--venv" in opts:
        return None
    settings = _settings(root, parsed, cwd, environ)
    if not settings.get("python.use_venv"):
        return None
    python = parsed.positionals[0] if parsed.positionals else ""
    if "/" in python and _venv_of(absolute(python, cwd), environ):
        return None
    targets = _to_create(root, settings, cwd, settings.backend(for_project=True))
    return Plan(targets) if targets else None


def _plan_run(parsed: Args, root: str, cwd: str, environ) -> Plan | None:
    """run.py: the project environment, or a PEP 723 script's own, when pdm has it to
    create; pdm ignores SIGINT once the user's program runs."""
    opts = parsed.options
    if "--list" in opts or "--json" in opts:
        return None
    script = parsed.positionals[0] if parsed.positionals else "python"
    if "--venv" in opts:
        return None
    if script.endswith(".py") and script not in _scripts(root):
        own = _script_environment(script, parsed, root, cwd, environ)
        if own is not None:  # the script's own environment, not the project's
            return own or None
    root = _workspace_root(root)
    settings = _settings(root, parsed, cwd, environ)
    if _existing_environment(root, settings, parsed, cwd, environ) is not None:
        return None
    targets = _to_create(root, settings, cwd, settings.backend(for_project=True))
    if not targets:
        return None
    return Plan(targets, policy=SIGNAL_DEATH, repair=REPAIR, create_only=True)


def _script_environment(script: str, parsed: Args, root: str, cwd: str,
                        environ) -> Plan | bool | None:
    """TaskRunner._get_script_env: a script with `# /// script` metadata runs in
    `<venv.location>/<md5 of its real path>`, made when missing or with --recreate. Its
    settings are those of a project found from the working directory, with the
    default global config (pdm creates that project without -c). None: no such
    script; False: its environment is there and reused."""
    working_dir = parsed.options.get("--working-dir")
    path = _expanduser(script, environ)
    if working_dir and not path.startswith("/"):
        path = os.path.join(root, working_dir, path)
    path = absolute(path, cwd)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    import re

    if not re.search(r"(?m)^# /// script$\s(^#(| .*)$\s)+^# ///$", text.removeprefix("\ufeff")):
        return None
    import hashlib

    name = hashlib.md5(os.path.realpath(path).encode("utf-8"), usedforsecurity=False).hexdigest()
    script_root = _project_root(Args(), cwd, {}) or cwd
    settings = Settings(script_root, None, cwd, environ)
    shape = SHAPES.get(settings.backend(for_project=False))
    if shape is None:
        return None
    env = os.path.join(settings.location(), name)
    recreate = "--recreate" in parsed.options
    if os.path.lexists(env) and not recreate:
        return False
    return Plan([(env, shape)], policy=SIGNAL_DEATH, create_only=not recreate)
