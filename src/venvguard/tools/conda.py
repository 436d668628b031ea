"""conda, mamba and micromamba: which commands change an environment, and which one.

Path rules only: none of these tools can be installed here, so nothing below was run
against the real tool. The rules follow conda's source (conda/base/context.py:
determine_target_prefix, locate_prefix_by_name, Context.root_prefix, root_writable,
mockable_context_envs_dirs, default_prefix; conda/base/constants.py SEARCH_PATH;
_first_writable_envs_dir) and mamba's documentation (MAMBA_ROOT_PREFIX; mamba-org/mamba
#2538 "Honor envs_dirs", #3225 the 2.0 default root prefix):
- guarded: `create`, `install`, `update`/`upgrade`, `remove`/`uninstall`, `env create`,
  `env update`; never with -d/--dry-run or -h/--help. One target, shape "conda",
  policy ANY_FAILURE (these tools never hand over to a user program);
- the environment is `-p/--prefix PATH` (conda's expand: ~ and cwd), else
  `-n/--name NAME`, else for install/update/remove the active one, $CONDA_PREFIX
  (conda's default_prefix; `create` and `env *` then take the name from elsewhere:
  not followed). `-n base` / `-n root` is the root prefix;
- conda (and mamba 1, a Python script on conda's own context): NAME is the first
  `<envs dir>/NAME` that is a directory, else `<first writable envs dir>/NAME`. The
  envs dirs are $CONDA_ENVS_DIRS (alias $CONDA_ENVS_PATH, os.pathsep-separated),
  then `envs_dirs` (alias `envs_path`) of the condarc files of SEARCH_PATH (conda
  sets an unset $CONDA_ROOT to its sys.prefix, not to the root prefix), then
  `<root>/envs` and `~/.conda/envs` (the other way round when
  `<root>/conda-meta/history` is not writable). The root prefix is $CONDA_ROOT_PREFIX
  (alias $CONDA_ROOT_DIR), else conda's sys.prefix: the prefix of the python named by
  the program's shebang (`<root>/bin/python`, a directory holding conda-meta);
- micromamba (and mamba 2, the same C++ program): NAME is `<root>/envs/NAME`, the root
  being `-r/--root-prefix`, else $MAMBA_ROOT_PREFIX; with no rc file and no envs-dir
  variable set (they may add envs dirs); $MAMBA_TARGET_PREFIX set means no guard.
Unsure means unguarded (None): a condarc beyond the plain `envs_dirs:\\n  - /path`
list, several condarc files naming envs dirs (their merge order), a condarc.d
directory, `root_prefix` in a condarc, no envs dir that exists and is writable (conda
would try to create one), a `$` in a path (conda expands variables itself), option
abbreviations and short-option clusters that may hide -n/-p/-d/-h, the default
micromamba root (it changed in 2.0 and 2.x also looks next to its executable).
"""

import os

from venvguard.decision import ANY_FAILURE
from venvguard.tools import Plan, absolute

SHAPE = "conda"
# Subcommands that change an environment (conda/cli/conda_argparse.py); `env` is
# followed only to its create and update.
CHANGING = frozenset({"create", "install", "update", "upgrade", "remove", "uninstall"})
ENV_CHANGING = frozenset({"create", "update"})
# Options before the subcommand that do nothing to the environment.
ROOT_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "--debug", "--trace", "--json",
                        "--no-plugins", "-q", "--quiet"})
# The long options read here, and those that stop the guard (argparse takes an
# unambiguous abbreviation of any long option: one of these could hide behind it).
LONG = ("--name", "--prefix", "--root-prefix", "--dry-run", "--help")
SHORT = {"-n": "--name", "-p": "--prefix", "-r": "--root-prefix", "-d": "--dry-run",
         "-h": "--help"}
