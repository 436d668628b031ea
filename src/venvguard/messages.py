"""One-line messages on stderr, prefixed `venvguard:`.

Coloured only on a terminal and without NO_COLOR; with the quiet setting, only
what asks for attention. Writing never raises: after a
hang-up the terminal answers EIO, and cleanup must go on regardless.
"""

import os
import sys


def _prefix() -> str:
    try:
        tty = sys.stderr.isatty()
    except (OSError, ValueError):
        tty = False
    if tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb":
        return "\033[1;33mvenvguard:\033[0m "
    return "venvguard: "


def say(text: str, notice: bool = False) -> None:
    """Print one line on stderr; lose it quietly if stderr is gone. A notice (all went
    to plan: an environment removed or restored) is left out with the quiet setting."""
    if notice and _quiet():
        return
    try:
        sys.stderr.write(_prefix() + text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


_settings = []  # the settings, loaded at the first notice


def _quiet() -> bool:
    if not _settings:
        from venvguard import config

        _settings.append(config.load())
    return _settings[0].quiet


def printable(text: str) -> str:
    """Escape control characters so that a path can never break a line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def show_path(path: str, cwd: str | None = None) -> str:
    """A path as a person would type it here: relative below cwd, ~ below home."""
    cwd = cwd or _getcwd()
    home = os.environ.get("HOME", "")
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        shown = path[len(cwd.rstrip("/")) + 1 :]
    elif home and home != "/" and path.startswith(home.rstrip("/") + "/"):
        shown = "~/" + path[len(home.rstrip("/")) + 1 :]
    else:
        shown = path
    return printable(shown)


# The characters a shell word needs no quotes for (shlex.quote's, without importing
# shlex and re into every run that has something to say).
PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-")


def show_command(argv: list[str], limit: int = 60) -> str:
    """A command line for a message, as you would type it: program name, arguments
    quoted for the shell where they need it (`python -c 'print(1)'`), shortened."""
    words = [os.path.basename(argv[0]), *argv[1:]] if argv else []
    text = printable(" ".join(map(shell_word, words)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shell_word(word: str) -> str:
    if word and PLAIN.issuperset(word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def _getcwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return ""
