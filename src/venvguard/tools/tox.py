"""tox: the environments a `tox` run makes, and where they are.

tox's rules (checked against tox 4.67, tox/config/source/discover.py discover_source,
config/main.py Config.make, config/sets.py CoreConfigSet, tox_env/api.py
ToxEnv.register_config, session/env_select.py):
- the config is `-c/--conf` (a file, or a directory holding one), else the first of
  tox.ini (any), setup.cfg (with [tox:tox]), pyproject.toml ([tool.tox] with native
  keys, else its `legacy_tox_ini` string), tox.toml in the working directory or above;
  the root is that file's directory, resolved;
- the work dir is `--workdir` (resolved), else the core `work_dir`/`toxworkdir`
  setting (relative: against the root), else `<root>/.tox`;
- the environments are `-e` (repeatable, comma separated), else a non-empty TOXENV,
  else the core `env_list`/`envlist`, with `{a,b}` groups expanded; each lives at
  `<work dir>/<name>` unless `env_dir`/`envdir` says otherwise (not followed);
- tox makes them with virtualenv and reuses one that is there (`-r` empties and remakes
  it). Ctrl-C: tox tears down its pip and exits 1, leaving the half-made environment.
Only `tox`, `tox run`/`r` and `tox run-parallel`/`p` are guarded, with every selected
environment. tox's exit status is its test commands': a non-zero one says nothing
about the environments, so only a signal the supervisor saw marks the run unfinished
(INTERRUPT_ONLY), and the environments have tox's shape (its log/, tmp/ and
.tox-info.json beside virtualenv's files). A Ctrl-C during the test commands of the
run that made an environment cannot be told from one during its install: that
environment is removed too, and the next tox makes it again. Left out (not
guarded): the `.pkg` packaging environment, labels (-m), factors (-f), --root,
`{...}` substitutions, `ALL`, nested braces, generated TOML environments (env_base)
and any option not listed here.
"""

import configparser
import os

from venvguard.decision import INTERRUPT_ONLY
from venvguard.tools import Plan, absolute

COMMANDS = frozenset({"run", "r", "run-parallel", "p"})
# Options taking a value that move nothing; those that move or select environments
# in ways not followed (-m, -f, --root, -x, ...) are unknown, so not guarded.
VALUES = frozenset({"--result-json", "--hashseed", "--exit-and-dump-after", "--colored",
                    "--stderr-color", "--skip-env", "-p", "--parallel"})
FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "-r", "--recreate", "-n", "--notest",
                   "--no-recreate-pkg", "--skip-pkg-install", "--no-capture",
                   "--list-dependencies", "--no-list-dependencies", "--fail-fast", "--pre",
                   "-o", "--parallel-live", "--parallel-no-spinner"})
SOURCES = ("tox.ini", "setup.cfg", "pyproject.toml", "tox.toml")  # discover.py's order


class Args:
    __slots__ = ("config", "envs", "work_dir")

    def __init__(self) -> None:
        self.config: str | None = None
        self.work_dir: str | None = None
        self.envs: list[str] = []


def parse(args: list[str]) -> Args | None:
    """The options of a run (argparse: anywhere up to `--`); None for another command,
    help or an option not followed."""
    out = Args()
    command = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            if command is not None or arg not in COMMANDS:
                return None
            command = arg
            continue
        name, eq, value = arg.partition("=")
        if not name.startswith("--") and len(name) > 2 and not eq:
            if name[:2] in ("-e", "-c"):  # -eNAME
                name, eq, value = name[:2], "=", name[2:]
            elif set(name[1:]) <= {"v", "q", "r", "n"}:  # -vvr
                continue
        if name in ("-e", "-c", "--conf", "--workdir") or name in VALUES:
            if not eq:
                if i >= len(args):
                    return None
                value = args[i]
                i += 1
            if name == "-e":
                out.envs.append(value)
            elif name in ("-c", "--conf"):
                out.config = value
            elif name == "--workdir":
                out.work_dir = value
            continue
        if name not in FLAGS or eq:
            return None
    return out


def expand(value: str) -> list[str] | None:
    """Comma or newline separated names with `{a,b}` groups expanded (factor.py
    expand_env_with_negation, its simple cases); None for what is not followed."""
    names: list[str] = []
    for part in _split(value):
        if "{" not in part:
            names.append(part)
            continue
        head, _, rest = part.partition("{")
        inner, close, tail = rest.partition("}")
        if not close or "{" in inner:
            return None
        tails = expand(tail) if tail else [""]
        if tails is None:
            return None
        names.extend(head + item.strip() + t for item in inner.split(",") for t in tails)
    return names


def _split(value: str) -> list[str]:
    """Split at commas and newlines outside braces."""
    parts, depth, word = [], 0, ""
    for ch in value:
        if ch in ",\n" and depth == 0:
            parts.append(word)
            word = ""
            continue
        depth += (ch == "{") - (ch == "}")
        word += ch
    parts.append(word)
    return [p.strip() for p in parts if p.strip() and not p.strip().startswith("#")]


# --- config --------------------------------------------------------------------------