RESERVED = ("base", "root")  # conda's RESERVED_ENV_NAMES
NAME_DISALLOWED = frozenset("/ :#")  # conda's PREFIX_NAME_DISALLOWED_CHARS
# conda/base/constants.py SEARCH_PATH (non-Windows), in order; a trailing / is a
# condarc.d directory.
SEARCH_PATH = (
    "/etc/conda/.condarc", "/etc/conda/condarc", "/etc/conda/condarc.d/",
    "/var/lib/conda/.condarc", "/var/lib/conda/condarc", "/var/lib/conda/condarc.d/",
    "$CONDA_ROOT/.condarc", "$CONDA_ROOT/condarc", "$CONDA_ROOT/condarc.d/",
    "$XDG_CONFIG_HOME/conda/.condarc", "$XDG_CONFIG_HOME/conda/condarc",
    "$XDG_CONFIG_HOME/conda/condarc.d/",
    "~/.config/conda/.condarc", "~/.config/conda/condarc", "~/.config/conda/condarc.d/",
    "~/.conda/.condarc", "~/.conda/condarc", "~/.conda/condarc.d/", "~/.condarc",
    "$CONDA_PREFIX/.condarc", "$CONDA_PREFIX/condarc", "$CONDA_PREFIX/condarc.d/",
    "$CONDARC",
)
# What mamba's config reads besides (the .mambarc files and mamba's own directories).
MAMBA_EXTRA = (
    "/etc/conda/.mambarc", "/var/lib/conda/.mambarc",
    "$MAMBA_ROOT_PREFIX/.condarc", "$MAMBA_ROOT_PREFIX/condarc",
    "$MAMBA_ROOT_PREFIX/condarc.d/", "$MAMBA_ROOT_PREFIX/.mambarc",
    "$XDG_CONFIG_HOME/mamba/.mambarc", "$XDG_CONFIG_HOME/mamba/mambarc",
    "$XDG_CONFIG_HOME/mamba/mambarc.d/",
    "~/.config/mamba/.mambarc", "~/.config/mamba/mambarc", "~/.config/mamba/mambarc.d/",
    "~/.mamba/.mambarc", "~/.mamba/mambarc", "~/.mamba/mambarc.d/", "~/.mambarc",
    "$CONDA_PREFIX/.mambarc", "$MAMBARC",
)
MAMBA_ENVS_VARIABLES = ("CONDA_ENVS_DIRS", "CONDA_ENVS_PATH", "MAMBA_ENVS_DIRS",
                        "MAMBA_ENVS_PATH")
UNSURE = object()  # a setting that is there but not followed


class Args:
    """The options of a conda-like command line that decide its environment."""

    __slots__ = ("name", "prefix", "root_prefix")

    def __init__(self) -> None:
        self.name: str | None = None
        self.prefix: str | None = None
        self.root_prefix: str | None = None


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    """The environment a guarded conda, mamba or micromamba call changes, or None."""
    try:
        return _plan(program, args, cwd, environ)
    except (OSError, ValueError, UnicodeError):
        return None


def _plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    words = _command(args)
    if words is None:
        return None
    command, rest = words
    guarded_rest = _guarded(command, rest)
    if guarded_rest is None:
        return None
    command, rest = guarded_rest
    parsed = _options(rest)
    if parsed is None or (parsed.name is not None and parsed.prefix is not None):
        return None
    name = os.path.basename(program)
    exe = _executable(program, cwd, environ)
    conda_like = name == "conda" or (name == "mamba" and exe is not None
                                     and _shebang_root(exe) is not None)
    if not conda_like and name not in ("mamba", "micromamba"):
        return None
    if conda_like and parsed.root_prefix is not None:
        return None  # conda has no -r; an unknown option: the tool stops
    if parsed.prefix is not None:
        env = _expand(parsed.prefix, cwd, environ)
    elif parsed.name is not None:
        if command in ("create", "env create") and parsed.name in RESERVED:
            return None  # conda refuses to create base
        if conda_like:
            env = _conda_named(parsed.name, exe, cwd, environ)
        else:
            env = _mamba_named(parsed.name, parsed.root_prefix, cwd, environ)
    elif command in ("create", "env create", "env update"):
        return None  # the name comes from a file or the tool's error
    else:
        if not conda_like and environ.get("MAMBA_TARGET_PREFIX"):
            return None
        active = environ.get("CONDA_PREFIX")
        env = absolute(active, cwd) if active and active.startswith("/") else None
    if env is None:
        return None
    return Plan([(env, SHAPE)], policy=ANY_FAILURE)


def _command(args: list[str]) -> tuple[str, list[str]] | None:
    """The subcommand and what follows it, past the harmless root flags."""
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            return arg, args[i + 1:]
        if arg not in ROOT_FLAGS:
            return None  # --help, --version, or an option not followed
    return None


def _guarded(command: str, rest: list[str]) -> tuple[str, list[str]] | None:
    """("create" ... or "env create"/"env update", the rest) for a guarded command."""
    if command in CHANGING:
        return command, rest
    if command == "env" and rest and rest[0] in ENV_CHANGING:
        return f"env {rest[0]}", rest[1:]
    return None


def _options(rest: list[str]) -> Args | None:
    """-n, -p and -r as argparse (and CLI11) read them; None on --dry-run, --help,
    or a word that may hide one of the options read here."""
    out = Args()
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            option, eq, value = arg.partition("=")
            if option not in LONG:
                if any(long.startswith(option) for long in LONG):
                    return None  # an abbreviation argparse would expand
                continue
            has_value = bool(eq)
        else:
            short = arg[:2]
            if short not in SHORT:
                if any(c in SHORT_LETTERS for c in arg[2:]):
                    return None  # a cluster such as -yn NAME
                continue
            option, value, has_value = SHORT[short], arg[2:], len(arg) > 2
        if option in ("--dry-run", "--help"):
            return None
        if not has_value:
            if i >= len(rest) or rest[i].startswith("-"):
                return None  # the tool stops: the option needs a value
            value = rest[i]
            i += 1
        if not value:
            return None
        setattr(out, option[2:].replace("-", "_"), value)
    return out


