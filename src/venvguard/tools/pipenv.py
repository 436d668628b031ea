"""pipenv: which of its commands create or change the project's virtualenv, and where it is.

pipenv's rules (checked against pipenv 2026.10.3: pipenv/utils/venv_locator.py
VenvLocator.location, get_location, name, _get_virtualenv_hash, is_venv_in_project;
pipenv/utils/pipfile.py find_pipfile; pipenv/environments.py Setting):
- the project is the directory of PIPENV_PIPFILE, else of the nearest `Pipfile`
  upward from the current directory, looking at PIPENV_MAX_DEPTH directories (the
  current one included; 10 by default, 1 with PIPENV_NO_INHERIT), else the current
  directory itself (`pipenv install` makes the Pipfile there);
- an active VIRTUAL_ENV is the environment (not with PIPENV_IGNORE_VIRTUALENVS, nor
  inside `pipenv shell`, where PIPENV_ACTIVE is set);
- a `.venv` file in the project names it: a path (relative to the project), or a
  name under WORKON_HOME; else `<project>/.venv` when PIPENV_VENV_IN_PROJECT is true,
  or (unless it is false) when `[pipenv] venv_in_project` says so or a `.venv`
  directory is there; else `$WORKON_HOME/<dir name>-<hash>` (WORKON_HOME: by default
  `$XDG_DATA_HOME/virtualenvs`, ~/.local/share/virtualenvs), the hash being the first
  8 characters of the urlsafe base64 of the first 6 bytes of the sha256 of the
  Pipfile's path, and PIPENV_CUSTOM_VENV_NAME or PIPENV_PYTHON changing the name.
install, sync, update, upgrade, uninstall and clean change it (and create it when
missing), and so does a bare `pipenv --python X` (ensure_project remakes one of
another Python); lock, `--dry-run`, `--outdated` and `--lock-only` runs (also by
PIPENV_LOCK_ONLY) create it when missing (guarded only while it is). run, shell,
activate, open, check and audit create it when missing and then hand over to another
program: guarded only while it is missing, and unfinished only when the process dies
of a signal. `--system` (or PIPENV_SYSTEM) sends the work to
the system's Python: not guarded, except `upgrade`, whose ensure_project still makes
the environment (guarded while missing). A bare `pipenv` runs ensure_project only for
--python/PIPENV_PYTHON or a true site_packages (--site-packages, PIPENV_SITE_PACKAGES)
and not with --clear/PIPENV_CLEAR (cli/command.py cli).
"""

import os

from venvguard.decision import SIGNAL_DEATH
from venvguard.tools import Plan, absolute

# The options of pipenv's argparse parsers (pipenv/cli/options.py build_parser) that
# take a value, and the long ones (argparse takes any unambiguous abbreviation).
_INSTALLING = frozenset({
    "--categories", "--config-settings", "--editable", "--extra-pip-args", "--extras",
    "--index", "--pypi-mirror", "--python", "--requirements", "--resolver", "-e", "-i", "-r",
})
_SHARED = frozenset({"--pypi-mirror", "--python"})
VALUES = {
    "": _SHARED,
    "install": _INSTALLING,
    "upgrade": _INSTALLING,
    "update": _INSTALLING,
    "uninstall": frozenset({"--categories", "--editable", "--extra-pip-args", "--extras",
                            "--pypi-mirror", "--python", "--resolver", "-e"}),
    "sync": frozenset({"--categories", "--extra-pip-args", "--extras", "--pypi-mirror",
                       "--python", "--resolver"}),
    "lock": frozenset({"--backend", "--categories", "--extra-pip-args", "--pypi-mirror",
                       "--python", "--resolver"}),
    "clean": frozenset({"--python"}),
    "shell": _SHARED,
    "activate": _SHARED,
    "open": _SHARED,
    "run": frozenset(),
    "check": frozenset({"--categories", "--db", "--ignore", "--key", "--output",
                        "--policy-file", "--project", "--pypi-mirror", "--python",
                        "--save-json", "-i"}),
    "audit": frozenset({"--ignore", "--output", "--output-file", "--pypi-mirror", "--python",
                        "--vulnerability-service", "-f", "-i", "-o", "-s"}),
}
_COMMON = ("--clear", "--help", "--pypi-mirror", "--python", "--quiet", "--verbose")
_INSTALL = (*_COMMON, "--all", "--categories", "--config-settings", "--dev", "--editable",
            "--extra-pip-args", "--extras", "--ignore-pipfile", "--index", "--pre",
            "--requirements", "--resolver", "--skip-lock", "--system")
