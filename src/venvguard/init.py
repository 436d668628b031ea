"""`venvguard init [SHELL] [--cache]`: print the shell snippet (stdlib only: it runs
at every shell start, so it reads a file and prints it, and imports nothing else).

The snippets are real files (shell/venvguard.bash, .zsh, .fish) beside this module.
Two things are filled in here: venvguard's version (doctor compares it), and the
list of python3.N interpreters on PATH, which get a wrapper each like python and
python3, as does the pip3.N beside each. With
--cache, the snippet is written to $XDG_CACHE_HOME/venvguard/init.SHELL behind a
header (shell/cache.SHELL) that rewrites it when it goes stale, and the rc line
that sources it is printed:
shell start-up then starts no process at all.
"""

import os
import sys

SHELLS = ("bash", "zsh", "fish")
# The wrapped names every snippet lists once; init appends the python3.N it finds.
WRAPPED = " python python3"
# The python3.N that get a wrapper: 3.6 (the oldest with a working venv) to 3.29.
# The cached snippets' staleness checks (shell/cache.*) count the same range.
MINORS = range(6, 30)
VERSION = "@VERSION@"  # in each snippet once: the version of venvguard that printed it
SHELL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shell")
USAGE = "usage: venvguard init [bash|zsh|fish] [--cache]"


def main(args: list[str]) -> int:
    cache = "--cache" in args
    shell = named_shell([a for a in args if a != "--cache"], "init", USAGE)
    if shell is None:
        return 2
    pythons = python_versions(os.environ.get("PATH", ""))
    if not cache:
        sys.stdout.write(snippet(shell, pythons))
        return 0
    try:
        path = write_cache(shell, pythons, os.environ.get("PATH", ""))
    except OSError as e:
        _error(f"cannot write the cached snippet ({e.strerror or e}); "
               f"use eval \"$(venvguard init {shell})\" instead")
        return 1
    sys.stdout.write(rc_line(shell, path) + "\n")
    return 0


def named_shell(args: list[str], command: str, usage: str) -> str | None:
    """The one shell `args` name (guessed when they name none), or None once the
    reason is said in one line (the caller exits 2). Shared with `completion`."""
    if len(args) > 1 or any(a.startswith("-") for a in args):
        _error(usage)
        return None
    shell = args[0] if args else detect()
    if shell is None:
        _error(f"cannot tell which shell this is; name it: venvguard {command} bash|zsh|fish")
        return None
    if shell not in SHELLS:
        _error(f"unknown shell {shell!r}; venvguard knows bash, zsh and fish")
        return None
    return shell


def _read(name: str) -> str:
    with open(os.path.join(SHELL_DIR, name), encoding="utf-8") as f:
        return f.read()


def snippet(shell: str, pythons: list[str]) -> str:
    """The snippet, wrapping each python3.N and its pip3.N (a virtual environment's
    bin/ has both), and knowing its version (doctor tells a shell that loaded an
    older one)."""
    from venvguard import __version__

    text = _read(f"venvguard.{shell}").replace(VERSION, __version__, 1)
    names = [*pythons, *(f"pip{p[6:]}" for p in pythons)]
    return text.replace(WRAPPED, WRAPPED + "".join(" " + n for n in names), 1)


def cache_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """$XDG_CACHE_HOME/venvguard (a relative XDG_CACHE_HOME is ignored, as the XDG
    spec says), else ~/.cache/venvguard."""
    base = environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "venvguard")


def cached_text(shell: str, pythons: list[str], path: str) -> str:
    """The cached file: the staleness check (with what it was made from), then the
    snippet."""
    if shell == "fish":  # inside '...': only \ and ' are special
        quoted = path.replace("\\", "\\\\").replace("'", "\\'")
    else:
        quoted = path.replace("'", "'\\''")
    header = _read(f"cache.{shell}").replace("@PYTHONS@", " ".join(sorted(pythons)), 1)
    return header.replace("@PATH@", quoted, 1) + snippet(shell, pythons)


def write_cache(shell: str, pythons: list[str], path_variable: str) -> str:
    """Write the cached snippet atomically; its path. OSError."""
    directory = cache_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, f"init.{shell}")
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(cached_text(shell, pythons, path_variable))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def rc_line(shell: str, path: str) -> str:
    """The one line for the rc file: source the cache, making it first if need be;
    silent, with status 0, where venvguard is not installed."""
    home = os.environ.get("HOME", "")
    if home and home != "/" and path.startswith(home.rstrip("/") + "/"):
        quoted = '"$HOME' + path[len(home.rstrip("/")):] + '"'
    else:
        quoted = "'" + path.replace("'", "'\\''") + "'"
    make = f"venvguard init {shell} --cache >/dev/null"
    if shell == "fish":
        return (f"if test -r {quoted}; or begin; command -q venvguard; and {make}; end; "
                f"source {quoted}; end")
    return (f"if [ -r {quoted} ] || {{ command -v venvguard >/dev/null && {make}; }}; "
            f"then . {quoted}; fi")


def python_versions(path: str) -> list[str]:
    """Every python3.N on PATH (N in MINORS), once each, in version order. Looked up
    name by name: listing every PATH directory costs a shell start about 1 ms."""
    found: set[int] = set()
    for directory in dict.fromkeys(path.split(os.pathsep)):
        try:
            fd = os.open(directory or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            for minor in MINORS:
                if minor not in found:
                    try:
                        os.lstat(f"python3.{minor}", dir_fd=fd)
                    except OSError:
                        continue
                    found.add(minor)
        finally:
            os.close(fd)
    return [f"python3.{minor}" for minor in sorted(found)]


def detect() -> str | None:
    """The shell this was started from, by shellingham (as `init` with no argument)."""
    import shellingham

    try:
        name, _path = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure:
        return None
    return name


def _error(text: str) -> None:
    from venvguard.messages import say

    say(text)