SHORT_LETTERS = frozenset(key[1] for key in SHORT)


def _home(environ) -> str | None:
    home = environ.get("HOME")
    return home if home and home.startswith("/") else None


def _expand(path: str, cwd: str, environ) -> str | None:
    """conda's expand (abspath of expanduser of expandvars); a `$` left in the path
    is not followed."""
    if "$" in path:
        return None
    if path == "~" or path.startswith("~/"):
        home = _home(environ)
        if home is None:
            return None
        path = home + path[1:]
    elif path.startswith("~"):
        return None  # ~user
    return absolute(path, cwd)


def _executable(program: str, cwd: str, environ) -> str | None:
    """The file the program names: a path, else the first match on $PATH."""
    if "/" in program:
        path = absolute(program, cwd)
        return path if os.path.isfile(path) else None
    for directory in (environ.get("PATH") or "").split(os.pathsep):
        if directory:
            path = absolute(os.path.join(directory, program), cwd)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None


def _shebang_root(exe: str) -> str | None:
    """The conda install running a script: `#!<root>/bin/python…`, <root> holding
    conda-meta (that python's sys.prefix)."""
    with open(exe, "rb") as f:
        first = f.readline(4096)
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode().split()
    if len(words) != 1 or not words[0].startswith("/"):
        return None  # `#!/usr/bin/env python`, interpreter options
    python = os.path.normpath(words[0])
    bindir, base = os.path.split(python)
    if not base.startswith("python") or os.path.basename(bindir) != "bin":
        return None
    root = os.path.dirname(bindir)
    return root if os.path.isdir(os.path.join(root, "conda-meta")) else None


def _conda_root(exe: str | None, cwd: str, environ) -> str | None:
    """Context.root_prefix: $CONDA_ROOT_PREFIX (alias $CONDA_ROOT_DIR), else sys.prefix."""
    configured = [environ.get(v) for v in ("CONDA_ROOT_PREFIX", "CONDA_ROOT_DIR")]
    configured = [value for value in configured if value]
    if len(configured) > 1:
        return None
    if configured:
        return _expand(configured[0], cwd, environ)
    return _shebang_root(exe) if exe is not None else None


def _conda_named(name: str, exe: str | None, cwd: str, environ) -> str | None:
    """determine_target_prefix for -n NAME: base is the root, else an existing
    `<envs dir>/NAME`, else `<first writable envs dir>/NAME`."""
    if NAME_DISALLOWED & set(name):
        return None
    root = _conda_root(exe, cwd, environ)
    if root is None:
        return None
    if name in RESERVED:
        return root
    envs_dirs = _conda_envs_dirs(root, exe, cwd, environ)
    if envs_dirs is None:
        return None
    for envs_dir in envs_dirs:
        if os.path.isdir(envs_dir) and os.path.isdir(os.path.join(envs_dir, name)):
            return os.path.join(envs_dir, name)
    writable = _first_writable(envs_dirs)
    return os.path.join(writable, name) if writable else None


def _conda_envs_dirs(root: str, exe: str | None, cwd: str, environ) -> list[str] | None:
    """mockable_context_envs_dirs: configured dirs first, then the fixed two."""
    from_environ = [environ.get(v) for v in ("CONDA_ENVS_DIRS", "CONDA_ENVS_PATH")]
    from_environ = [value for value in from_environ if value is not None]
    if len(from_environ) > 1:
        return None  # two aliases at once: conda complains
    configured = from_environ[0].split(os.pathsep) if from_environ else []
    from_files = _condarc_envs_dirs(exe, environ)
    if from_files is None:
        return None
    configured += from_files
    history = os.path.join(root, "conda-meta", "history")
    root_writable = os.path.isfile(history) and os.access(history, os.W_OK)
    fixed = [os.path.join(root, "envs"), "~/.conda/envs"]
    dirs: list[str] = []
    for path in (*configured, *(fixed if root_writable else fixed[::-1])):
        expanded = _expand(path, cwd, environ) if path else None
        if expanded is None:
            return None
        if expanded not in dirs:
            dirs.append(expanded)
    return dirs


