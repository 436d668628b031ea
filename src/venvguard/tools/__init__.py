"""Which environments a command line can create or change, one module per tool family.

Each module's `plan(args, cwd, environ)` follows its tool's own rules and
settings, and returns a Plan, or None when the invocation is not guarded (then
the supervisor simply execs the tool).
"""

import os

from venvguard.decision import ANY_FAILURE


class Plan:
    """The environment paths an invocation may create or change, and how to judge it."""

    __slots__ = ("policy", "repair", "targets")

    def __init__(
        self, targets: list[str], *, policy: str = ANY_FAILURE, repair: str | None = None
    ) -> None:
        self.targets = targets  # absolute, normalised, never resolved through links
        self.policy = policy
        self.repair = repair  # repairs a kept environment; None: run the same command again

    def __repr__(self) -> str:
        return f"Plan({self.targets!r}, policy={self.policy!r}, repair={self.repair!r})"


def is_python(name: str) -> bool:
    """python, python3 and python3.N: the names the snippets wrap."""
    return name in ("python", "python3") or (
        name.startswith("python3.") and name[8:].isdigit()
    )


def plan(argv: list[str], cwd: str, environ: "os._Environ[str] | dict[str, str]") -> Plan | None:
    """The Plan for a full command line (argv[0] is the program), or None."""
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name == "uv":
        from venvguard.tools import uv

        return uv.plan(argv[1:], cwd, environ)
    if name == "virtualenv":
        from venvguard.tools import venv

        return venv.plan_virtualenv(argv[1:], cwd)
    if is_python(name):
        from venvguard.tools import venv

        return venv.plan_python(argv[1:], cwd)
    return None


def absolute(path: str, base: str) -> str:
    """An absolute, normalised path, with no symlink resolved (a `.venv` link stays one)."""
    return os.path.normpath(os.path.join(base, path))