LONG = {
    "": ("--bare", "--clear", "--envs", "--help", "--man", "--no-site-packages", "--py",
         "--pypi-mirror", "--python", "--quiet", "--rm", "--site-packages", "--support",
         "--venv", "--verbose", "--version", "--where"),
    "install": (*_INSTALL, "--deploy", "--no-site-packages", "--site-packages"),
    "upgrade": (*_INSTALL, "--lock-only", "--no-site-packages", "--site-packages"),
    "update": (*_INSTALL, "--bare", "--dry-run", "--lock-only", "--outdated"),
    "uninstall": (*_COMMON, "--all", "--all-dev", "--categories", "--dev", "--editable",
                  "--extra-pip-args", "--extras", "--pre", "--resolver", "--skip-lock"),
    "sync": (*_COMMON, "--all", "--bare", "--categories", "--clean", "--dev",
             "--extra-pip-args", "--extras", "--no-site-packages", "--pre", "--resolver",
             "--site-packages", "--system"),
    "lock": (*_COMMON, "--backend", "--categories", "--dev", "--dev-only", "--extra-pip-args",
             "--pre", "--resolver"),
    "clean": ("--bare", "--dry-run", "--help", "--python", "--verbose"),
    "shell": ("--anyway", "--fancy", "--help", "--pypi-mirror", "--python", "--quiet"),
    "activate": ("--help", "--pypi-mirror", "--python"),
    "open": _COMMON,
    "run": ("--help", "--system"),
    "check": (*_COMMON, "--audit-and-monitor", "--auto-install", "--categories",
              "--continue-on-error", "--db", "--disable-audit-and-monitor", "--exit-code",
              "--ignore", "--key", "--output", "--policy-file", "--project", "--save-json",
              "--scan", "--system", "--use-installed"),
    "audit": (*_COMMON, "--aliases", "--desc", "--dry-run", "--fix", "--ignore", "--local",
              "--locked", "--no-deps", "--output", "--output-file", "--skip-editable",
              "--strict", "--system", "--vulnerability-service"),
}
CHANGING = frozenset({"install", "sync", "update", "upgrade", "uninstall", "clean"})
# Create the environment when it is missing (ensure_project), then run something else.
HANDING_OVER = frozenset({"run", "shell", "activate", "open", "check", "audit"})
# upgrade is not among them: cmd_upgrade's ensure_project makes the environment anyway.
SYSTEM_HONOURED = frozenset({"install", "sync", "update", "uninstall", "run", "check",
                             "audit"})
# The root's flags that answer and quit before any environment is made (cli()).
QUITTING = frozenset({"--help", "--man", "--envs", "--where", "--py", "--support",
                      "--clear", "--venv", "--rm", "--version"})
TRUE_VALUES = ("1", "true", "yes", "on")  # pipenv/utils/constants.py
FALSE_VALUES = ("0", "false", "no", "off")
UNSET = object()


class Args:
    """A pipenv command line as its argparse parsers read it."""

    __slots__ = ("command", "options", "unknown")

    def __init__(self) -> None:
        self.command: str | None = None
        self.options: dict[str, str | None] = {}  # long spelling; last value wins
        self.unknown = False  # an option pipenv rejects (it exits 2 before any work)


def parse(args: list[str]) -> Args:
    """The root's options up to the subcommand, then the subcommand's own; `pipenv run`
    stops at its command (the rest is the user's)."""
    out = Args()
    parser = ""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            if parser:
                if parser == "run":
                    break
                continue  # packages, shell arguments, the module of `open`
            out.command = parser = arg
            if arg not in LONG:
                return out
            continue
        values = VALUES[parser]
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            name = _long(name, parser)
            if name is None:
                if parser != "run":  # run passes unknown options on
                    out.unknown = True
                continue
            if name in values:
                if not eq:
                    if i >= len(args) or _looks_like_option(args[i]):
                        out.unknown = True  # "expected one argument"
                        break
                    value = args[i]
                    i += 1
                out.options[name] = value
            else:
                out.options[name] = None
            continue
        # short options, possibly bundled (-dq) or with the value attached (-ihttp://...)
        for k in range(1, len(arg)):
            short = "-" + arg[k]
            if short in values:
                value = arg[k + 1:]
                if not value:
                    if i >= len(args) or _looks_like_option(args[i]):
                        out.unknown = True  # "expected one argument"
                        break
                    value = args[i]
                    i += 1
                out.options[_SHORT.get(short, short)] = value
                break
            out.options[_SHORT.get(short, short)] = None
    return out


_SHORT = {"-h": "--help", "-q": "--quiet", "-v": "--verbose", "-d": "--dev", "-e": "--editable",
          "-i": "--index", "-r": "--requirements"}


def _looks_like_option(arg: str) -> bool:
    """What argparse's _parse_optional takes for an option, so never for a value: a
    dash and more, not a negative number, no space."""
    if len(arg) < 2 or not arg.startswith("-") or " " in arg:
        return False
    try:
        float(arg)
    except ValueError:
        return True
    return False


