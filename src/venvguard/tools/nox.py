"""nox: every session it runs gets an environment at `<envdir>/<signature>`.

nox's rules (checked against nox 2026.10.20):
- options (_options.NoxConfig, parsed by _option_set.Options.parser: argparse,
  allow_abbrev=False): list options (`-s/-e/--session(s)`, `-p/--python(s)`,
  `--extra-python(s)`, `-P/--force-python(s)`, `-t/--tags`) take every word up to the
  next option; a word before `--` is an error (_merge._strip_posargs), as is an unknown
  option; `-h`, `--version`, `-l/--list(-sessions)` and `--usage` run no session;
- NOXSESSION, NOXPYTHON, NOXEXTRAPYTHON, NOXFORCEPYTHON (split on `,`) and
  NOX_DEFAULT_VENV_BACKEND stand in for options not given (Options.expand);
  `-P X` is `-p X --extra-python X` and `--no-venv` is `-fb none` (_merge.finalize);
- the noxfile is `-f/--noxfile` (default `noxfile.py`, `$VARS` expanded); nox works in
  the real path of its directory (tasks.load_nox_module), where a relative envdir
  (`--envdir`, else `nox.options.envdir`, else `.nox`) is taken;
- `nox.options.X` of the noxfile fill what the command line and environment leave
  unset, and its sessions/keywords/tags only when none of the three is given
  (_merge.merge_noxfile_options);
- a session's runs (manifest.make_session, _decorators.Call, _parametrize): one per
  python of a list (plus extra pythons) and per parametrization; its environment is
  sessions._normalize_path(envdir, first signature) (`tests`, `tests-3.11`,
  `tests(x=1)`, `tests-3.11(x=1)` become `tests`, `tests-3-11`, `tests-x-1`, ...;
  hashed when the path, spelled as nox spells it, is too long);
- the runs chosen (tasks.filter_manifest): named ones (`-s`; an unknown name stops nox),
  else the `default` ones; `-t` and `-k` choose among all instead; `-p` keeps those of
  these pythons; then `requires=` (formatted with `{python}`) adds prerequisites unless
  `--no-dependencies` (manifest.add_dependencies);
- the backend is `-fb`, else the session's `venv_backend`, else `-db`/`virtualenv`;
  `a|b` is a fallback list (sessions.resolve_venv_backends, virtualenv.get_virtualenv);
  `none` or `python=False` make no environment; conda, mamba, micromamba and rattler
  environments are not venvs and are not guarded.
The noxfile is read with `ast`, never run: only its literal top-level
`@nox.session(...)`, `@nox.parametrize(...)` and `nox.options.X = ...` count. A named
session that is not found there leaves the call unguarded (nox stops on it, or it is
made in a way that cannot be read), and so does a script block in the noxfile (nox's
script mode may first make `<envdir>/_nox_script_mode`, relative to the cwd).
Without `-r` nox deletes and remakes an existing environment: it existed before the
run, so it is kept and checked, never removed.
"""

import ast
import hashlib
import os
import re
import unicodedata

from venvguard.decision import INTERRUPT_ONLY
from venvguard.tools import Plan, absolute

