"""Generate src/venvguard/tools/uv_options.py: which of uv's options take a value.

    python3 tests/unit/gen_uv_options.py

asks the installed uv, for the top level and each subcommand whose command line
`venvguard.tools.uv.parse` reads, which options take their value as the next word
(`--opt value`), and writes the table. test_uv_options.py checks that the committed
table still matches the installed uv.

Three sources, each asked of the installed uv itself:
- `uv [SUBCOMMAND] --help`: every option it shows, with clap's usage syntax:
  `--opt <X>` takes the next word (`<X>...` too: in uv each occurrence takes exactly
  one value, a list is the option repeated or comma-separated), `--opt [<X>]` takes
  it when there is one, `--opt[=<X>]` and `--opt=<X>` never do (the value must be
  attached with `=`); `-q, --quiet...` is a flag that may be repeated;
- hidden options, which --help leaves out (e.g. `--python-preference`): listed by
  `uv generate-shell-completion nushell`, a typed signature per subcommand
  (`--opt: string` takes a value, `--opt` is a flag);
- hidden aliases (e.g. `--trusted-host` for `--allow-insecure-host`), which nothing
  lists: the candidates in HIDDEN_ALIASES, each kept only where uv accepts it.
Hidden options that take a value and the aliases are classified by uv's own parser
(`probe`), in a way that never runs a command.
"""

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The top level ("") and every subcommand whose argv venvguard.tools.uv.parse scans
# for options: the project commands, venv and the `uv pip` commands that write.
SUBCOMMANDS = ("", "add", "pip install", "pip sync", "pip uninstall", "remove", "run", "sync",
               "venv", "version")