class Config:
    """The settings followed: the core env list and work dir, and whether any
    environment section moves its env_dir."""

    def __init__(self, path: str, env_list, work_dir, moves) -> None:
        self.root = os.path.realpath(os.path.dirname(path))  # config/main.py resolves it
        self.env_list = env_list  # a str (ini), a list (toml) or None
        self.work_dir = work_dir
        self.moves = moves  # env name -> True when its env_dir is set; "*" for all


def _ini(text: str, core: str, prefix: str, path: str, *, required: bool = False):
    """IniSource: tox.ini needs no core section, setup.cfg its [tox:tox]."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section(core):
        if required:
            return False
        parser.add_section(core)
    moves = {}
    for section in parser.sections():
        keys = set(parser[section])
        if keys & {"env_dir", "envdir"}:
            if section == prefix:
                moves["*"] = True
            elif section.startswith(prefix + ":"):
                moves[section[len(prefix) + 1:]] = True
    section = parser[core]
    env_list = section.get("env_list", section.get("envlist"))
    work_dir = section.get("work_dir", section.get("toxworkdir"))
    return Config(path, env_list, work_dir, moves)


def _toml_native(table: dict, path: str):
    moves = {}
    if "env_base" in table:  # generated environments: not followed
        moves["*"] = True
    for key in ("env_run_base", "env_pkg_base"):
        if isinstance(table.get(key), dict) and "env_dir" in table[key]:
            moves["*"] = True
    envs = table.get("env")
    if isinstance(envs, dict):
        for name, conf in envs.items():
            if isinstance(conf, dict) and "env_dir" in conf:
                moves[name] = True
    env_list = table.get("env_list")  # an array (a string or a product: not followed)
    return Config(path, env_list if isinstance(env_list, list) else None,
                  table.get("work_dir"), moves)


def load(path: str):
    """A Config from one file; False when it holds no tox config; None when unreadable."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    name = os.path.basename(path)
    if name == "tox.ini":
        return _ini(text, "tox", "testenv", path)
    if name == "setup.cfg":
        return _ini(text, "tox:tox", "testenv", path, required=True)
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    if name == "pyproject.toml":
        table = data.get("tool", {}).get("tox") if isinstance(data.get("tool"), dict) else None
        if not isinstance(table, dict):
            return False
        legacy = table.get("legacy_tox_ini")
        if set(table) - {"legacy_tox_ini"}:  # TomlPyProject comes before LegacyToml
            return _toml_native(table, path)
        return _ini(legacy, "tox", "testenv", path) if isinstance(legacy, str) else False
    return _toml_native(data, path)  # tox.toml


def find(config: str | None, cwd: str):
    """discover.py discover_source: the Config tox would read, or None."""
    if config is not None:
        path = absolute(config, cwd)
        if os.path.isdir(path):
            for name in SOURCES:
                if os.path.exists(os.path.join(path, name)):
                    found = load(os.path.join(path, name))
                    if found is not False:
                        return found
            return None
        return load(path) or None
    base = os.path.realpath(cwd)  # tox starts from Path.cwd()
    while True:
        for name in SOURCES:
            candidate = os.path.join(base, name)
            if os.path.exists(candidate):
                found = load(candidate)
                if found is not False:
                    return found
        parent = os.path.dirname(base)
        if parent == base:
            return None
        base = parent


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    parsed = parse(args)
    if parsed is None:
        return None
    config = find(parsed.config, cwd)
    if not config:
        return None
    if parsed.envs:
        selected = ",".join(parsed.envs)
    elif environ.get("TOXENV"):
        selected = environ.get("TOXENV")
    else:
        selected = config.env_list
    if isinstance(selected, list):
        names = [n for n in selected if isinstance(n, str)]
        if len(names) != len(selected) or any("{" in n for n in names):
            return None
    elif isinstance(selected, str):
        names = expand(selected)
    else:
        return None
    if not names or "ALL" in names or "*" in config.moves:
        return None
    if any(n in config.moves or "/" in n or n.startswith(".") or "{" in n for n in names):
        return None
    if parsed.work_dir is not None:
        work_dir = os.path.realpath(absolute(parsed.work_dir, cwd))
    elif config.work_dir is None:
        work_dir = os.path.join(config.root, ".tox")
    elif isinstance(config.work_dir, str) and not config.work_dir.startswith(("{", "~")) \
            and "{" not in config.work_dir:
        work_dir = absolute(config.work_dir, config.root)
    else:
        return None
    targets = [(os.path.join(work_dir, n), "tox") for n in dict.fromkeys(names)]
    return Plan(targets, policy=INTERRUPT_ONLY)


def reinstall(argv: list[str], env: str, dists) -> str | None:
    """tox's own repair of a kept environment: recreate it (`-r -e NAME`), with the
    run's -c and --workdir."""
    from shlex import quote

    parsed = parse(argv[1:])
    if parsed is None:
        return None
    words = [os.path.basename(argv[0])]
    if parsed.config is not None:
        words += ["-c", parsed.config]
    if parsed.work_dir is not None:
        words += ["--workdir", parsed.work_dir]
    words += ["-r", "-e", os.path.basename(env)]
    return " ".join(quote(w) for w in words)
