"""The shell snippets: linted by each shell's own tools, and sourced in real (non
interactive and interactive) shells to check that they define nothing where they
should not, leave no variables, traps or options behind, install the prompt hook
once however often they are sourced, and cope with the user's strict options.

A missing shell or linter skips with its reason locally, but fails when CI is set."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from venvguard import init, journal, processes

ROOT = Path(__file__).resolve().parents[2]
SHELL_DIR = ROOT / "shell"
INSTALL_SH = ROOT / "install.sh"
# The plugin managers' files: <repo>/venvguard.plugin.zsh (oh-my-zsh, zinit, antidote,
# ...) and conf.d/*.fish (fisher copies them to ~/.config/fish/conf.d/).
PLUGIN_ZSH_FILES = [ROOT / "venvguard.plugin.zsh"]
PLUGIN_FISH_FILES = sorted((ROOT / "conf.d").glob("*.fish"))
BASH = SHELL_DIR / "venvguard.bash"
ZSH = SHELL_DIR / "venvguard.zsh"
FISH = SHELL_DIR / "venvguard.fish"
# Noise bash -i prints without a terminal; not the snippet's.
JOB_CONTROL_NOISE = re.compile(
    r"^bash: (cannot set terminal process group .*|no job control in this shell)$"
)


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        reason = f"{program} is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: the shell checks must run")
        pytest.skip(reason)
    return path


def venvguard_bin_dir() -> str:
    """The directory of the venvguard command of the Python running the tests."""
    scripts = os.path.dirname(sys.executable)
    if os.path.exists(os.path.join(scripts, "venvguard")):
        return scripts
    found = shutil.which("venvguard")
    if found is None:
        pytest.fail("venvguard is not on PATH: install it (pip install -e .)")
    return os.path.dirname(found)


def make_shell_env(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty home (no rc files), a private state dir and
    venvguard on PATH."""
    home = tmp_path / "shellhome"
    home.mkdir()
    return {
        "HOME": str(home),
        "ZDOTDIR": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "PATH": os.pathsep.join([venvguard_bin_dir(), "/usr/local/bin", "/usr/bin", "/bin"]),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def shell_env(tmp_path):
    return make_shell_env(tmp_path)


def run(argv, env, timeout=30):
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    stderr = "\n".join(
        line for line in result.stderr.splitlines() if not JOB_CONTROL_NOISE.match(line)
    )
    return result.returncode, result.stdout, stderr


def lines_of(path: Path) -> set[str]:
    return set(path.read_text().split())


# --- linters ----------------------------------------------------------------------------


BASH_FILES = sorted(SHELL_DIR.glob("*.bash"))
ZSH_FILES = sorted(SHELL_DIR.glob("*.zsh"))
FISH_FILES = sorted(SHELL_DIR.glob("*.fish"))
# venvguard's own completion (generated: gen_completions.py), and fisher's copy of
# the fish one (completions/*.fish, which fisher copies to ~/.config/fish/completions/).
COMPLETIONS = SHELL_DIR / "completions"
COMPLETION_BASH = [COMPLETIONS / "venvguard.bash"]
COMPLETION_ZSH = [COMPLETIONS / "_venvguard"]
COMPLETION_FISH = [COMPLETIONS / "venvguard.fish", ROOT / "completions" / "venvguard.fish"]


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_every_shell_has_its_snippet_its_cache_header_and_its_state_script():
    names = sorted(p.name for p in [*BASH_FILES, *ZSH_FILES, *FISH_FILES])
    assert names == sorted(f"{kind}.{shell}" for kind in ("venvguard", "cache", "state")
                           for shell in ("bash", "zsh", "fish"))


@pytest.mark.parametrize("path", BASH_FILES + COMPLETION_BASH, ids=relative)
def test_the_bash_files_pass_shellcheck(path):
    shellcheck = require("shellcheck")
    result = subprocess.run([shellcheck, "-s", "bash", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", BASH_FILES + COMPLETION_BASH, ids=relative)
def test_the_bash_files_parse(path):
    result = subprocess.run([require("bash"), "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_plugin_managers_files_are_there():
    assert [p.name for p in PLUGIN_ZSH_FILES if p.is_file()] == ["venvguard.plugin.zsh"]
    assert [p.name for p in PLUGIN_FISH_FILES] == ["venvguard.fish"]
    assert [p.name for p in sorted((ROOT / "completions").iterdir())] == ["venvguard.fish"]


def test_every_shell_has_its_completion_file():
    assert sorted(p.name for p in COMPLETIONS.iterdir()) == sorted(
        p.name for p in COMPLETION_BASH + COMPLETION_ZSH + COMPLETION_FISH[:1])


def test_install_sh_passes_shellcheck_as_posix_sh():
    shellcheck = require("shellcheck")
    result = subprocess.run([shellcheck, "-s", "sh", str(INSTALL_SH)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_sh_parses_in_sh():
    result = subprocess.run([require("sh"), "-n", str(INSTALL_SH)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", ZSH_FILES + PLUGIN_ZSH_FILES + COMPLETION_ZSH, ids=relative)
def test_the_zsh_files_parse(path):
    result = subprocess.run([require("zsh"), "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", FISH_FILES + PLUGIN_FISH_FILES + COMPLETION_FISH,
                         ids=relative)
def test_the_fish_files_parse(path):
    result = subprocess.run([require("fish"), "--no-execute", str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", FISH_FILES + PLUGIN_FISH_FILES + COMPLETION_FISH,
                         ids=relative)
def test_the_fish_files_are_formatted_as_fish_indent_wants(path):
    result = subprocess.run([require("fish_indent"), "--check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"fish_indent would reformat {path.relative_to(ROOT)}"


# --- non-interactive shells: the snippet defines nothing ----------------------------------


def test_bash_non_interactive_defines_nothing(shell_env):
    code, out, err = run([require("bash"), "-c", """
        snippet=$(venvguard init bash)
        [[ -n $snippet ]] && echo "have a snippet"
        eval "$snippet"
        declare -F
        echo "uv is: $(type -t uv)"
        echo "PROMPT_COMMAND=${PROMPT_COMMAND-unset}"
    """], shell_env)
    assert (code, err) == (0, "")
    assert "have a snippet" in out
    assert "__venvguard" not in out
    assert "uv is: file" in out or "uv is: \n" in out
    assert "PROMPT_COMMAND=unset" in out


def test_zsh_non_interactive_defines_nothing(shell_env):
    code, out, err = run([require("zsh"), "-c", """
        snippet=$(venvguard init zsh)
        [[ -n $snippet ]] && print "have a snippet"
        eval "$snippet"
        print -l ${(k)functions}
        print "uv is: $(whence -w uv)"
        print "precmd_functions=${precmd_functions-unset}"
    """], shell_env)
    assert (code, err) == (0, "")
    assert "have a snippet" in out
    assert "__venvguard" not in out
    assert "uv: function" not in out
    assert "precmd_functions=unset" in out


def test_fish_non_interactive_defines_nothing(shell_env):
    code, out, err = run([require("fish"), "-c", """
        test -n "$(venvguard init fish | string collect)"; and echo "have a snippet"
        venvguard init fish | source
        functions -a
        functions -q uv; and echo "uv is a function"
        set -n
    """], shell_env)
    assert (code, err) == (0, "")
    assert "have a snippet" in out
    assert "__venvguard" not in out
    assert "uv is a function" not in out


# --- interactive shells: sourced twice, nothing left behind -------------------------------

BASH_TWICE = """
compgen -v | LC_ALL=C sort > "$HOME/vars-before"
trap -p > "$HOME/traps-before"
shopt -p > "$HOME/shopt-before"; set +o > "$HOME/set-before"
eval "$(venvguard init bash)"
eval "$(venvguard init bash)"
compgen -v | LC_ALL=C sort > "$HOME/vars-after"
trap -p > "$HOME/traps-after"
shopt -p > "$HOME/shopt-after"; set +o > "$HOME/set-after"
declare -p PROMPT_COMMAND > "$HOME/prompt-command"
echo "uv is: $(type -t uv)"
"""


def new_variables(home: Path) -> set[str]:
    return lines_of(home / "vars-after") - lines_of(home / "vars-before")


@pytest.fixture(scope="module")
def bash_twice(tmp_path_factory):
    shell_env = make_shell_env(tmp_path_factory.mktemp("bash"))
    code, out, err = run([require("bash"), "-i", "-c", BASH_TWICE], shell_env)
    assert (code, err) == (0, "")
    return Path(shell_env["HOME"]), out


def test_bash_interactive_defines_the_wrappers(bash_twice):
    _home, out = bash_twice
    assert "uv is: function" in out


def test_bash_sourced_twice_leaves_no_variables_but_prompt_command(bash_twice):
    home, _out = bash_twice
    left = {v for v in new_variables(home) if not v.startswith("__venvguard_")}
    assert left <= {"PROMPT_COMMAND"}


def test_bash_sourced_twice_leaves_no_traps(bash_twice):
    home, _out = bash_twice
    assert (home / "traps-before").read_text() == ""
    assert (home / "traps-after").read_text() == ""


def test_bash_sourced_twice_changes_no_options(bash_twice):
    home, _out = bash_twice
    assert (home / "shopt-after").read_text() == (home / "shopt-before").read_text()
    assert (home / "set-after").read_text() == (home / "set-before").read_text()


def test_bash_sourced_twice_installs_the_prompt_hook_once(bash_twice):
    home, _out = bash_twice
    declared = (home / "prompt-command").read_text()
    assert declared.count("__venvguard_hook") == 1


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("unset PROMPT_COMMAND", 'declare -- PROMPT_COMMAND="__venvguard_hook"'),
        ("PROMPT_COMMAND='history -a'",
         'declare -- PROMPT_COMMAND="__venvguard_hook;history -a"'),
        ("PROMPT_COMMAND=(true)",
         'declare -a PROMPT_COMMAND=([0]="__venvguard_hook" [1]="true")'),
        ("PROMPT_COMMAND=(true 'history -a')",
         'declare -a PROMPT_COMMAND=([0]="__venvguard_hook" [1]="true" [2]="history -a")'),
    ],
    ids=["unset", "string", "array", "array-of-two"],
)
def test_bash_prompt_command_holds_the_hook_once_whatever_it_was(shell_env, before, expected):
    code, out, err = run([require("bash"), "-i", "-c", f"""
        {before}
        eval "$(venvguard init bash)"
        eval "$(venvguard init bash)"
        declare -p PROMPT_COMMAND
    """], shell_env)
    assert (code, err) == (0, "")
    assert out.strip() == expected


STRICT_BASH = """
{options}
eval "$(venvguard init bash)"
eval "$(venvguard init bash)"
__venvguard_hook           # as the prompt runs it
uv --version >/dev/null    # not guarded: straight through
python3 -m venv --help >/dev/null   # guarded: through venvguard exec
__venvguard_hook
echo survived
"""


@pytest.mark.parametrize(
    "options",
    ["set -u", "set -e", "set -euo pipefail", "shopt -s failglob",
     "set -u; shopt -s failglob nullglob extglob"],
)
def test_bash_strict_options_give_no_error_output(shell_env, options):
    require("uv")
    shell_env["PATH"] += os.pathsep + os.path.dirname(shutil.which("uv"))
    code, out, err = run([require("bash"), "-i", "-c", STRICT_BASH.format(options=options)],
                         shell_env)
    assert err == ""
    assert (code, out) == (0, "survived\n")


def orphan_entry(state: str, pid: int) -> str:
    """An entry a killed supervisor left, whose target is gone: settling deletes it."""
    root = os.stat("/")
    data = {
        "venvguard": journal.FORMAT, "token": "abc123", "host": os.uname().nodename,
        "boot": processes.boot_id(), "owner": [pid, None],
        "started": 0, "cwd": "/nonexistent", "argv": ["uv", "sync"],
        "environ": {},
        "targets": [{"path": "/nonexistent/.venv", "existed": "absent", "shape": "uv",
                     "anchor": ["/", root.st_dev, root.st_ino]}],
        "policy": "exit", "repair": None,
    }
    journal.validate(data)  # a well-formed entry: settled, not set aside as corrupt
    runs = journal.runs_dir({"XDG_STATE_HOME": state})
    os.makedirs(runs, mode=0o700, exist_ok=True)
    path = os.path.join(runs, journal.entry_name(pid, "abc123"))
    with open(path, "w") as f:
        json.dump(data, f)
    return path


@pytest.mark.parametrize("options", ["", "set -u", "set -e"])
def test_the_bash_prompt_hook_settles_an_orphaned_entry(shell_env, dead_pid, options):
    entry = orphan_entry(shell_env["XDG_STATE_HOME"], dead_pid)
    code, out, err = run([require("bash"), "-i", "-c", f"""
        {options}
        eval "$(venvguard init bash)"
        __venvguard_hook
        echo done
    """], shell_env)
    assert (code, out, err) == (0, "done\n", "")
    assert not os.path.exists(entry)


def test_zsh_prompt_hook_settles_an_orphaned_entry(shell_env, dead_pid):
    entry = orphan_entry(shell_env["XDG_STATE_HOME"], dead_pid)
    code, out, err = run([require("zsh"), "-i", "-c", """
        setopt nounset ksh_arrays sh_word_split
        eval "$(venvguard init zsh)"
        __venvguard_hook
        print done
    """], shell_env)
    assert (code, out, err) == (0, "done\n", "")
    assert not os.path.exists(entry)


def test_fish_prompt_hook_settles_an_orphaned_entry(shell_env, dead_pid):
    entry = orphan_entry(shell_env["XDG_STATE_HOME"], dead_pid)
    code, out, err = run([require("fish"), "-i", "-c", """
        venvguard init fish | source
        __venvguard_hook
        echo done
    """], shell_env)
    assert (code, out, err) == (0, "done\n", "")
    assert not os.path.exists(entry)


def test_the_prompt_hook_leaves_an_entry_of_a_live_run_alone(shell_env):
    entry = orphan_entry(shell_env["XDG_STATE_HOME"], os.getpid())  # a live pid
    code, out, err = run([require("bash"), "-i", "-c", """
        eval "$(venvguard init bash)"
        __venvguard_hook
        echo done
    """], shell_env)
    assert (code, out, err) == (0, "done\n", "")
    assert os.path.exists(entry)


def test_the_bash_prompt_hook_passes_on_the_previous_status(shell_env):
    code, out, err = run([require("bash"), "-i", "-c", """
        eval "$(venvguard init bash)"
        (exit 7); __venvguard_hook; echo "status $?"
    """], shell_env)
    assert (code, out, err) == (0, "status 7\n", "")


ZSH_TWICE = """
print -l ${(ok)parameters} > $HOME/vars-before
trap > $HOME/traps-before
setopt > $HOME/options-before
eval "$(venvguard init zsh)"
eval "$(venvguard init zsh)"
print -l ${(ok)parameters} > $HOME/vars-after
trap > $HOME/traps-after
setopt > $HOME/options-after
print -r -- "precmd: ${precmd_functions[*]}"
print "uv is: $(whence -w uv)"
"""


@pytest.fixture(scope="module")
def zsh_twice(tmp_path_factory):
    shell_env = make_shell_env(tmp_path_factory.mktemp("zsh"))
    code, out, err = run([require("zsh"), "-i", "-c", ZSH_TWICE], shell_env)
    assert (code, err) == (0, "")
    return Path(shell_env["HOME"]), out


def test_zsh_interactive_defines_the_wrappers(zsh_twice):
    _home, out = zsh_twice
    assert "uv is: uv: function" in out


def test_zsh_sourced_twice_leaves_no_variables_but_precmd_functions(zsh_twice):
    home, _out = zsh_twice
    left = {v for v in new_variables(home) if not v.startswith("__venvguard_")}
    assert left <= {"precmd_functions"}


def test_zsh_sourced_twice_leaves_no_traps_and_changes_no_options(zsh_twice):
    home, _out = zsh_twice
    assert (home / "traps-after").read_text() == (home / "traps-before").read_text() == ""
    assert (home / "options-after").read_text() == (home / "options-before").read_text()


def test_zsh_sourced_twice_adds_the_precmd_hook_once(zsh_twice):
    _home, out = zsh_twice
    precmd = next(line for line in out.splitlines() if line.startswith("precmd:"))
    assert precmd.split().count("__venvguard_hook") == 1


@pytest.mark.parametrize(
    "options",
    ["setopt ksh_arrays", "setopt nounset ksh_arrays sh_word_split",
     "setopt err_exit nounset", "setopt extended_glob null_glob"],
)
def test_zsh_strict_options_give_no_error_output(shell_env, options):
    require("uv")
    shell_env["PATH"] += os.pathsep + os.path.dirname(shutil.which("uv"))
    code, out, err = run([require("zsh"), "-i", "-c", f"""
        {options}
        eval "$(venvguard init zsh)"
        eval "$(venvguard init zsh)"
        __venvguard_hook
        uv --version >/dev/null
        python3 -m venv --help >/dev/null
        __venvguard_hook
        print survived
    """], shell_env)
    assert err == ""
    assert (code, out) == (0, "survived\n")


FISH_TWICE = """
set -n > $HOME/vars-before
venvguard init fish | source
venvguard init fish | source
set -n > $HOME/vars-after
functions -q uv; and echo "uv is a function"
functions --handlers-type generic | string match -e __venvguard_hook
"""


def test_fish_sourced_twice_leaves_no_variables_and_one_prompt_handler(shell_env):
    code, out, err = run([require("fish"), "-i", "-c", FISH_TWICE], shell_env)
    assert (code, err) == (0, "")
    assert "uv is a function" in out
    assert out.count("fish_prompt __venvguard_hook") == 1
    left = {v for v in new_variables(Path(shell_env["HOME"])) if not v.startswith("__venvguard_")}
    assert left == set()


# --- pass-through ------------------------------------------------------------------------


@pytest.fixture
def snippets(tmp_path):
    """The snippets as `venvguard init` prints them, for shells where venvguard is gone."""
    out = {}
    for shell in init.SHELLS:
        path = tmp_path / f"snippet.{shell}"
        path.write_text(init.snippet(shell, []))
        out[shell] = path
    return out


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("bash", 'source "$1"; python3 -m venv --help | head -1'),
        ("zsh", 'source "$1"; python3 -m venv --help | head -1'),
        ("fish", 'source $argv[1]; python3 -m venv --help | head -1'),
    ],
)
def test_a_wrapped_call_passes_straight_through_when_venvguard_is_gone(
    shell_env, snippets, shell, script
):
    shell_env["PATH"] = "/usr/bin:/bin"  # python3 but no venvguard
    require("python3")
    argv = [require(shell), "-i", "-c", script]
    argv += ["--", str(snippets[shell])] if shell == "fish" else ["sh", str(snippets[shell])]
    code, out, err = run(argv, shell_env)
    assert (code, err) == (0, "")
    assert out.startswith("usage: venv")


@pytest.mark.parametrize("shell", init.SHELLS)
def test_venvguard_disable_passes_every_call_straight_through(shell_env, snippets, shell):
    # A venvguard that would fail loudly if it were called.
    fake = Path(shell_env["HOME"]) / "fakebin"
    fake.mkdir()
    (fake / "venvguard").write_text("#!/bin/sh\necho 'venvguard was called' >&2\nexit 99\n")
    (fake / "venvguard").chmod(0o755)
    shell_env["PATH"] = os.pathsep.join([str(fake), "/usr/bin", "/bin"])
    shell_env["VENVGUARD_DISABLE"] = "1"
    if shell == "fish":
        argv = [require("fish"), "-i", "-c",
                "source $argv[1]; python3 -m venv --help | head -1", "--", str(snippets[shell])]
    else:
        argv = [require(shell), "-i", "-c", 'source "$1"; python3 -m venv --help | head -1',
                "sh", str(snippets[shell])]
    code, out, err = run(argv, shell_env)
    assert (code, err) == (0, "")
    assert out.startswith("usage: venv")
