"""Settings: defaults, then `$XDG_CONFIG_HOME/venvguard/config.toml`, then variables.

Read on every guarded call, so the common case (no file, no variable) costs one
failed open and no import beyond os; tomllib is imported only when the file is
there. A bad file never stands between a user and a tool: one line names the
file, the line and the key, and every setting falls back to its default.
See docs/configuration.md.
"""

import os
import sys

FLAGS = ("--json",)  # exactly the options cli.config declares (a test holds them equal)
FAILED_RUNS = ("remove", "keep")
# name: (default, the variable that overrides the file)
DEFAULTS = {
    "unguarded": ((), "VENVGUARD_UNGUARDED"),
    "failed-runs": ("remove", "VENVGUARD_FAILED_RUNS"),
    "quiet": (False, "VENVGUARD_QUIET"),
    "snapshot": (False, "VENVGUARD_SNAPSHOT"),
}
BOOLEAN_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False,
                 "no": False, "": False}


class Settings:
    """The effective settings, and where each came from ("default", the file, a variable)."""

    __slots__ = ("failed_runs", "problem", "quiet", "snapshot", "source", "unguarded")

    def __init__(self) -> None:
        self.unguarded: tuple[str, ...] = ()
        self.failed_runs = "remove"
        self.quiet = False
        self.snapshot = False
        self.source = dict.fromkeys(DEFAULTS, "default")
        self.problem: str | None = None  # why the file was not used, one line

    def get(self, name: str):
        return getattr(self, name.replace("-", "_"))

    def set(self, name: str, value, source: str) -> None:
        setattr(self, name.replace("-", "_"), value)
        self.source[name] = source


def path(environ=os.environ) -> str:
    """$VENVGUARD_CONFIG, else config.toml in $XDG_CONFIG_HOME/venvguard (~/.config)."""
    chosen = environ.get("VENVGUARD_CONFIG")
    if chosen:
        return chosen
    base = environ.get("XDG_CONFIG_HOME")
    if not base or not base.startswith("/"):  # the XDG rule: relative means unset
        base = os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "venvguard", "config.toml")


def load(environ=os.environ) -> Settings:
    settings = Settings()
    file = path(environ)
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raw = None
    except OSError as e:
        raw = None
        settings.problem = f"{file}: {e.strerror or e}; using the defaults"
    if raw is not None:
        settings.problem = _apply_file(settings, file, raw)
    for name, (_default, variable) in DEFAULTS.items():
        value = environ.get(variable)
        if value is None:
            continue
        try:
            settings.set(name, _from_variable(name, value), variable)
        except ValueError as e:
            settings.problem = f"{variable}={value!r}: {e}; ignored"
    return settings


def _apply_file(settings: Settings, file: str, raw: bytes) -> str | None:
    """Take the file's settings, all or none; the problem, one line, if none."""
    import tomllib

    try:
        text = raw.decode("utf-8")
        table = tomllib.loads(text)
    except UnicodeDecodeError:
        return f"{file}: not UTF-8; using the defaults"
    except tomllib.TOMLDecodeError as e:
        return f"{file}: {e}; using the defaults"
    values = {}
    for name, value in table.items():
        where = f"{file}, line {_line_of(text, name)}: {name}"
        if name not in DEFAULTS:
            return f"{where}: not a setting ({', '.join(DEFAULTS)} are); using the defaults"
        try:
            values[name] = _checked(name, value)
        except ValueError as e:
            return f"{where}: {e}; using the defaults"
    for name, value in values.items():
        settings.set(name, value, file)
    return None


def _checked(name: str, value):
    """A value from the file, as the setting needs it; ValueError says what it must be."""
    if name == "unguarded":
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.split() for item in value
        ):
            raise ValueError('must be a list of commands, e.g. ["pip", "uv pip install"]')
        return tuple(value)
    if name == "failed-runs":
        if value not in FAILED_RUNS:
            raise ValueError('must be "remove" or "keep"')
        return value
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _from_variable(name: str, value: str):
    if name == "unguarded":  # commands separated by commas: "pip,uv pip install"
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if name == "failed-runs":
        if value not in FAILED_RUNS:
            raise ValueError('must be "remove" or "keep"')
        return value
    if value.lower() not in BOOLEAN_WORDS:
        raise ValueError("must be 1 or 0")
    return BOOLEAN_WORDS[value.lower()]


def _line_of(text: str, key: str) -> int | str:
    """The line that sets `key` (tomllib does not say), or "?"."""
    for number, line in enumerate(text.splitlines(), 1):
        name = line.split("=", 1)[0].strip().strip("\"'")
        if "=" in line and name == key:
            return number
    return "?"


def unguarded(settings: Settings, argv: list[str]) -> bool:
    """Whether the user asked for this command to run unguarded: an entry's first word
    is the program's name, and its other words appear in the arguments in that order
    ("uv pip" matches `uv --quiet pip install x`)."""
    if not settings.unguarded or not argv:
        return False
    program = os.path.basename(argv[0])
    for entry in settings.unguarded:
        first, *rest = entry.split()
        if first != program:
            continue
        words = iter(argv[1:])
        if all(word in words for word in rest):
            return True
    return False


def report(settings: Settings, environ=os.environ) -> dict:
    """What `venvguard config --json` prints: the file, its problem, each setting's
    value and source."""
    return {
        "file": path(environ),
        "problem": settings.problem,
        "settings": {name: {"value": list(value) if isinstance(value, tuple) else value,
                            "source": settings.source[name]}
                     for name in DEFAULTS for value in (settings.get(name),)},
    }


def lines(settings: Settings, environ=os.environ) -> list[str]:
    """What `venvguard config` prints: one line per setting, with where it came from."""
    file = path(environ)
    out = [f"file         {file}{'' if os.path.exists(file) else ' (none: the defaults)'}"]
    if settings.problem:
        out.append(f"problem      {settings.problem}")
    for name in DEFAULTS:
        value = settings.get(name)
        if isinstance(value, tuple):
            shown = "[" + ", ".join(f'"{item}"' for item in value) + "]"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = f'"{value}"'
        out.append(f"{name:<12} {shown:<30} {settings.source[name]}")
    return out


def main(args: list[str]) -> int:
    """`venvguard config [--json]`: the effective settings; exit 1 when the file or a
    variable could not be used."""
    settings = load()
    if "--json" in args:
        import json

        sys.stdout.write(json.dumps(report(settings), indent=2) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines(settings)))
    return 1 if settings.problem else 0