def _first_writable(envs_dirs: list[str]) -> str | None:
    """_first_writable_envs_dir, without creating anything: the first envs dir that
    exists and is writable; one that is missing (conda would try to make it) ends
    the search unsure."""
    for envs_dir in envs_dirs:
        if envs_dir == os.devnull:
            continue
        if not os.path.exists(envs_dir):
            return None
        magic = os.path.join(envs_dir, ".conda_envs_dir_test")
        if os.path.isdir(envs_dir) and os.access(envs_dir, os.W_OK | os.X_OK) and (
            not os.path.exists(magic) or os.access(magic, os.W_OK)
        ):
            return envs_dir
    return None


def _rc_locations(locations, environ) -> list[str] | None:
    """The search path's entries with their variables filled in (an unset one drops
    the entry, as conda's expandvars leaves it unexpanded and absent)."""
    out = []
    for location in locations:
        if location.startswith("$"):
            variable, _slash, tail = location[1:].partition("/")
            value = environ.get(variable)
            if not value:
                continue
            location = os.path.join(value, tail) if tail else value
        elif location.startswith("~/"):
            home = _home(environ)
            if home is None:
                return None
            location = home + location[1:]
        out.append(location)
    return out


def _condarc_envs_dirs(exe: str | None, environ) -> list[str] | None:
    """envs_dirs of the one condarc file that sets it, [] for none; None when a file
    is not plain enough, a condarc.d directory exists, or several files set it."""
    own: tuple[str, ...] = ()
    if not environ.get("CONDA_ROOT"):  # conda/__init__.py sets it to sys.prefix
        sys_prefix = _shebang_root(exe) if exe is not None else None
        if sys_prefix is None:
            return None
        own = tuple(os.path.join(sys_prefix, rc) for rc in (".condarc", "condarc",
                                                              "condarc.d/"))
    locations = _rc_locations((*SEARCH_PATH, *own), environ)
    if locations is None:
        return None
    found: list[list[str]] = []
    for location in dict.fromkeys(locations):
        if location.endswith("/"):
            if os.path.exists(location):
                return None
            continue
        if not os.path.exists(location):
            continue
        with open(location, encoding="utf-8") as f:
            dirs = parse_condarc(f.read())
        if dirs is UNSURE:
            return None
        if dirs is not None:
            found.append(dirs)
    if len(found) > 1:
        return None
    return found[0] if found else []


def parse_condarc(text: str):
    """The `envs_dirs` (or `envs_path`) block list of a condarc: the list, None when
    the file has none, UNSURE for a form not followed (a flow list, a string, a
    precedence marker) or a `root_prefix`/`root_dir` setting."""
    if "#!" in text:
        return UNSURE  # #!final, #!top, #!bottom
    result = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].split(" #", 1)[0].rstrip()
        i += 1
        if not line or line.lstrip().startswith("#") or line[0] in " \t":
            continue
        key, colon, value = line.partition(":")
        key = key.strip().strip("'\"")
        if key in ("root_prefix", "root_dir"):
            return UNSURE
        if key not in ("envs_dirs", "envs_path"):
            continue
        if not colon or value.strip() or result is not None:
            return UNSURE
        result = []
        while i < len(lines):
            item = lines[i].split(" #", 1)[0].rstrip()
            if item and not item.startswith((" ", "\t", "-")):
                break
            i += 1
            if not item.strip() or item.strip().startswith("#"):
                continue
            entry = item.strip()
            if not entry.startswith("- "):
                return UNSURE
            entry = entry[2:].strip()
            if entry[:1] in ("'", '"'):
                if len(entry) < 2 or entry[-1] != entry[0]:
                    return UNSURE
                entry = entry[1:-1]
            if not entry or entry[0] in "[{&*!|>%@`" or '"' in entry or "'" in entry:
                return UNSURE
            if entry.endswith(":") or ": " in entry or ":\t" in entry:
                return UNSURE  # a mapping, not a path
            result.append(entry)
    return result


def _mamba_named(name: str, root_option: str | None, cwd: str, environ) -> str | None:
    """micromamba's -n NAME: `<root>/envs/NAME` (base: the root), with the root from
    -r or $MAMBA_ROOT_PREFIX and no setting that adds envs dirs."""
    if NAME_DISALLOWED & set(name):
        return None
    root_value = root_option or environ.get("MAMBA_ROOT_PREFIX")
    if not root_value:
        return None  # the default root depends on the version and the executable
    root = _expand(root_value, cwd, environ)
    if root is None:
        return None
    if name in RESERVED:
        return root
    if any(environ.get(variable) is not None for variable in MAMBA_ENVS_VARIABLES):
        return None
    locations = _rc_locations((*SEARCH_PATH, *MAMBA_EXTRA), environ)
    if locations is None or any(os.path.exists(location) for location in locations):
        return None
    if any(os.path.exists(os.path.join(root, rc)) for rc in (".condarc", "condarc",
                                                            "condarc.d", ".mambarc")):
        return None
    return os.path.join(root, "envs", name)