def _long(name: str, parser: str) -> str | None:
    """A long option as argparse takes it: exactly, or by an unambiguous prefix."""
    known = LONG[parser]
    if name in known:
        return name
    hits = [option for option in known if option.startswith(name)]
    return hits[0] if len(hits) == 1 else None


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    command = parsed.command
    opts = parsed.options
    if parsed.unknown or "--help" in opts or "-h" in opts:
        return None
    if command is None:  # the root: `pipenv --python X` makes (or remakes) the environment
        if any(flag in opts for flag in QUITTING):
            return None
        if _flag(environ, "PIPENV_CLEAR") or not (
                opts.get("--python") or environ.get("PIPENV_PYTHON")
                or _site_packages(opts, environ)):
            return None  # --clear quits; else with neither, pipenv prints its help
        return _plan(args, cwd, environ)
    if command not in CHANGING and command not in HANDING_OVER and command != "lock":
        return None
    system = "--system" in opts or _flag(environ, "PIPENV_SYSTEM")
    if command in SYSTEM_HONOURED and system:
        return None
    if command == "run" and not _has_run_command(args):
        return None  # pipenv exits 1 before anything: "Missing argument 'command'"
    lock_only = "--lock-only" in opts or _flag(environ, "PIPENV_LOCK_ONLY")
    create_only = command == "lock" or (
        (command in ("update", "upgrade") and lock_only)
        or (command == "upgrade" and system)
        or (command == "update" and ("--dry-run" in opts or "--outdated" in opts))
        or (command == "clean" and "--dry-run" in opts)
    )
    if command in HANDING_OVER:
        return _plan(args, cwd, environ, policy=SIGNAL_DEATH, create_only=True)
    return _plan(args, cwd, environ, create_only=create_only)


def _has_run_command(args: list[str]) -> bool:
    """Whether `run` is given the command it needs (its first non-option argument)."""
    seen_run = False
    for arg in args:
        if seen_run and (arg == "--" or not arg.startswith("-") or arg == "-"):
            return True
        if arg == "run" and not seen_run:
            seen_run = True
    return False


def _plan(args: list[str], cwd: str, environ, **how) -> Plan | None:
    env = environment(cwd, environ, is_run="run" in args)
    return Plan([(env, "virtualenv")], **how) if env else None


def _flag(environ, name: str) -> bool:
    """A boolean destination's variable as cli/options.py apply_env_vars reads it (it
    only counts when the option is not on the command line; a bad value is ignored)."""
    value = environ.get(name)
    return value is not None and value.lower() in TRUE_VALUES


def _site_packages(opts: dict, environ) -> bool:
    """The root's site_packages: the flag given, else PIPENV_SITE_PACKAGES as raw text
    (not a boolean destination: any non-empty value is true)."""
    if "--site-packages" in opts:
        return "--no-site-packages" not in opts  # both: argparse's error, exit 2
    if "--no-site-packages" in opts:
        return False
    return bool(environ.get("PIPENV_SITE_PACKAGES"))


def setting(environ, name: str, negation: bool = True):
    """environments.get_from_env: PIPENV_<NAME> as a boolean when it spells one, else
    its text; else the opposite of PIPENV_NO_<NAME>; else UNSET."""
    for key, flip in ((f"PIPENV_{name}", False), (f"PIPENV_NO_{name}", True)):
        if key.endswith(f"NO_{name}") and not negation:
            break
        value = environ.get(key)
        if value is None:
            continue
        lowered = value.lower()
        if lowered in TRUE_VALUES:
            return not flip
        if lowered in FALSE_VALUES:
            return flip
        return value
    return UNSET


def environment(cwd: str, environ, is_run: bool = False) -> str | None:
    """Where pipenv's environment for a command run in `cwd` is (VenvLocator.location),
    or None where pipenv would fail before making one."""
    active = environ.get("VIRTUAL_ENV")
    ignore = setting(environ, "IGNORE_VIRTUALENVS")
    if active and environ.get("PIPENV_ACTIVE") is None and ignore in (UNSET, False, ""):
        return absolute(active, cwd)
    pipfile = pipfile_location(cwd, environ)
    if pipfile is None:
        return None
    project = os.path.dirname(pipfile)
    # Project() chdirs to the project, except when "run" is an argument: where a
    # relative WORKON_HOME is taken from.
    here = cwd if is_run else project
    dot_venv = os.path.join(project, ".venv")
    if os.path.exists(dot_venv) and not os.path.isdir(dot_venv):
        try:
            with open(dot_venv, encoding="utf-8", errors="replace") as f:
                name = f.read().strip()
        except OSError:
            return None  # pipenv fails reading it
        if not name:
            return _in_workon_home(_venv_name(pipfile, environ), environ, here)
        if _looks_like_dir(name):
            return absolute(name, project)
        return _in_workon_home(name, environ, here)
    in_project = setting(environ, "VENV_IN_PROJECT")
    from_pipfile = None
    if in_project is UNSET or not isinstance(in_project, bool):
        from_pipfile = _pipfile_venv_in_project(pipfile)
    if in_project is True:
        use_dot_venv = True
    elif in_project is False:
        use_dot_venv = False
    elif from_pipfile is not None:
        use_dot_venv = from_pipfile
    else:
        use_dot_venv = os.path.isdir(dot_venv)
    name = _venv_name(pipfile, environ)
    if name is None:
        return None
    if not use_dot_venv:
        return _in_workon_home(name, environ, here)
    if (in_project is UNSET or not in_project) and not from_pipfile:
        # a .venv found, not asked for: an environment pipenv made before wins
        central = _in_workon_home(name, environ, here)
        if central and os.path.exists(central):
            return central
    return dot_venv