# Each option of nox._options.NoxConfig the command line takes, by how it is parsed.
FLAGS = frozenset({
    "--allow-parallel", "--no-allow-parallel", "--error-on-external-run",
    "--no-error-on-external-run", "--error-on-missing-interpreters",
    "--no-error-on-missing-interpreters", "-r", "--reuse-existing-virtualenvs", "-N",
    "--no-reuse-existing-virtualenvs", "-x", "--stop-on-first-error",
    "--no-stop-on-first-error", "-v", "--verbose", "--no-verbose", "--json", "--no-venv",
    "-R", "--no-dependencies", "--install-only", "--no-install", "--non-interactive",
    "-ts", "--add-timestamp", "--nocolor", "--no-color", "--forcecolor", "--force-color",
    "--parallel-worker",
})
FLAG_KEYS = {"--no-venv": "no_venv", "--no-dependencies": "no_dependencies"}
SINGLE = {
    "-db": "default_venv_backend", "--default-venv-backend": "default_venv_backend",
    "--download-python": None, "--envdir": "envdir", "-fb": "force_venv_backend",
    "--force-venv-backend": "force_venv_backend", "-k": "keywords", "--keywords": "keywords",
    "-j": None, "--parallel": None, "--report": None, "--reuse-venv": None,
    "--script-mode": "script_mode", "--script-venv-backend": None, "-f": "noxfile",
    "--noxfile": "noxfile",
}
LISTS = {
    "-s": "sessions", "-e": "sessions", "--session": "sessions", "--sessions": "sessions",
    "-p": "pythons", "--python": "pythons", "--pythons": "pythons",
    "--extra-python": "extra_pythons", "--extra-pythons": "extra_pythons",
    "-P": "force_pythons", "--force-python": "force_pythons", "--force-pythons": "force_pythons",
    "-t": "tags", "--tags": "tags",
}
NOT_RUN = frozenset({"-h", "--help", "--version", "-l", "--list", "--list-sessions", "--usage"})
# Short options argparse also reads with the value attached (`-stests`).
ATTACHED = frozenset(n for n in (*SINGLE, *LISTS) if len(n) == 2)
# Options the environment stands in for (Options.expand).
ENV_VARS = {
    "sessions": "NOXSESSION", "pythons": "NOXPYTHON", "extra_pythons": "NOXEXTRAPYTHON",
    "force_pythons": "NOXFORCEPYTHON", "default_venv_backend": "NOX_DEFAULT_VENV_BACKEND",
}
LIST_KEYS = frozenset(LISTS.values())
BACKENDS = frozenset({"conda", "mamba", "micromamba", "rattler", "virtualenv", "venv", "uv",
                      "none"})  # virtualenv.ALL_VENVS: the choices of -db and -fb
# The venv backends, each with the shapes of those it may stand in for, widest last:
# virtualenv writes all that uv writes, uv all that venv writes (decision.EARLY_ENTRIES).
WIDTH = {"venv": 0, "uv": 1, "virtualenv": 2}
UNKNOWN = object()


def _is_option(word: str) -> bool:
    """argparse takes a word for an option when it starts with `-` and is not `-` alone
    (nox has no option that looks like a negative number)."""
    return word.startswith("-") and word != "-" and not _negative_number(word)


def _negative_number(word: str) -> bool:
    return re.fullmatch(r"-\d+$|-\d*\.\d+", word) is not None


def _known(name: str) -> bool:
    return name in FLAGS or name in SINGLE or name in LISTS or name in NOT_RUN


def parse(args: list[str]) -> dict | None:
    """nox's options as given (last one wins, as with argparse), or None for a call
    that runs no session or that nox refuses (an unknown option, a word before `--`)."""
    out: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not _is_option(arg):
            return None  # _strip_posargs: "Unknown argument(s)"
        name, value = arg, None
        if not _known(arg):
            if "=" in arg and _known(arg.split("=", 1)[0]):
                name, value = arg.split("=", 1)
            elif arg[:2] in ATTACHED:
                name, value = arg[:2], arg[2:]
        if name in NOT_RUN:
            return None
        if name in FLAGS and value is None:
            if name in FLAG_KEYS:
                out[FLAG_KEYS[name]] = True
        elif name in SINGLE:
            if value is None:
                if i >= len(args) or _is_option(args[i]):
                    return None  # argparse: "expected one argument"
                value = args[i]
                i += 1
            if SINGLE[name]:
                out[SINGLE[name]] = value
        elif name in LISTS:
            values = [value] if value is not None else []
            while value is None and i < len(args) and not _is_option(args[i]) \
                    and args[i] != "--":
                values.append(args[i])
                i += 1
            out[LISTS[name]] = values
        else:
            return None  # argparse: "unrecognized arguments"
    for key in ("default_venv_backend", "force_venv_backend"):
        if key in out and out[key] not in BACKENDS:
            return None  # argparse: "invalid choice"
    return out


