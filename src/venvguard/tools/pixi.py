"""pixi: which of its commands create or change a project environment, and where it is.

pixi's rules (from its documentation: the manifest, environments and configuration
pages; pixi is not installable here, so these are path rules only, unit-tested):
- the project is `--manifest-path` (a manifest file, or a directory holding one),
  else the nearest directory upward holding `pixi.toml`, or a `pyproject.toml` with
  a `[tool.pixi` table (pixi.toml first);
- each environment lives at `<project>/.pixi/envs/<name>`: `-e/--environment`, else
  `default`; `install --all` makes every one the manifest's `[environments]` names;
- the `detached-environments` setting moves them to a cache directory with a hashed
  name: wherever it is set, nothing is guarded (not followed);
- `install`, `add` and `remove` install into the environment (not with
  `--no-install`, nor `add/remove --feature`, which choose other environments);
  `run` and `shell` create it when it is missing and then hand over: guarded only
  then, and unfinished only when pixi dies of the signal.
The environments are conda prefixes (`conda-meta/`, no pyvenv.cfg): shape "conda".
"""

import os

from venvguard.decision import ANY_FAILURE, CONDA, SIGNAL_DEATH
from venvguard.tools import Plan, absolute

INSTALLING = frozenset({"install", "add", "remove"})  # the names the snippets route
HANDING_OVER = frozenset({"run", "shell"})
# Options that take the next word as their value, where they matter here.
VALUES = frozenset({"-e", "--environment", "--manifest-path", "-m", "--feature", "-f",
                    "--platform", "-p", "--pypi-keyring-provider", "--concurrent-solves",
                    "--concurrent-downloads", "--color", "--change-ps1", "--git", "--branch",
                    "--tag", "--rev", "--subdir", "--auth-file", "--tls-root-certs"})
QUITS = frozenset({"-h", "--help", "-V", "--version"})


def parse(args: list[str]):
    """(command, {option: value}, flags) up to the user's program of run/shell, or None."""
    command = None
    options: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--" or arg in QUITS:
            return (command, options, flags) if arg == "--" and command else None
        if arg.startswith("-") and arg != "-":
            name, eq, value = arg.partition("=")
            if name in VALUES:
                if not eq:
                    if i >= len(args):
                        return None
                    value = args[i]
                    i += 1
                options[name] = value
            else:
                flags.add(name)
            continue
        if command is None:
            command = arg
            continue
        if command in HANDING_OVER:
            break  # the user's program and its arguments
    return (command, options, flags) if command else None


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    if parsed is None:
        return None
    command, options, flags = parsed
    if command not in INSTALLING | HANDING_OVER or "--no-install" in flags:
        return None
    if command != "install" and ("--feature" in options or "-f" in options):
        return None
    manifest = find_manifest(options.get("--manifest-path") or options.get("-m"), cwd)
    if manifest is None or _detached(os.path.dirname(manifest), environ):
        return None
    root = os.path.dirname(manifest)
    if command == "install" and ("--all" in flags or "-a" in flags):
        names = environments(manifest)
        if names is None:
            return None
    else:
        names = [options.get("-e") or options.get("--environment") or "default"]
    if any("/" in n or n in ("", ".", "..") for n in names):
        return None
    targets = [(os.path.join(root, ".pixi", "envs", n), CONDA) for n in names]
    if command in HANDING_OVER:
        return Plan(targets, policy=SIGNAL_DEATH, create_only=True)
    return Plan(targets, policy=ANY_FAILURE)


def find_manifest(given: str | None, cwd: str) -> str | None:
    """The manifest pixi reads: the one given (a file, or a directory holding one),
    else the nearest upward."""
    if given:
        path = absolute(given, cwd)
        if os.path.isdir(path):
            return _manifest_in(path)
        return path if os.path.isfile(path) else None
    directory = cwd
    while True:
        found = _manifest_in(directory)
        if found:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _manifest_in(directory: str) -> str | None:
    pixi_toml = os.path.join(directory, "pixi.toml")
    if os.path.isfile(pixi_toml):
        return pixi_toml
    pyproject = os.path.join(directory, "pyproject.toml")
    try:
        with open(pyproject, encoding="utf-8", errors="replace") as f:
            if "[tool.pixi" in f.read():
                return pyproject
    except OSError:
        pass
    return None


def environments(manifest: str) -> list[str] | None:
    """`default` and every environment the manifest's [environments] table names."""
    import tomllib

    try:
        with open(manifest, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    if os.path.basename(manifest) == "pyproject.toml":
        data = data.get("tool", {}).get("pixi", {})
    table = data.get("environments", {}) if isinstance(data, dict) else {}
    if not isinstance(table, dict):
        return None
    return list(dict.fromkeys(["default", *table]))


def _detached(root: str, environ) -> bool:
    """Is `detached-environments` set in any config file pixi reads (or unreadable)?"""
    home = environ.get("HOME") or os.path.expanduser("~")
    config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    candidates = [
        "/etc/pixi/config.toml",
        os.path.join(config_home, "pixi", "config.toml"),
        os.path.join(home, ".pixi", "config.toml"),
        os.path.join(root, ".pixi", "config.toml"),
    ]
    if environ.get("PIXI_HOME"):
        candidates.append(os.path.join(environ.get("PIXI_HOME"), "config.toml"))
    for path in candidates:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if "detached-environments" in f.read():
                    return True
        except FileNotFoundError:
            continue
        except OSError:
            return True  # unreadable: pixi may read what we cannot; do not guess
    return False