def pipfile_location(cwd: str, environ) -> str | None:
    """Pipfile.location: PIPENV_PIPFILE (which must be a file), else the nearest Pipfile
    among PIPENV_MAX_DEPTH directories upward, else `Pipfile` in cwd."""
    given = setting(environ, "PIPFILE", negation=False)
    if given is not UNSET and given:
        if not isinstance(given, str) or not os.path.isfile(absolute(given, cwd)):
            return None  # pipenv: "Given PIPENV_PIPFILE is not found!"
        return absolute(given, cwd)
    depth = setting(environ, "MAX_DEPTH")
    try:
        max_depth = (10 if depth is UNSET else int(depth)) + 1
    except ValueError:
        return None  # pipenv fails on it
    if setting(environ, "NO_INHERIT", negation=False) not in (UNSET, False, ""):
        max_depth = 2
    directory = cwd
    for _i in range(1, max_depth):
        candidate = os.path.join(directory, "Pipfile")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return os.path.join(cwd, "Pipfile")


def _pipfile_venv_in_project(pipfile: str) -> bool | None:
    """`[pipenv] venv_in_project` of the Pipfile, or None when it is not set."""
    try:
        with open(pipfile, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if b"venv_in_project" not in raw:  # most Pipfiles: no TOML parse at all
        return None
    import tomllib

    try:
        data = tomllib.loads(raw.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return None
    section = data.get("pipenv")
    value = section.get("venv_in_project") if isinstance(section, dict) else None
    return None if value is None else bool(value)


def _venv_name(pipfile: str, environ) -> str | None:
    """VenvLocator.name: PIPENV_CUSTOM_VENV_NAME, else `<dir name>-<hash>` (and
    `-<PIPENV_PYTHON>`, its basename when absolute)."""
    custom = setting(environ, "CUSTOM_VENV_NAME", negation=False)
    if custom is not UNSET and custom:
        return custom if isinstance(custom, str) else None  # a boolean: pipenv fails
    import base64
    import hashlib
    import re

    name = os.path.basename(os.path.dirname(pipfile))
    clean = re.sub(r'[ &$`!*@"()\[\]\\\r\n\t]', "_", name)[0:42]
    digest = hashlib.sha256(pipfile.encode()).digest()[:6]
    venv_name = f"{clean}-{base64.urlsafe_b64encode(digest).decode()[:8]}"
    python = setting(environ, "PYTHON", negation=False)
    if python is not UNSET and python:
        if not isinstance(python, str):
            return None
        venv_name += "-" + (os.path.basename(python) if python.startswith("/") else python)
    return venv_name


def _in_workon_home(name: str, environ, here: str) -> str | None:
    """utils/shell.py get_workon_home: WORKON_HOME, else $XDG_DATA_HOME/virtualenvs
    (~/.local/share/virtualenvs, an empty XDG_DATA_HOME giving a relative one); `~`
    expanded by HOME; a `$` in it makes pipenv fail."""
    home = environ.get("WORKON_HOME")
    if not home:
        xdg = environ.get("XDG_DATA_HOME")
        home = os.path.join("~/.local/share" if xdg is None else xdg, "virtualenvs")
    if "$" in home:
        return None  # pipenv 2026.10.3 fails on it (a str where it wants a Path)
    if home.startswith("~"):
        if not (home == "~" or home.startswith("~/")):
            return None  # ~user: not worth following
        user_home = environ.get("HOME")
        if not user_home:
            return None
        home = user_home + home[1:]
    return absolute(os.path.join(home, name), here)


def _looks_like_dir(name: str) -> bool:
    """utils/shell.py looks_like_dir: a trailing slash, or more than one part as
    PurePath splits it (`./x` is one part, `/x` two)."""
    if name.endswith("/"):
        return True
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return len(parts) + name.startswith("/") > 1