def plan(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    opts = parse(args)
    if opts is None:
        return None
    for key, variable in ENV_VARS.items():
        if key not in opts:
            value = environ.get(variable)
            if value:
                opts[key] = value.split(",") if key in LIST_KEYS else value
    if opts.get("no_venv"):
        return None  # no environment (or, with another -fb, nox refuses it)
    if opts.get("force_pythons"):
        opts["pythons"] = opts["extra_pythons"] = opts["force_pythons"]
    noxfile = absolute(_expandvars(opts.get("noxfile", "noxfile.py"), environ), cwd)
    try:
        with open(noxfile, encoding="utf-8", errors="replace") as f:
            source = f.read()
    except (OSError, ValueError):
        return None  # nox stops: no such noxfile
    script_mode = environ.get("NOX_SCRIPT_MODE") or opts.get("script_mode", "reuse")
    if script_mode != "none" and re.search(r"(?m)^# /// script$", source):
        return None  # script mode may first make an environment of its own
    read = read_noxfile(source)
    if read is None:
        return None
    sessions, noxfile_options = read
    trio = ("sessions", "keywords", "tags")
    cli_selected = any(k in opts for k in trio)
    for key, value in noxfile_options.items():
        if key not in opts and not (cli_selected and key in trio):
            opts[key] = value
    if any(value is UNKNOWN for value in opts.values()):
        return None  # a `nox.options.X = ...` that cannot be read
    base = os.path.realpath(os.path.dirname(noxfile))
    envdir = opts.get("envdir", ".nox")
    if not isinstance(envdir, str) or not envdir:
        return None
    runs = expand(sessions, opts)
    chosen = select(runs, opts)
    if chosen is None:
        return None
    targets = []
    for run in chosen:
        shape = _shape(run["backend"])
        if shape is None or run["python"] is False:
            continue
        signature = run["signatures"][0] if run["signatures"] else run["name"]
        path = absolute(normalize_path(envdir, signature), base)
        if (path, shape) not in targets:
            targets.append((path, shape))
    return Plan(targets, policy=INTERRUPT_ONLY) if targets else None


def _expandvars(path: str, environ) -> str:
    """posixpath.expandvars, reading the variables through `environ`."""
    if "$" not in path:
        return path

    def value(match) -> str:
        name = match.group(1)
        found = environ.get(name[1:-1] if name.startswith("{") else name)
        return match.group(0) if found is None else found

    return re.sub(r"\$(\w+|\{[^}]*\})", value, path, flags=re.ASCII)


def _shape(backends: str) -> str | None:
    """The shape of the environments a backend (or fallback list `uv|virtualenv`)
    makes: the widest of those it may use; None when it may make none or a conda one."""
    names = backends.split("|")
    if not all(n in WIDTH for n in names):
        return None
    return max(names, key=WIDTH.__getitem__)


# --- the noxfile ---------------------------------------------------------------------


class Session:
    """One `@nox.session` function, as far as its literal arguments tell."""

    __slots__ = ("backend", "default", "has_python_arg", "name", "params", "python",
                 "requires", "tags")

    def __init__(self, name: str) -> None:
        self.name = name
        self.python: object = None  # None, a bool, a str or a list of str
        self.backend: str | None = None
        self.default = True
        self.tags: list[str] = []
        self.requires: list[str] = []
        self.params: list[tuple[str, dict, list[str]]] | None = None  # (str(Param), spec, tags)
        self.has_python_arg = False  # the function takes `python`: no python from params


def read_noxfile(source: str) -> tuple[list[Session], dict] | None:
    """The sessions a noxfile defines and the `nox.options` it sets, from its syntax
    tree; None when it is not Python. A value that is not a literal (or a top-level
    name bound to one) is UNKNOWN; a session with an UNKNOWN that matters is left out."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    names: dict[str, object] = {}
    options: dict = {}
    sessions: list[Session] = []

    def literal(node):
        if isinstance(node, ast.Name):
            return names.get(node.id, UNKNOWN)
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return UNKNOWN

    for node in tree.body:
        if isinstance(node, ast.Assign):
            value = literal(node.value)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = value
                elif isinstance(target, ast.Attribute) and _is(target.value, "options"):
                    options[target.attr] = list(value) if isinstance(value, tuple) else value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            session = _session_of(node, literal)
            if session is not None:
                sessions.append(session)
    return sessions, {k: v for k, v in options.items() if k in OPTION_KEYS}


# The nox.options that choose the environments (NoxfileOptions).
OPTION_KEYS = frozenset({"sessions", "keywords", "tags", "pythons", "envdir",
                         "default_venv_backend", "force_venv_backend"})


def _is(node, name: str) -> bool:
    """`nox.<name>` or a bare `<name>` (from nox import session)."""
    if isinstance(node, ast.Attribute):
        return node.attr == name and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == name


def _session_of(node, literal) -> Session | None:
    """The session a function's decorators make, or None when it is none or its
    names cannot be known."""
    session = None
    params: list[list[tuple[str, dict, list[str]]]] = []
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        func = call.func if call else decorator
        if _is(func, "session"):
            if call is not None and (call.args or any(k.arg is None for k in call.keywords)):
                return None
            kwargs = {k.arg: literal(k.value) for k in (call.keywords if call else [])}
            if any(kwargs.get(k) is UNKNOWN for k in (
                    "name", "python", "py", "venv_backend", "default", "tags", "requires")):
                return None
            name = kwargs.get("name")
            session = Session(name if isinstance(name, str) else node.name)
            python = kwargs.get("python")
            python = kwargs.get("py") if python is None else python
            session.python = list(python) if isinstance(python, (list, tuple, set)) else python
            backend = kwargs.get("venv_backend")
            session.backend = backend if isinstance(backend, str) else None
            session.default = bool(kwargs.get("default", True))
            tags, requires = _strs(kwargs.get("tags")), _strs(kwargs.get("requires"))
            if tags is None or requires is None:
                return None  # nox refuses them
            session.tags, session.requires = tags, requires
        elif _is(func, "parametrize"):
            specs = _param_specs(call, literal) if call is not None else None
            if specs is None:
                return None
            params.append(specs)
    if session is None:
        return None
    arguments = node.args
    session.has_python_arg = "python" in [
        a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    # Decorators apply from the innermost out; _parametrize.update_param_specs
    # combines each new (outer) spec with every earlier one: "inner, outer".
    combined = None
    for specs in reversed(params):
        if combined is None:
            combined = specs
        else:
            combined = [(f"{old}, {new}", {**old_spec, **new_spec}, old_tags + new_tags)
                        for new, new_spec, new_tags in specs
                        for old, old_spec, old_tags in combined]
    session.params = combined
    return session


def _strs(value) -> list[str] | None:
    """A literal list of strings (None: none given), or None when it is not one."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _param_specs(call, literal) -> list[tuple[str, dict, list[str]]] | None:
    """_parametrize.parametrize_decorator for literal arguments: each Param's str()
    (its id, else `k=repr(v), ...`), its call spec and its tags; None when unreadable."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords):
        return None
    args = [literal(a) for a in call.args]
    kwargs = {k.arg: literal(k.value) for k in call.keywords}
    arg_names = args[0] if args else kwargs.get("arg_names", UNKNOWN)
    values = args[1] if len(args) > 1 else kwargs.get("arg_values_list", UNKNOWN)
    ids = args[2] if len(args) > 2 else kwargs.get("ids")
    tags = args[3] if len(args) > 3 else kwargs.get("tags")
    if any(v is UNKNOWN for v in (arg_names, values, ids, tags)):
        return None
    try:
        if isinstance(arg_names, str):
            arg_names = [a.strip() for a in arg_names.split(",") if a.strip()]
        arg_names = list(arg_names)
        if len(arg_names) == 1:
            rows = [[v] for v in values] if isinstance(values, (list, tuple)) else [[values]]
        else:
            rows = [list(v) for v in values]
        ids, tags = list(ids or []), list(tags or [])
        out = []
        for n, row in enumerate(rows):
            spec = dict(zip(arg_names, row, strict=True))
            ident = ids[n] if n < len(ids) and ids[n] else ", ".join(
                f"{k}={v!r}" for k, v in spec.items())
            out.append((ident, spec, list(tags[n]) if n < len(tags) and tags[n] else []))
    except (TypeError, ValueError):
        return None
    return out


# --- which sessions run --------------------------------------------------------------


def _unique(*items) -> list:
    return list(dict.fromkeys(items))


def expand(sessions: list[Session], opts: dict) -> list[dict]:
    """manifest.make_session: one run per python and parametrization, with its name,
    signatures, python, backend, tags and (formatted) requirements."""
    runs = []
    extra = opts.get("extra_pythons") or []
    force = opts.get("force_pythons") or []
    for s in sessions:
        backend = opts.get("force_venv_backend") or s.backend or opts.get(
            "default_venv_backend") or "virtualenv"
        python = s.python
        if backend == "none" and isinstance(python, list):
            python = False
        if extra:
            if isinstance(python, list):
                python = _unique(*python, *extra)
            elif python:
                python = _unique(python, *extra)
            elif force:
                python = _unique(*extra)
        if isinstance(python, list):
            pythons = [(p, True) for p in _unique(*python)]
        else:
            pythons = [(python, False)]
        for py, multi in pythons:
            for call_id, spec, ptags in s.params if s.params is not None else [(None, {}, [])]:
                run_python = py
                if call_id is not None and py is None and "python" in spec \
                        and not s.has_python_arg:
                    run_python = spec["python"]  # _decorators.Call
                names = []
                if call_id is None:
                    if not multi:
                        names.append(s.name)
                    if run_python:
                        names.append(f"{s.name}-{run_python}")
                else:
                    if not multi or (force and run_python in extra):
                        names.append(f"{s.name}({call_id})")
                    if run_python:
                        names.append(f"{s.name}-{run_python}({call_id})")
                        names.append(f"{s.name}-{run_python}")
                runs.append({
                    "name": s.name, "signatures": names, "python": run_python,
                    "multi": multi, "backend": backend, "tags": s.tags + ptags,
                    "requires": _requires(s.requires, run_python), "default": s.default,
                })
    return runs


def _requires(requires: list[str], python) -> list[str] | None:
    """_decorators.Func.format_dependency; None when nox would refuse them."""
    out = []
    for need in requires:
        try:
            formatted = need.format(python=python, py=python)
        except (KeyError, IndexError, ValueError, AttributeError):
            return None
        if (python is None or isinstance(python, bool)) and formatted != need:
            return None
        out.append(formatted)
    return out


def _normalize_arg(arg: str) -> str:
    """manifest._normalize_arg: names are compared as the Python they parse as."""
    try:
        return ast.dump(ast.parse(arg))
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return arg


def _matches(needle: str, run: dict) -> bool:
    """manifest._normalized_session_match."""
    if needle == run["name"] or needle in run["signatures"]:
        return True
    normal = _normalize_arg(needle)
    return any(normal == _normalize_arg(s) for s in run["signatures"])


def select(runs: list[dict], opts: dict) -> list[dict] | None:
    """tasks.filter_manifest over the runs read from the noxfile, prerequisites
    included; None when a session named or required is not among them."""
    tags, keywords, names = opts.get("tags"), opts.get("keywords"), opts.get("sessions")
    queue = list(runs)
    if tags is None and not keywords:
        if names is None:
            queue = [r for r in queue if r["default"]]
        else:
            known = {_normalize_arg(n) for r in runs for n in (r["name"], *r["signatures"])}
            if any(_normalize_arg(n) not in known for n in names):
                return None
            queue = [r for n in names for r in queue if _matches(n, r)]
    pythons = opts.get("pythons")
    if pythons:
        queue = [r for r in queue if r["python"] in pythons]
    if tags is not None:
        queue = [r for r in queue if set(r["tags"]) & set(tags)]
    if keywords:
        try:
            queue = [r for r in queue if keyword_match(
                keywords, [*r["signatures"], *r["tags"], r["name"]])]
        except SyntaxError:
            return None  # nox stops on it
    if opts.get("no_dependencies"):
        return queue
    # manifest.add_dependencies: by signature (the last run of one wins), or by the
    # name of a session run for a list of pythons (all those runs).
    by_id: dict[str, list[dict]] = {}
    for r in runs:
        for signature in r["signatures"]:
            by_id[signature] = [r]
    parents: dict[str, list[dict]] = {}
    for r in runs:
        if r["multi"] and r["signatures"]:
            parents.setdefault(r["name"], []).append(r)
    by_id.update(parents)
    chosen = list(queue)
    todo = list(queue)
    while todo:
        run = todo.pop()
        if run["requires"] is None:
            return None
        for need in run["requires"]:
            if need not in by_id:
                return None  # nox stops: "Error while resolving session dependencies"
            for other in by_id[need]:
                if other not in chosen:
                    chosen.append(other)
                    todo.append(other)
    return chosen


def keyword_match(expression: str, keywords: list[str]) -> bool:
    """manifest.keyword_match without eval: a name is true when it is a substring of a
    keyword; and, or, not as in Python; a constant by its truth; anything else (a call,
    a comparison) counts as a match, to guard rather than miss."""
    tree = ast.parse(expression, mode="eval").body

    def value(node) -> bool:
        if isinstance(node, ast.Name):
            return any(node.id in k for k in keywords)
        if isinstance(node, ast.Constant):
            return bool(node.value)
        if isinstance(node, ast.BoolOp):
            parts = [value(v) for v in node.values]
            return all(parts) if isinstance(node.op, ast.And) else any(parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not value(node.operand)
        return True

    return value(tree)


def normalize_path(envdir: str, path: str) -> str:
    """sessions._normalize_path: a session's environment under envdir as nox spells it
    (the length that decides hashing is that of this spelling, relative or not)."""
    orig_path = path
    path = unicodedata.normalize("NFKD", path).encode("ascii", "ignore").decode("ascii")
    path = re.sub(r"[^\w\s-]", "-", path).strip().lower()
    path = re.sub(r"[-\s]+", "-", path)
    path = path.strip("-")
    if not path:
        path = hashlib.sha1(orig_path.encode("utf-8")).hexdigest()[:8]
    full_path = os.path.join(envdir, path)
    if len(full_path) > 100 - len("bin/pythonX.Y") and len(envdir) < 100 - 9:
        path = hashlib.sha1(path.encode("ascii")).hexdigest()[:8]
        full_path = os.path.join(envdir, path)
    return full_path


REUSING = ("-r", "--reuse-existing-virtualenvs", "-R", "--reuse-venv")


def reinstall(argv: list[str], env: str, dists) -> str | None:
    """nox's own repair: without -r it deletes and remakes every environment it runs,
    so the same command again; with -r it would reuse the broken one (None: pip)."""
    from shlex import quote

    if any(a in REUSING or a.startswith("--reuse-venv=") for a in argv[1:]):
        return None
    return " ".join(quote(w) for w in [os.path.basename(argv[0]), *argv[1:]])
