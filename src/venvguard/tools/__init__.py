"""Which environments a command line can create or change, one module per tool family.

Each module's `plan(program, args, cwd, environ)` follows its tool's own rules
and settings, and returns a Plan, or None when the invocation is not guarded (then
the supervisor simply execs the tool). A module may also offer
`reinstall(argv, env, dists)`: the command that repairs those distributions in an
environment it keeps, in that tool's own way.
"""

import os

from venvguard.decision import ANY_FAILURE


class Plan:
    """The environment paths an invocation may create or change, and how to judge it."""

    __slots__ = ("create_only", "policy", "repair", "targets")

    def __init__(
        self, targets: list[tuple[str, str]], *, policy: str = ANY_FAILURE,
        repair: str | None = None, create_only: bool = False,
    ) -> None:
        # (path, shape): absolute, normalised, never resolved through links, and the
        # tool whose environment shape it must have to be removed (decision.py).
        self.targets = targets
        self.policy = policy
        self.repair = repair  # repairs a kept environment; None: run the same command again
        self.create_only = create_only  # guarded only while no target exists (uv run)

    @property
    def paths(self) -> list[str]:
        return [path for path, _shape in self.targets]

    def __repr__(self) -> str:
        return (f"Plan({self.targets!r}, policy={self.policy!r}, repair={self.repair!r}, "
                f"create_only={self.create_only!r})")


class Recorder:
    """The environment as a plan reads it, noting each variable it looks at, so that
    the journal can hold what a later settle needs to plan the same command again."""

    __slots__ = ("environ", "read")

    def __init__(self, environ) -> None:
        self.environ = environ
        self.read: dict[str, str] = {}

    def get(self, key: str, default=None):
        value = self.environ.get(key)
        if value is None:
            return default
        self.read[key] = value
        return value


# Program name -> the module of its family (venvguard.tools.<module>).
FAMILIES = {
    "poetry": "poetry", "pdm": "pdm", "hatch": "hatch", "pipenv": "pipenv",
    "tox": "tox", "nox": "nox", "pixi": "pixi",
    "conda": "conda", "mamba": "conda", "micromamba": "conda",
}


def family(name: str):
    """The module for a program name of FAMILIES, imported only when asked for."""
    return __import__(f"venvguard.tools.{FAMILIES[name]}", fromlist=["plan"])


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
    if name in FAMILIES:
        return family(name).plan(argv[0], argv[1:], cwd, environ)
    if name == "uv":
        from venvguard.tools import uv

        return uv.plan(argv[1:], cwd, environ)
    if name == "virtualenv":
        from venvguard.tools import venv

        return venv.plan_virtualenv(argv[1:], cwd)
    if name in ("pip", "pip3") or (name.startswith("pip3.") and name[5:].isdigit()):
        from venvguard.tools import pip

        return pip.plan_pip(argv[0], argv[1:], cwd, environ)
    if is_python(name):
        from venvguard.tools import venv

        module, rest = venv.module_of(argv[1:])
        if module == "pip":
            from venvguard.tools import pip

            return pip.plan_python_m_pip(argv[0], rest, cwd, environ)
        return venv.plan_python(argv[1:], cwd)
    return None


def worth_guarding(plan: Plan | None) -> bool:
    """A plan with targets, unless it only guards creating them and one is there
    already (a dangling link counts: the tool will not make the environment)."""
    if plan is None or not plan.targets:
        return False
    return not (plan.create_only and any(os.path.lexists(p) for p in plan.paths))


def absolute(path: str, base: str) -> str:
    """An absolute path in its one normal spelling, with no symlink resolved (a `.venv`
    link stays one): `//x` is `/x`."""
    path = os.path.normpath(os.path.join(base, path))
    return "/" + path.lstrip("/") if path.startswith("//") else path


def reinstall(argv: list[str], shape: str, env: str, dists: list[tuple[str, str]]) -> str:
    """The command that reinstalls these (name, version) distributions into the
    environment at `env` (as shown to the user), in the way of the tool that made it:
    a uv project's own sync, `uv pip` for another uv environment (it has no pip),
    else the environment's pip."""
    from shlex import quote

    name = os.path.basename(argv[0])
    if name in FAMILIES:
        own = getattr(family(name), "reinstall", None)
        command = own(argv, env, dists) if own else None
        if command:
            return command
    if name == "uv":
        from venvguard.tools import uv

        if uv.parse(argv[1:]).command in uv.PROJECT_COMMANDS:
            return "uv sync" + "".join(f" --reinstall-package {quote(n)}" for n, _v in dists)
    pinned = " ".join(quote(f"{name}=={version}" if version else name) for name, version in dists)
    env = quote(env)
    if shape == "uv":
        return f"uv pip install --reinstall --no-deps --python {env} {pinned}"
    return f"{env}/bin/python -m pip install --force-reinstall --no-deps {pinned}"