# Long aliases uv declares with `alias = "..."` (hidden: no help text or completion
# shows them), from uv's crates/uv-cli/src/lib.rs. Only candidates: each is probed
# in each subcommand and kept only where the installed uv takes it. A new alias in a
# later uv is not found by itself: add it here.
HIDDEN_ALIASES = (
    "--all",
    "--all_architectures",
    "--application",
    "--build-constraint",
    "--compile",
    "--config-settings",
    "--config-settings-package",
    "--constraint",
    "--exclude",
    "--force-reinstall",
    "--frozen",
    "--human-readable",
    "--library",
    "--no-compile",
    "--no-exact",
    "--no-install-local",
    "--no-install-package",
    "--no-install-project",
    "--no-install-workspace",
    "--no-project",
    "--no-workspace",
    "--no_workspace",
    "--only-install-local",
    "--only-install-package",
    "--only-install-project",
    "--only-install-workspace",
    "--override",
    "--preview-feature",
    "--raw-sources",
    "--requirement",
    "--reverse",
    "--trusted-host",
    "--unsafe-package",
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "src" / "venvguard" / "tools" / "uv_options.py"

VALUE = "value"  # takes the next word as its value
FLAG = "flag"  # takes no value, or only one attached with `=`

# An option line of clap's help: `  -p, --python <PYTHON>  Description` or
# `      --seed  Description` (the description may be on the next lines instead).
HELP_LINE = re.compile(
    r"^  (?:(?P<short>-[A-Za-z0-9]), |    )(?P<long>--[A-Za-z0-9][\w-]*)"
    r"(?P<attached>\S*)(?P<values>(?: [<\[]\S*)*)(?:\s{2,}|$)"
)
# A short option without a long form: `  -x <X>  Description`.
SHORT_LINE = re.compile(
    r"^  (?P<short>-[A-Za-z0-9])(?P<attached>[^\s,]*)(?P<values>(?: [<\[]\S*)*)(?:\s{2,}|$)"
)
# A flag or option line of a nushell `export extern` signature:
# `    --python(-p): string  # Description`, `    --seed  # Description`.
NU_LINE = re.compile(
    r"^\s+(?:(?P<long>--[\w-]+)(?:\((?P<short>-\w)\))?|(?P<only>-\w))(?P<type>:\s*\S+)?"
)


class GeneratorError(Exception):
    """uv said something this generator does not understand."""


def find_uv() -> str | None:
    """The uv binary, found as the tests find it: the `uv` package, else PATH."""
    try:
        import uv

        return os.path.realpath(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        return os.path.realpath(found) if found else None


def _environ() -> dict[str, str]:
    """No UV_* setting of the caller's, offline, no colours, no config files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update(UV_OFFLINE="1", UV_NO_CONFIG="1", NO_COLOR="1", CLICOLOR="0")
    env.pop("CLICOLOR_FORCE", None)
    env.pop("FORCE_COLOR", None)
    return env


def _run(uv: str, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [uv, *args], capture_output=True, text=True, env=_environ(), timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _words(subcommand: str) -> list[str]:
    return subcommand.split()


def uv_version(uv: str) -> str:
    """`0.13.9` from `uv 0.13.9 (x86_64-unknown-linux-gnu)`."""
    out = _run(uv, ["--version"]).stdout.split()
    if len(out) < 2 or out[0] != "uv":
        raise GeneratorError(f"unexpected `uv --version` output: {out!r}")
    return out[1]


def _kind(attached: str, values: str, line: str) -> str:
    """VALUE or FLAG, from the syntax after an option's name in clap's help."""
    if attached in ("", "...") and not values:
        return FLAG  # `--seed`, `-q, --quiet...`
    if attached.startswith(("[=", "=")) and not values:
        return FLAG  # `--opt[=<X>]`, `--opt=<X>`: the value must be attached
    words = values.split()
    if not attached and len(words) == 1 and words[0].startswith(("<", "[<")):
        return VALUE  # `--opt <X>`, `--opt <X>...`, `--opt [<X>]`
    raise GeneratorError(f"cannot read the option syntax of this help line: {line!r}")


def help_options(text: str) -> dict[str, str]:
    """{name: VALUE or FLAG} for each option (long and short forms) `--help` shows."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = HELP_LINE.match(line) or SHORT_LINE.match(line)
        if not match:
            continue
        kind = _kind(match["attached"], match["values"], line)
        names = match.groupdict()
        for name in (names.get("short"), names.get("long")):
            if name:
                found[name] = kind
    return found


def completion_options(script: str, subcommand: str) -> dict[str, str]:
    """{name: VALUE or FLAG} from the nushell signature of `uv [subcommand]`."""
    head = f'export extern "uv {subcommand}" [' if subcommand else "export extern uv ["
    start = script.find(f"\n  {head}\n")
    if start < 0:
        raise GeneratorError(f"no `{head}` in uv's nushell completion")
    body = script[start + len(head) + 4 :].split("\n  ]", 1)[0]
    found: dict[str, str] = {}
    for line in body.splitlines():
        match = NU_LINE.match(line)
        if match:
            kind = VALUE if match["type"] else FLAG
            for name in (match["long"], match["short"], match["only"]):
                if name:
                    found[name] = kind
    return found


def probe(uv: str, subcommand: str, name: str) -> str | None:
    """How uv's own parser takes `name` in `uv [subcommand]`: VALUE, FLAG, or None
    when it does not know it there. Never runs a command: every probe ends in --help
    or in a parse error, behind a --directory that does not exist besides."""
    nowhere = ["--directory", "/nonexistent/venvguard-probe"]
    bare = _run(uv, [*nowhere, *_words(subcommand), name, "--help"])
    said = bare.stderr
    if bare.returncode != 0 and "a value is required for '" in said:
        return VALUE  # `--opt --help`: --help cannot be its value
    if bare.returncode != 0 and f"unexpected argument '{name}' found" in said:
        return None
    if bare.returncode != 0:
        raise GeneratorError(f"uv {subcommand} {name} --help: {said.strip()}")
    # The help was shown: a flag, or an option whose value is optional.
    attached = _run(uv, [*nowhere, *_words(subcommand), f"{name}=x", "--help"])
    if attached.returncode != 0 and "unexpected value 'x' for '" in attached.stderr:
        return FLAG
    raise GeneratorError(
        f"uv {subcommand} {name}: a hidden option with an optional value; "
        "decide by hand whether it takes the next word"
    )


def _table_for(uv: str, subcommand: str, completion: str) -> frozenset[str]:
    result = _run(uv, [*_words(subcommand), "--help"])
    if result.returncode != 0:
        raise GeneratorError(f"uv {subcommand} --help failed: {result.stderr.strip()}")
    shown = help_options(result.stdout)
    if not shown:
        raise GeneratorError(f"no options found in `uv {subcommand} --help`")
    listed = completion_options(completion, subcommand)
    for name, kind in shown.items():
        if listed.get(name, kind) != kind:
            raise GeneratorError(f"uv {subcommand} {name}: help and completion disagree")
    kinds = dict(listed)
    kinds.update(shown)
    unsure = [n for n, k in listed.items() if n not in shown and k == VALUE]
    unsure += [n for n in HIDDEN_ALIASES if n not in kinds]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for name, kind in zip(unsure, pool.map(lambda n: probe(uv, subcommand, n), unsure),
                              strict=True):
            if kind is not None:
                kinds[name] = kind
            else:
                kinds.pop(name, None)
    return frozenset(name for name, kind in kinds.items() if kind == VALUE)


def value_options(uv: str) -> dict[str, frozenset[str]]:
    """{subcommand ("" for the top level): the options that take the next word}."""
    completion = _run(uv, ["generate-shell-completion", "nushell"])
    if completion.returncode != 0:
        raise GeneratorError(
            f"uv generate-shell-completion nushell failed: {completion.stderr.strip()}"
        )
    return {sub: _table_for(uv, sub, completion.stdout) for sub in SUBCOMMANDS}


def render(table: dict[str, frozenset[str]], version: str) -> str:
    """The source of uv_options.py."""
    lines = [
        f"# Generated by tests/unit/gen_uv_options.py from uv {version}: do not edit.",
        "# Regenerate after upgrading uv: python3 tests/unit/gen_uv_options.py",
        '"""uv\'s options that take a value as the next word (`--opt value`), per',
        'subcommand ("" for the top level, before any subcommand); all others are flags',
        "or take their value only attached (`--opt=value`). Hidden options and aliases",
        '(e.g. `--trusted-host`) included."""',
        "",
        "VALUE_OPTIONS: dict[str, frozenset[str]] = {",
    ]
    for sub in sorted(table):
        lines.append(f'    "{sub}": frozenset(')
        lines.append("        {")
        lines.extend(f'            "{name}",' for name in sorted(table[sub]))
        lines.append("        }")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    uv = find_uv()
    if uv is None:
        print("uv is not installed (pip install uv)", file=sys.stderr)
        return 1
    version = uv_version(uv)
    table = value_options(uv)
    OUTPUT.write_text(render(table, version), encoding="utf-8")
    counts = ", ".join(f"{sub or '(top level)'} {len(table[sub])}" for sub in sorted(table))
    print(f"wrote {OUTPUT.relative_to(ROOT)} from uv {version}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
