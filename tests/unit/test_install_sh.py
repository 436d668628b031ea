"""install.sh: the marked block it adds to each shell's rc file, and takes out again.

Most tests run `sh install.sh --no-install --no-demo ...` (one round trip also under
bash) in a throwaway world under tmp_path: HOME, XDG_CONFIG_HOME, ZDOTDIR, SHELL,
TMPDIR and the working directory all point there, and venvguard is kept off PATH so
that install.sh only edits rc files. Nothing is installed, the real home is never read.
A few give the world a venvguard in ~/.local/bin (a link to this checkout's), as an
install would, with the record install.sh keeps of it, to check the block's PATH line
in real interactive shells.

The last part installs for real, from a copy of this checkout, on a clean HOME whose
PATH lacks ~/.local/bin: with pip --user (as the user nobody when the tests run as
root: root's pip installs into the system instead) and with `uv tool install`, each
from the package index pip is configured with (a local one when pip.conf names one),
then checks new interactive bash, zsh and fish, and uninstalls.

A missing shell skips the tests that need it with its reason locally, but fails them
when CI is set (`require`, shared with test_snippets_lint)."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from test_snippets_lint import require, run, venvguard_bin_dir

from venvguard import init

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SH = ROOT / "install.sh"
SHELLS = ("bash", "zsh", "fish")
RC_SHELLS = ("bash", "zsh")  # the rc files shared with the user (fish gets its own file)
BEGIN = "# >>> venvguard >>>"
END = "# <<< venvguard <<<"
USER_RC = "# mine\nexport A=1\n\n"
MARKER_ERROR = "without its partner"
# The PATH line of a block for ~/.local/bin, as install.sh writes it.
PATH_LINE = {
    "bash": 'case ":$PATH:" in *:"$HOME/.local/bin":*) ;; '
            '*) export PATH="$HOME/.local/bin:$PATH" ;; esac',
    "fish": 'contains -- "$HOME/.local/bin" $PATH; or set -gx PATH "$HOME/.local/bin" $PATH',
}
PATH_LINE["zsh"] = PATH_LINE["bash"]
GUARDED = "New {shell} shells guard uv"


def path_without_venvguard() -> str:
    """This PATH without the directories that hold a venvguard command (pyenv shims
    included), so that install.sh neither runs `venvguard doctor` nor the demo."""
    return os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not os.path.lexists(os.path.join(d, "venvguard"))
    )


def init_line(shell: str, env: dict[str, str]) -> str:
    """The line `venvguard init SHELL --cache` prints in an environment like `env`."""
    keys = ("HOME", "XDG_CACHE_HOME")
    with mock.patch.dict(os.environ, {k: env[k] for k in keys if k in env}):
        for k in keys:
            if k not in env:
                os.environ.pop(k, None)
        return init.rc_line(shell, os.path.join(init.cache_dir(), f"init.{shell}"))


def quoted(path: str, home: str) -> str:
    """A path as install.sh writes it into a block: "$HOME/..." where it can be."""
    home = home.rstrip("/")
    rest = path[len(home) + 1:] if path.startswith(home + "/") else ""
    if re.fullmatch(r"[A-Za-z0-9._/+@-]+", rest):
        return f'"$HOME/{rest}"'
    return "'" + path.replace("'", "'\\''") + "'"


def completion_file(shell: str, env: dict[str, str]) -> Path:
    """Where install.sh puts venvguard's completion for `shell`, in an environment like `env`."""
    data = env.get("XDG_DATA_HOME", "")
    data = Path(data if data.startswith("/") else Path(env["HOME"]) / ".local" / "share")
    config = Path(env.get("XDG_CONFIG_HOME") or Path(env["HOME"]) / ".config")
    return {"bash": data / "bash-completion" / "completions" / "venvguard",
            "zsh": data / "venvguard" / "zsh" / "_venvguard",
            "fish": config / "fish" / "completions" / "venvguard.fish"}[shell]


def completion_line(shell: str, env: dict[str, str]) -> list[str]:
    """The block's line that loads venvguard's completion (fish autoloads it: none)."""
    q = quoted(str(completion_file(shell, env)), env["HOME"])
    if shell == "zsh":
        q = quoted(str(completion_file(shell, env).parent), env["HOME"])
        return [f'if (( ! ${{fpath[(Ie){q}]}} )); then fpath=({q} "${{fpath[@]}}"); fi; '
                "if (( ${+functions[compdef]} )); then autoload -Uz _venvguard && "
                "compdef _venvguard venvguard; fi"]
    if shell == "bash":
        return ['if [ -z "${BASH_COMPLETION_VERSINFO-}" ]; then __venvguard_complete() { '
                f'[ -r {q} ] && . {q} && _venvguard "$@"; }}; '
                "complete -F __venvguard_complete venvguard; fi"]
    return []


class World:
    """A throwaway home for install.sh: tmp/home (HOME and ZDOTDIR), tmp/config
    (XDG_CONFIG_HOME), tmp/tmp (TMPDIR) and tmp/cwd (where install.sh runs)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.home = tmp / "home"
        self.config = tmp / "config"
        self.temp = tmp / "tmp"
        self.cwd = tmp / "cwd"
        self.state = tmp / "state" / "venvguard"
        self.cache = tmp / "cache" / "venvguard"
        self.bindir = self.home / ".local" / "bin"
        for d in (self.home, self.config, self.temp, self.cwd):
            d.mkdir(exist_ok=True)
        self.env = {
            "HOME": str(self.home),
            "ZDOTDIR": str(self.home),
            "XDG_CONFIG_HOME": str(self.config),
            "XDG_STATE_HOME": str(tmp / "state"),
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "TMPDIR": str(self.temp),
            # a shell install.sh cannot use: tests name theirs with --shell
            "SHELL": str(tmp / "bin" / "sh"),
            # python3 first: install.sh asks this checkout's code for the init line
            "PATH": os.pathsep.join([str(self.python_bin()), path_without_venvguard()]),
            "TERM": "dumb",
            "LANG": "C.UTF-8",
        }

    def python_bin(self) -> Path:
        """tmp/pybin: python3, the Python running the tests (never a pyenv shim)."""
        pybin = self.tmp / "pybin"
        if not pybin.exists():
            pybin.mkdir()
            (pybin / "python3").symlink_to(os.path.realpath(sys.executable))
        return pybin

    def rc(self, shell: str) -> Path:
        if shell == "bash":
            return self.home / ".bashrc"
        if shell == "zsh":
            return Path(self.env.get("ZDOTDIR", self.env["HOME"])) / ".zshrc"
        config = self.env.get("XDG_CONFIG_HOME", str(self.home / ".config"))
        return Path(config) / "fish" / "conf.d" / "venvguard.fish"

    def init_line(self, shell: str) -> str:
        return init_line(shell, self.env)

    def block_lines(self, shell: str, path_line: str | None = None) -> list[str]:
        """The block install.sh writes (with a PATH line before the init line)."""
        return [BEGIN, *([path_line] if path_line else []), self.init_line(shell),
                *completion_line(shell, self.env), END]

    def block(self, shell: str, path_line: str | None = None) -> str:
        return "\n".join(self.block_lines(shell, path_line)) + "\n"

    def completion(self, shell: str) -> Path:
        return completion_file(shell, self.env)

    def install_sh(self, *args: str, runner: str = "sh", **env: str | None):
        """Run install.sh --no-install --no-demo ARGS; env values of None unset."""
        environ = {**self.env, **env}
        environ = {k: v for k, v in environ.items() if v is not None}
        argv = [require(runner), str(INSTALL_SH), "--no-install", "--no-demo", *args]
        return subprocess.run(argv, env=environ, cwd=self.cwd, capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)

    def ok(self, *args: str, **kwargs):
        result = self.install_sh(*args, **kwargs)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def files(self) -> list[str]:
        """Every file (or link) under the world, relative to it (but pybin's)."""
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*")
                      if (p.is_file() or p.is_symlink())
                      and p.relative_to(self.tmp).parts[0] != "pybin")

    def installed(self, *, python3: bool = False) -> Path:
        """Give the world what an install leaves: ~/.local/bin/venvguard (a link to
        this checkout's command) and install.sh's record of it; the bin dir."""
        self.bindir.mkdir(parents=True, exist_ok=True)
        (self.bindir / "venvguard").symlink_to(Path(venvguard_bin_dir()) / "venvguard")
        if python3:  # as in a virtual environment's bin
            (self.bindir / "python3").symlink_to(sys.executable)
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "installed-by").write_text(f"pip /nonexistent/python3\n{self.bindir}\n")
        return self.bindir


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def content(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def shell_env(world: World, *, with_venvguard: bool) -> dict[str, str]:
    env = dict(world.env)
    if with_venvguard:
        env["PATH"] = os.pathsep.join([venvguard_bin_dir(), env["PATH"]])
    return env


# --- install, again, uninstall -----------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_install_adds_exactly_one_block_at_the_end_of_the_rc_file(world, shell):
    before = "" if shell == "fish" else USER_RC
    if before:
        write(world.rc(shell), before)
    result = world.ok("--shell", shell)
    assert world.rc(shell).read_text() == before + world.block(shell)
    assert f"{world.rc(shell)}: added the venvguard block" in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_a_second_install_leaves_the_rc_file_unchanged(world, shell):
    write(world.rc(shell), USER_RC)
    world.ok("--shell", shell)
    after_first = world.rc(shell).read_bytes()
    world.ok("--shell", shell)
    assert world.rc(shell).read_bytes() == after_first
    assert world.rc(shell).read_text().count(BEGIN) == 1


@pytest.mark.parametrize("shell", SHELLS)
def test_a_second_install_says_the_block_is_already_there(world, shell):
    world.ok("--shell", shell)
    result = world.ok("--shell", shell)
    assert f"{world.rc(shell)}: the venvguard block is already there" in result.stdout


@pytest.mark.parametrize("runner", ["sh", "bash"])
@pytest.mark.parametrize("shell", SHELLS)
def test_install_twice_then_uninstall_restores_the_rc_file_byte_for_byte(world, shell, runner):
    # fish's rc is venvguard's own conf.d file: absent before, so removed after.
    if shell != "fish":
        write(world.rc(shell), USER_RC)
    before = content(world.rc(shell))
    world.ok("--shell", shell, runner=runner)
    world.ok("--shell", shell, runner=runner)
    result = world.ok("--uninstall", "--shell", shell, runner=runner)
    assert content(world.rc(shell)) == before
    assert str(world.rc(shell)) in result.stdout


def test_uninstall_removes_the_fish_conf_d_file(world):
    world.ok("--shell", "fish")
    result = world.ok("--uninstall", "--shell", "fish")
    assert not world.rc("fish").exists()
    assert f"{world.rc('fish')}: removed" in result.stdout


def test_uninstall_keeps_other_lines_of_a_fish_conf_d_file(world):
    write(world.rc("fish"), "set -g mine 1\n")
    world.ok("--shell", "fish")
    world.ok("--uninstall", "--shell", "fish")
    assert world.rc("fish").read_text() == "set -g mine 1\n"


# --- an rc file without a final newline ----------------------------------------------------

NO_FINAL_NEWLINE = "export A=1\nalias x=y"


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_an_rc_file_without_a_final_newline_gets_the_block_on_its_own_lines(world, shell):
    write(world.rc(shell), NO_FINAL_NEWLINE)
    world.ok("--shell", shell)
    lines = world.rc(shell).read_text().splitlines()
    assert lines == ["export A=1", "alias x=y", *world.block_lines(shell)]


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_a_second_install_into_an_rc_file_without_a_final_newline_changes_nothing(world, shell):
    write(world.rc(shell), NO_FINAL_NEWLINE)
    world.ok("--shell", shell)
    after_first = world.rc(shell).read_bytes()
    world.ok("--shell", shell)
    assert world.rc(shell).read_bytes() == after_first


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_uninstall_restores_an_rc_file_without_a_final_newline_byte_for_byte(world, shell):
    write(world.rc(shell), NO_FINAL_NEWLINE)
    world.ok("--shell", shell)
    world.ok("--uninstall", "--shell", shell)
    assert world.rc(shell).read_bytes() == NO_FINAL_NEWLINE.encode()


# --- a missing rc file ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_a_missing_rc_file_is_created_with_the_block(world, shell):
    world.ok("--shell", shell)
    assert world.rc(shell).read_text() == world.block(shell)


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_uninstall_leaves_a_created_rc_file_empty(world, shell):
    world.ok("--shell", shell)
    world.ok("--uninstall", "--shell", shell)
    assert world.rc(shell).read_bytes() == b""


# --- where the rc file is -----------------------------------------------------------------


def test_zsh_uses_the_exported_zdotdir_and_leaves_home_zshrc_alone(world):
    zdotdir = world.tmp / "zdot"
    zdotdir.mkdir()
    world.ok("--shell", "zsh", ZDOTDIR=str(zdotdir))
    assert (zdotdir / ".zshrc").read_text() == world.block("zsh")
    assert not (world.home / ".zshrc").exists()


def test_zsh_finds_a_zdotdir_set_only_in_zshenv(world):
    require("zsh")
    write(world.home / ".zshenv", 'ZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    assert (world.home / "zdot" / ".zshrc").read_text() == world.block("zsh")
    assert not (world.home / ".zshrc").exists()


def test_uninstall_finds_a_zdotdir_set_only_in_zshenv(world):
    require("zsh")
    write(world.home / ".zshenv", 'ZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    world.ok("--uninstall", ZDOTDIR=None)
    assert (world.home / "zdot" / ".zshrc").read_bytes() == b""


def test_fish_honours_xdg_config_home(world):
    world.ok("--shell", "fish")
    assert (world.config / "fish" / "conf.d" / "venvguard.fish").read_text() == world.block("fish")
    assert not (world.home / ".config").exists()


def test_uninstall_removes_the_fish_file_from_xdg_config_home(world):
    world.ok("--shell", "fish")
    world.ok("--uninstall")
    assert not (world.config / "fish" / "conf.d" / "venvguard.fish").exists()


def test_fish_without_xdg_config_home_uses_dot_config_in_home(world):
    world.ok("--shell", "fish", XDG_CONFIG_HOME=None)
    assert (world.home / ".config/fish/conf.d/venvguard.fish").read_text() == world.block("fish")


# --- a symlinked rc file (a dotfile manager) --------------------------------------------------


@pytest.fixture
def linked_rc(world, request):
    """The rc file as a relative symlink to dots/rc, mode 600; returns (link, target)."""
    shell = request.param
    target = write(world.tmp / "dots" / "rc", USER_RC)
    target.chmod(0o600)
    link = world.rc(shell)
    link.symlink_to(os.path.relpath(target, link.parent))
    return shell, link, target


@pytest.mark.parametrize("linked_rc", RC_SHELLS, indirect=True)
def test_a_symlinked_rc_file_stays_a_symlink_and_its_target_gets_the_block(world, linked_rc):
    shell, link, target = linked_rc
    world.ok("--shell", shell)
    assert link.is_symlink()
    assert target.read_text() == USER_RC + world.block(shell)


@pytest.mark.parametrize("linked_rc", RC_SHELLS, indirect=True)
def test_a_symlinked_rc_files_target_keeps_its_mode(world, linked_rc):
    shell, _link, target = linked_rc
    world.ok("--shell", shell)
    assert target.stat().st_mode & 0o777 == 0o600
    world.ok("--uninstall", "--shell", shell)
    assert target.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("linked_rc", RC_SHELLS, indirect=True)
def test_uninstall_restores_a_symlinked_rc_files_target_and_keeps_the_link(world, linked_rc):
    shell, link, target = linked_rc
    world.ok("--shell", shell)
    world.ok("--uninstall", "--shell", shell)
    assert link.is_symlink()
    assert target.read_bytes() == USER_RC.encode()


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_a_regular_rc_file_keeps_its_mode(world, shell):
    write(world.rc(shell), USER_RC).chmod(0o640)
    world.ok("--shell", shell)
    assert world.rc(shell).stat().st_mode & 0o777 == 0o640


# --- an existing block ----------------------------------------------------------------------


def old_block(shell: str) -> str:
    return f'{BEGIN}\neval "$(venvguard init {shell})"\n{END}\n'


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_an_old_block_in_the_middle_is_replaced_in_place(world, shell):
    write(world.rc(shell), f"a\n{old_block(shell)}b\n")
    world.ok("--shell", shell)
    assert world.rc(shell).read_text() == f"a\n{world.block(shell)}b\n"


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_two_old_blocks_become_one_in_the_place_of_the_first(world, shell):
    write(world.rc(shell), f"a\n{old_block(shell)}b\n{old_block(shell)}c\n")
    world.ok("--shell", shell)
    assert world.rc(shell).read_text() == f"a\n{world.block(shell)}b\nc\n"


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_uninstall_takes_out_a_block_in_the_middle_and_keeps_the_lines_around_it(world, shell):
    write(world.rc(shell), f"a\n{old_block(shell)}b\n")
    world.ok("--uninstall", "--shell", shell)
    assert world.rc(shell).read_text() == "a\nb\n"


# --- markers that do not pair up -------------------------------------------------------------

UNPAIRED = {
    "begin-only": f"a\n{BEGIN}\nb\n",
    "end-only": f"a\n{END}\nb\n",
    "begin-twice": f"{BEGIN}\na\n{BEGIN}\nb\n{END}\n",
}
ACTIONS = {"install": (), "uninstall": ("--uninstall",)}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("text", UNPAIRED.values(), ids=UNPAIRED.keys())
def test_an_unpaired_marker_makes_install_sh_exit_1_and_leave_the_file_alone(
    world, action, text
):
    write(world.rc("bash"), text)
    result = world.install_sh(*ACTIONS[action], "--shell", "bash")
    assert result.returncode == 1, result.stdout + result.stderr
    assert world.rc("bash").read_bytes() == text.encode()


@pytest.mark.parametrize("action", ACTIONS)
def test_an_unpaired_marker_message_names_the_file_and_says_why(world, action):
    write(world.rc("bash"), UNPAIRED["begin-only"])
    result = world.install_sh(*ACTIONS[action], "--shell", "bash")
    assert str(world.rc("bash")) in result.stderr
    assert MARKER_ERROR in result.stderr
    assert "fix it by hand" in result.stderr


# --- uninstall ------------------------------------------------------------------------------


def test_uninstall_without_shell_cleans_bash_zsh_and_fish(world):
    write(world.rc("bash"), USER_RC)
    for shell in SHELLS:
        world.ok("--shell", shell)
    world.ok("--uninstall")
    assert world.rc("bash").read_text() == USER_RC
    assert world.rc("zsh").read_bytes() == b""
    assert not world.rc("fish").exists()


def test_uninstall_with_shell_leaves_the_other_shells_alone(world):
    for shell in SHELLS:
        world.ok("--shell", shell)
    world.ok("--uninstall", "--shell", "zsh")
    assert world.rc("bash").read_text() == world.block("bash")
    assert world.rc("zsh").read_bytes() == b""
    assert world.rc("fish").read_text() == world.block("fish")


def test_uninstall_with_no_block_anywhere_says_so_and_writes_nothing(world):
    result = world.ok("--uninstall")
    assert "no rc file holds the venvguard block" in result.stdout
    assert world.files() == []


# --- options --------------------------------------------------------------------------------


def test_shell_sh_in_SHELL_without_shell_option_exits_1_and_writes_nothing(world):
    result = world.install_sh(SHELL="/bin/sh")
    assert result.returncode == 1
    assert "cannot tell your shell from $SHELL (/bin/sh)" in result.stderr
    assert world.files() == []


@pytest.mark.parametrize("shell", SHELLS)
def test_the_shell_is_detected_from_SHELL(world, shell):
    world.ok(SHELL=str(world.tmp / "bin" / shell))
    assert world.rc(shell).read_text() == world.block(shell)
    assert [s for s in SHELLS if world.rc(s).exists()] == [shell]


def test_shell_option_with_an_equals_sign(world):
    world.ok("--shell=fish")
    assert world.rc("fish").read_text() == world.block("fish")


@pytest.mark.parametrize("args", [("--shell", "tcsh"), ("--shell=tcsh",)])
def test_an_unsupported_shell_exits_1(world, args):
    result = world.install_sh(*args)
    assert result.returncode == 1
    assert "venvguard knows bash, zsh and fish" in result.stderr
    assert world.files() == []


def test_shell_option_without_a_value_exits_1(world):
    result = world.install_sh("--shell")
    assert result.returncode == 1
    assert "--shell needs a value" in result.stderr


def test_an_unknown_option_exits_2_with_the_usage(world):
    result = world.install_sh("--bogus", "--shell", "bash")
    assert result.returncode == 2
    assert "unknown option: --bogus" in result.stderr
    assert "usage: ./install.sh" in result.stderr
    assert world.files() == []


@pytest.mark.parametrize("option", ["-h", "--help"])
def test_help_exits_0_with_the_usage_and_writes_nothing(world, option):
    result = world.ok(option)
    assert result.stdout.startswith("usage: ./install.sh")
    assert world.files() == []


def test_no_rc_writes_no_rc_file(world):
    result = world.ok("--no-rc", "--shell", "bash")
    assert world.files() == []
    assert "add its init line to its rc file yourself" in result.stdout


def test_no_rc_needs_no_shell_it_knows(world):
    result = world.ok("--no-rc", SHELL="/bin/sh")
    assert world.files() == []
    assert 'eval "$(venvguard init bash)"' in result.stdout


def test_bash_warns_when_bash_profile_does_not_source_bashrc(world):
    write(world.home / ".bash_profile", "export A=1\n")
    result = world.ok("--shell", "bash")
    assert ".bash_profile, which does not source ~/.bashrc" in result.stderr


def test_bash_does_not_warn_when_bash_profile_sources_bashrc(world):
    write(world.home / ".bash_profile", "[ -f ~/.bashrc ] && . ~/.bashrc\n")
    result = world.ok("--shell", "bash")
    assert result.stderr == ""


# --- temporary files ------------------------------------------------------------------------


def leftovers(world: World) -> list[str]:
    return [p for p in world.files() if ".venvguard-install." in p or "venvguard-demo." in p]


def test_no_temporary_files_are_left_after_install_and_uninstall(world):
    for shell in SHELLS:
        world.ok("--shell", shell)
        world.ok("--shell", shell)
    world.ok("--uninstall")
    assert leftovers(world) == []
    assert list(world.temp.iterdir()) == []


def test_no_temporary_files_are_left_when_install_sh_refuses(world):
    write(world.rc("bash"), UNPAIRED["begin-only"])
    assert world.install_sh("--shell", "bash").returncode == 1
    assert world.install_sh("--uninstall").returncode == 1
    assert leftovers(world) == []
    assert list(world.temp.iterdir()) == []


# --- the block in real interactive shells -------------------------------------------------------

SHOW_UV = {
    "bash": ("type -t uv", "function\n"),
    "zsh": ("whence -w uv", "uv: function\n"),
    "fish": ("type -t uv", "function\n"),
}
FIRST_STATUS = {"bash": "echo $?", "zsh": "echo $?", "fish": "echo $status"}


@pytest.mark.parametrize("shell", SHELLS)
def test_after_install_uv_is_a_function_in_an_interactive_shell(world, shell):
    program = require(shell)
    world.ok("--shell", shell)
    command, expected = SHOW_UV[shell]
    code, out, err = run([program, "-i", "-c", command], shell_env(world, with_venvguard=True))
    assert (code, out, err) == (0, expected, "")


@pytest.mark.parametrize("shell", SHELLS)
def test_with_venvguard_missing_the_block_is_silent_and_leaves_status_0(world, shell):
    program = require(shell)
    world.ok("--shell", shell)
    env = shell_env(world, with_venvguard=False)
    assert shutil.which("venvguard", path=env["PATH"]) is None
    code, out, err = run([program, "-i", "-c", FIRST_STATUS[shell]], env)
    assert (code, out, err) == (0, "0\n", "")


# --- venvguard's own completion, placed with the block ------------------------------------

SHIPPED = {"bash": ROOT / "shell" / "completions" / "venvguard.bash",
           "zsh": ROOT / "shell" / "completions" / "_venvguard",
           "fish": ROOT / "shell" / "completions" / "venvguard.fish"}
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
USERS_COMPLETION = "# my own completion for venvguard\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_install_puts_the_completion_where_the_shell_finds_it(world, shell):
    result = world.ok("--shell", shell)
    assert world.completion(shell).read_bytes() == SHIPPED[shell].read_bytes()
    assert f"{world.completion(shell)}: wrote venvguard's completion for {shell}" in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_install_writes_the_completion_the_installed_venvguard_prints(world, shell):
    world.installed()
    world.ok("--shell", shell)
    printed = subprocess.run([str(world.bindir / "venvguard"), "completion", shell],
                             capture_output=True, timeout=30).stdout
    assert world.completion(shell).read_bytes() == printed


@pytest.mark.parametrize("shell", SHELLS)
def test_a_second_install_leaves_the_completion_file_as_it_was(world, shell):
    world.ok("--shell", shell)
    made = world.completion(shell).stat().st_mtime_ns
    result = world.ok("--shell", shell)
    assert world.completion(shell).stat().st_mtime_ns == made
    assert "completion" not in result.stdout


def test_an_outdated_generated_completion_file_is_brought_up_to_date(world):
    old = SHIPPED["fish"].read_text().replace("complete -c venvguard -f\n", "")
    write(world.completion("fish"), old)
    world.ok("--shell", "fish")
    assert world.completion("fish").read_bytes() == SHIPPED["fish"].read_bytes()


@pytest.mark.parametrize("shell", SHELLS)
def test_dry_run_names_the_completion_file_and_writes_none(world, shell):
    result = world.ok("--dry-run", "--shell", shell)
    assert world.files() == []
    assert (f"would write {world.completion(shell)} (venvguard's completion for {shell})"
            in result.stdout)


@pytest.mark.parametrize("shell", SHELLS)
def test_uninstall_removes_the_completion_file_it_wrote(world, shell):
    world.ok("--shell", shell)
    result = world.ok("--uninstall", "--shell", shell)
    assert not world.completion(shell).exists()
    assert f"{world.completion(shell)}: removed" in result.stdout
    assert not (world.tmp / "data" / "venvguard").exists()  # zsh's directory, venvguard's own


def test_dry_run_uninstall_names_the_completion_file_and_removes_nothing(world):
    world.ok("--shell", "zsh")
    before = world.files()
    result = world.ok("--uninstall", "--dry-run")
    assert world.files() == before
    assert f"would remove {world.completion('zsh')} (venvguard's completion for zsh)" \
        in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_a_completion_file_of_the_users_own_is_left_alone(world, shell):
    mine = write(world.completion(shell), USERS_COMPLETION)
    installed = world.ok("--shell", shell)
    removed = world.ok("--uninstall", "--shell", shell)
    assert mine.read_text() == USERS_COMPLETION
    left = f"{mine} is not venvguard's generated completion: left as it is"
    assert left in installed.stdout and left in removed.stdout


def test_no_completion_file_is_written_beside_an_init_line_of_the_users_own(world):
    write(world.rc("zsh"), 'eval "$(venvguard init zsh)"\n')
    world.ok("--shell", "zsh")
    assert not world.completion("zsh").exists()


def test_uninstall_leaves_a_completion_file_when_no_block_of_its_own_was_there(world):
    # e.g. fisher's copy of completions/venvguard.fish, beside fisher's conf.d copy
    write(world.completion("fish"), SHIPPED["fish"].read_text())
    write(world.rc("fish"), (ROOT / "conf.d" / "venvguard.fish").read_text())
    world.ok("--uninstall", "--shell", "fish")
    assert world.completion("fish").read_bytes() == SHIPPED["fish"].read_bytes()


def test_bash_without_bash_completion_loads_the_completion_at_the_first_tab(world):
    world.ok("--shell", "bash")
    code, out, err = run([require("bash"), "-i", "-c", """
        complete -p venvguard
        COMP_WORDS=(venvguard sta) COMP_CWORD=1
        __venvguard_complete venvguard sta venvguard   # as bash calls it at a TAB
        echo "${COMPREPLY[*]}"
        complete -p venvguard
    """], shell_env(world, with_venvguard=False))
    assert (code, err) == (0, "")
    assert out == ("complete -F __venvguard_complete venvguard\nstatus\n"
                   "complete -F _venvguard venvguard\n")


def test_bash_with_bash_completion_finds_the_file_itself(world):
    require("bash")
    if not BASH_COMPLETION.is_file():
        reason = "bash-completion is not installed (apt-get install bash-completion)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set")
        pytest.skip(reason)
    write(world.rc("bash"), f". {BASH_COMPLETION}\n")
    world.ok("--shell", "bash")
    code, out, err = run([require("bash"), "-i", "-c", """
        type -t __venvguard_complete || echo "no stub"
        _completion_loader venvguard
        complete -p venvguard
    """], shell_env(world, with_venvguard=False))
    assert (code, out, err) == (0, "no stub\ncomplete -F _venvguard venvguard\n", "")


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_zsh_block_registers_the_completion_with_compinit_before_or_after_it(world, where):
    program = require("zsh")
    compinit = "autoload -Uz compinit && compinit -u\n"
    if where == "before":
        write(world.rc("zsh"), compinit + "setopt ksh_arrays nounset\n")
    world.ok("--shell", "zsh")
    if where == "after":
        with world.rc("zsh").open("a") as f:
            f.write(compinit)
    code, out, err = run([program, "-i", "-c", "print -r -- ${_comps[venvguard]} ${#fpath[@]}"],
                         shell_env(world, with_venvguard=False))
    plain = run([program, "-f", "-c", "print ${#fpath[@]}"], world.env)[1]
    assert (code, err) == (0, "")
    assert out == f"_venvguard {int(plain) + 1}\n"  # its directory added, every other kept


def test_fish_autoloads_the_completion(world):
    program = require("fish")
    world.ok("--shell", "fish")
    code, out, err = run([program, "-i", "-c", "complete -C 'venvguard sta'"],
                         shell_env(world, with_venvguard=True))
    assert (code, err) == (0, "")
    assert out.startswith("status\t")


# --- paths with spaces, a chatty ~/.zshenv, a new rc file's mode --------------------------------


def test_a_space_in_the_rc_files_directory_deletes_nothing_else(world):
    # the temporary files sit in '<tmp>/my home/': split at the space, `rm -rf <tmp>/my`
    # would take an unrelated directory with it
    home = world.tmp / "my home"
    home.mkdir()
    precious = write(world.tmp / "my" / "precious", "keep me\n")
    world.ok("--shell", "bash", HOME=str(home))
    assert (home / ".bashrc").read_text() == world.block("bash")
    assert precious.exists()
    assert leftovers(world) == []


def test_output_printed_by_zshenv_does_not_become_part_of_the_zsh_rc_path(world):
    require("zsh")
    write(world.home / ".zshenv", 'echo "Welcome"\nZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    assert list(world.cwd.iterdir()) == []
    assert (world.home / "zdot" / ".zshrc").read_text() == world.block("zsh")


@pytest.mark.parametrize("umask, mode", [("022", 0o644), ("077", 0o600), ("002", 0o664)])
@pytest.mark.parametrize("shell", RC_SHELLS)
def test_a_new_rc_files_mode_follows_the_umask(world, shell, umask, mode):
    environ = {**world.env, "UMASK": umask}
    argv = [require("sh"), "-c", 'umask "$UMASK"; exec sh "$0" "$@"', str(INSTALL_SH),
            "--no-install", "--no-demo", "--shell", shell]
    result = subprocess.run(argv, env=environ, cwd=world.cwd, capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert world.rc(shell).stat().st_mode & 0o777 == mode


# --- --dry-run -----------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_dry_run_prints_the_block_as_a_diff_and_writes_nothing(world, shell):
    if shell != "fish":
        write(world.rc(shell), USER_RC)
    before = world.files()
    result = world.ok("--dry-run", "--shell", shell)
    assert world.files() == before
    if shell != "fish":
        assert world.rc(shell).read_text() == USER_RC
    out = result.stdout
    assert f"--- {world.rc(shell)}\n+++ {world.rc(shell)}\n" in out
    assert "".join(f"+{line}\n" for line in world.block_lines(shell)) in out
    assert "dry run: nothing was changed." in out
    assert GUARDED.format(shell=shell) not in out


def test_dry_run_of_an_install_that_changes_nothing_prints_no_diff(world):
    world.ok("--shell", "bash")
    result = world.ok("--dry-run", "--shell", "bash")
    assert "the venvguard block is already there" in result.stdout
    assert "+++" not in result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_dry_run_uninstall_prints_the_removal_and_writes_nothing(world, shell):
    write(world.rc(shell), USER_RC)
    world.ok("--shell", shell)
    after_install = world.rc(shell).read_bytes()
    result = world.ok("--uninstall", "--dry-run", "--shell", shell)
    assert world.rc(shell).read_bytes() == after_install
    assert "".join(f"-{line}\n" for line in world.block_lines(shell)) in result.stdout
    assert "dry run: nothing was changed." in result.stdout


def test_dry_run_uninstall_says_what_it_would_remove_and_removes_nothing(world):
    world.installed()
    world.cache.mkdir(parents=True)
    (world.cache / "init.bash").write_text("# cached\n")
    before = world.files()
    result = uninstall(world, "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert world.files() == before
    assert "would uninstall the venvguard package" in result.stdout
    assert f"would remove {world.state}" in result.stdout
    assert f"would remove {world.cache}" in result.stdout


# --- an init line the user wrote ------------------------------------------------------------

OWN_LINES = {
    "bash-eval": ("bash", ".bashrc", 'eval "$(venvguard init bash)"\n'),
    "bash-guarded": ("bash", ".bashrc", "if command -v venvguard >/dev/null; then "
                     'eval "$(venvguard init bash)"; fi\n'),
    "zsh-cached": ("zsh", ".zshrc", init.rc_line("zsh", "/c/venvguard/init.zsh") + "\n"),
    "zsh-oh-my-zsh": ("zsh", ".zshrc", "plugins=(git venvguard)\nsource $ZSH/oh-my-zsh.sh\n"),
    "zsh-zinit": ("zsh", ".zshrc", "zinit light someone/venvguard\n"),
    "zsh-sourced-plugin": ("zsh", ".zshrc", "source ~/src/venvguard/venvguard.plugin.zsh\n"),
    "zsh-antidote-list": ("zsh", ".zsh_plugins.txt", "someone/venvguard\n"),
    "fish-config": ("fish", "config/fish/config.fish", "venvguard init fish | source\n"),
    "fish-fisher-list": ("fish", "config/fish/fish_plugins", "someone/venvguard\n"),
    "fish-fisher-copy": ("fish", "config/fish/conf.d/venvguard.fish",
                         (ROOT / "conf.d" / "venvguard.fish").read_text()),
}


def own_file(world: World, name: str) -> Path:
    return world.tmp / name if name.startswith("config/") else world.home / name


@pytest.mark.parametrize("case", OWN_LINES.values(), ids=OWN_LINES.keys())
def test_an_init_line_of_the_users_own_gets_no_block_beside_it(world, case):
    shell, name, text = case
    path = write(own_file(world, name), text)
    result = world.ok("--shell", shell)
    assert path.read_text() == text
    if path != world.rc(shell):
        assert not world.rc(shell).exists()
    assert BEGIN not in result.stdout
    assert f"{path}:" in result.stdout
    assert "that line is yours and stays; no block is added beside it" in result.stdout


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_a_commented_out_init_line_is_not_the_users_line(world, shell):
    write(world.rc(shell), f'# eval "$(venvguard init {shell})"\n')
    world.ok("--shell", shell)
    assert world.rc(shell).read_text().count(BEGIN) == 1


def test_an_own_line_written_after_the_block_takes_the_blocks_place(world):
    world.ok("--shell", "bash")
    with world.rc("bash").open("a") as f:
        f.write('eval "$(venvguard init bash)"\n')
    result = world.ok("--shell", "bash")
    assert world.rc("bash").read_text() == 'eval "$(venvguard init bash)"\n'
    assert "took out the venvguard block" in result.stdout


def test_the_old_block_is_not_taken_for_the_users_own_line(world):
    write(world.rc("bash"), f'{BEGIN}\neval "$(venvguard init bash)"\n{END}\n')
    world.ok("--shell", "bash")
    assert world.rc("bash").read_text() == world.block("bash")


def test_uninstall_leaves_the_users_own_line_and_says_so(world):
    write(world.rc("bash"), 'eval "$(venvguard init bash)"\n')
    result = world.ok("--uninstall", "--shell", "bash")
    assert world.rc("bash").read_text() == 'eval "$(venvguard init bash)"\n'
    assert "that line is yours: take it out by hand if you wish" in result.stdout


# --- what the end says --------------------------------------------------------------------


def test_without_a_venvguard_to_find_the_end_does_not_claim_shells_are_guarded(world):
    result = world.ok("--shell", "bash")
    assert GUARDED.format(shell="bash") not in result.stdout
    assert "not guarded yet" in result.stdout


def test_with_venvguard_on_path_the_end_says_new_shells_are_guarded(world):
    env_path = os.pathsep.join([venvguard_bin_dir(), world.env["PATH"]])
    result = world.ok("--shell", "zsh", PATH=env_path)
    assert GUARDED.format(shell="zsh") in result.stdout
    assert "exec zsh" in result.stdout


# --- venvguard in a directory that is not on PATH (~/.local/bin) ------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_the_block_puts_the_install_dir_on_path_before_the_init_line(world, shell):
    world.installed()
    result = world.ok("--shell", shell)
    assert world.rc(shell).read_text() == world.block(shell, PATH_LINE[shell])
    assert GUARDED.format(shell=shell) in result.stdout
    assert "not on your PATH" not in result.stderr
    assert "update-shell" not in result.stdout + result.stderr
    # the cache is made at install time, with the PATH new shells will have
    assert (world.cache / f"init.{shell}").is_file()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_new_interactive_shell_finds_venvguard_through_the_path_line(world, shell):
    program = require(shell)
    bindir = world.installed()
    world.ok("--shell", shell)
    command, expected = SHOW_UV[shell]
    show_path = "string join : $PATH" if shell == "fish" else 'echo "$PATH"'
    code, out, err = run([program, "-i", "-c", f"{command}; {show_path}"], world.env)
    assert (code, err) == (0, "")
    assert out == expected + f"{bindir}{os.pathsep}{world.env['PATH']}\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_path_line_adds_nothing_when_the_dir_is_on_path_already(world, shell):
    program = require(shell)
    bindir = world.installed()
    world.ok("--shell", shell)
    env = {**world.env, "PATH": os.pathsep.join([world.env["PATH"], str(bindir)])}
    show_path = "string join : $PATH" if shell == "fish" else 'echo "$PATH"'
    code, out, err = run([program, "-i", "-c", show_path], env)
    assert (code, out, err) == (0, env["PATH"] + "\n", "")


@pytest.mark.parametrize("shell", SHELLS)
def test_the_path_line_stays_when_install_runs_again_from_a_shell_that_has_it(world, shell):
    bindir = world.installed()
    world.ok("--shell", shell)
    first = world.rc(shell).read_bytes()
    result = world.ok("--shell", shell, PATH=os.pathsep.join([str(bindir), world.env["PATH"]]))
    assert world.rc(shell).read_bytes() == first
    assert "the venvguard block is already there" in result.stdout


def test_a_dir_that_holds_a_python3_goes_to_the_end_of_path(world):
    world.installed(python3=True)
    world.ok("--shell", "bash")
    assert ('*) export PATH="$PATH:$HOME/.local/bin" ;; esac'
            in world.rc("bash").read_text())


def test_a_dir_outside_home_is_quoted(world):
    bindir = world.tmp / "it's here"
    world.installed()
    world.bindir.rename(bindir)
    (world.state / "installed-by").write_text(f"pip /nonexistent/python3\n{bindir}\n")
    world.ok("--shell", "bash")
    program = require("bash")
    code, out, err = run([program, "-i", "-c", 'type -t uv; echo "$PATH"'], world.env)
    assert (code, err) == (0, "")
    assert out == f"function\n{bindir}{os.pathsep}{world.env['PATH']}\n"


def pyenv_shim(world: World) -> Path:
    """A pyenv root in the world whose shims/venvguard runs ~/.local/bin's; the shims."""
    shims = world.tmp / "pyenv" / "shims"
    shims.mkdir(parents=True)
    (shims / "venvguard").symlink_to(world.bindir / "venvguard")
    return shims


def test_a_pyenv_shim_on_path_stands_for_a_pip_install_into_that_pyenv(world):
    world.installed()
    shims = pyenv_shim(world)
    version_bin = world.tmp / "pyenv" / "versions" / "3.13.0" / "bin"
    version_bin.mkdir(parents=True)
    (version_bin / "venvguard").symlink_to(world.bindir / "venvguard")
    (world.state / "installed-by").write_text(f"pip {version_bin}/python3\n{version_bin}\n")
    result = world.ok("--shell", "bash",
                      PATH=os.pathsep.join([str(shims), world.env["PATH"]]))
    assert world.rc("bash").read_text() == world.block("bash")
    assert GUARDED.format(shell="bash") in result.stdout


def test_another_venvguard_on_path_does_not_stand_for_the_new_one(world):
    world.installed()
    shims = pyenv_shim(world)  # pyenv's, while the install went to ~/.local/bin
    result = world.ok("--shell", "bash",
                      PATH=os.pathsep.join([str(shims), world.env["PATH"]]))
    assert world.rc("bash").read_text() == world.block("bash", PATH_LINE["bash"])
    assert f"another `venvguard` is on your PATH ({shims}/venvguard)" in result.stderr


def test_an_own_line_that_runs_before_the_dir_is_on_path_is_named_with_the_fix(world):
    world.installed()
    write(world.rc("bash"), 'eval "$(venvguard init bash)"\n')
    result = world.ok("--shell", "bash")
    assert world.rc("bash").read_text() == 'eval "$(venvguard init bash)"\n'
    assert "so your own line in" in result.stderr
    assert PATH_LINE["bash"] in result.stderr
    assert "not guarded yet" in result.stdout
    assert GUARDED.format(shell="bash") not in result.stdout


def test_no_rc_names_the_path_line_too(world):
    world.installed()
    result = world.ok("--no-rc", "--shell", "bash")
    assert f"and before it, as {world.bindir} is not on your PATH:  {PATH_LINE['bash']}" \
        in result.stdout


@pytest.mark.parametrize("cache", ["cached", "no-cache"])
@pytest.mark.parametrize("shell", SHELLS)
def test_a_venvguard_uninstalled_by_hand_leaves_the_block_silent_with_status_0(
    world, shell, cache
):
    program = require(shell)
    bindir = world.installed()
    world.ok("--shell", shell)
    (bindir / "venvguard").unlink()
    if cache == "no-cache":
        shutil.rmtree(world.cache)
    code, out, err = run([program, "-i", "-c", FIRST_STATUS[shell]], world.env)
    assert (code, out, err) == (0, "0\n", "")


# --- uninstall: the package, the state and the cache ---------------------------------------


@pytest.fixture
def fake_pip(world):
    """install.sh's record names a python3 whose `-m pip uninstall` only logs its
    arguments (and removes the venvguard link, as pip would)."""
    bindir = world.installed()
    log = world.tmp / "pip.log"
    python = world.tmp / "fake-python3"
    python.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nrm -f "{bindir}/venvguard"\n')
    python.chmod(0o755)
    (world.state / "installed-by").write_text(f"pip {python}\n{bindir}\n")
    return log


def uninstall(world: World, *args: str):
    argv = [require("sh"), str(INSTALL_SH), "--uninstall", *args]
    return subprocess.run(argv, env=world.env, cwd=world.cwd, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_uninstall_removes_the_package_state_and_cache_and_says_so(world, fake_pip):
    write(world.rc("bash"), USER_RC)
    world.ok("--shell", "bash")
    (world.state / "broken").write_text("/work/proj\t.venv here: bigpkg 1.0 is broken\n")
    result = uninstall(world)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake_pip.read_text() == "-m pip uninstall -y venvguard\n"
    assert world.rc("bash").read_text() == USER_RC
    assert not world.state.exists()
    assert not world.cache.exists()
    assert f"removed {world.state}" in result.stdout
    assert f"removed {world.cache}" in result.stdout
    assert "environments kept broken, which stay as they are: /work/proj" in result.stdout


def test_uninstall_with_no_install_keeps_the_state_and_the_cache(world, fake_pip):
    world.ok("--shell", "bash")
    world.ok("--uninstall")
    assert not fake_pip.exists()
    assert (world.state / "installed-by").exists()
    assert (world.cache / "init.bash").exists()


def test_uninstall_refuses_while_a_guarded_run_is_under_way(world, fake_pip):
    world.ok("--shell", "bash")
    runs = world.state / "runs" / os.uname().nodename
    runs.mkdir(parents=True)
    (runs / f"{os.getpid()}.abc123.json").write_text("{}")
    before = {p: content(world.tmp / p) for p in world.files()}
    result = uninstall(world)
    assert result.returncode == 1
    assert "a guarded run is under way" in result.stderr
    assert {p: content(world.tmp / p) for p in world.files()} == before


def test_uninstall_settles_runs_cut_short_before_the_package_goes(world, fake_pip, dead_pid):
    runs = world.state / "runs" / os.uname().nodename
    runs.mkdir(parents=True)
    (runs / f"{dead_pid}.abc123.json").write_text("{}")
    result = uninstall(world)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "settling the runs that were cut short first" in result.stdout
    assert not world.state.exists()


def test_uninstall_of_a_venvguard_it_did_not_install_leaves_it_and_its_state(world):
    world.installed()
    (world.state / "installed-by").unlink()
    env_path = os.pathsep.join([str(world.bindir), world.env["PATH"]])
    argv = [require("sh"), str(INSTALL_SH), "--uninstall"]
    result = subprocess.run(argv, env={**world.env, "PATH": env_path}, cwd=world.cwd,
                            capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "was not installed by install.sh" in result.stdout
    assert world.state.exists()


# --- real installs: pip --user and uv tool install, on a clean HOME --------------------------

NOBODY = 65534  # uid and gid: pip --user as root would install for the system instead
CHECKOUT_FILES = ("pyproject.toml", "README.md", "install.sh", "src", "shell")
CERT_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                  "no_proxy")


def package_index() -> dict[str, str]:
    """The variables that send pip and uv to the index pip is configured with: the
    local (file://) indexes pip.conf names, when it names any that exist, so that no
    network is used; else the environment's own index and certificate settings."""
    env = {k: v for k, v in os.environ.items()
           if k in CERT_VARIABLES or k.startswith(("PIP_INDEX", "PIP_EXTRA_INDEX",
                                                   "PIP_FIND_LINKS", "UV_INDEX",
                                                   "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX"))}
    if "PIP_INDEX_URL" in env:  # a mirror named by the environment: both use it
        env.setdefault("UV_DEFAULT_INDEX", env["PIP_INDEX_URL"])
        return env
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                            capture_output=True, text=True, timeout=30).stdout
    local = []
    for match in re.finditer(r"^\S+\.(?:extra-)?index-url='(.*)'$", listed, re.M):
        for url in match.group(1).split():
            parsed = urllib.parse.urlparse(url)
            if parsed.scheme == "file" and os.path.isdir(urllib.request.url2pathname(
                    parsed.path)):
                local.append(url)
    if local:
        env.update(PIP_INDEX_URL=local[0], UV_DEFAULT_INDEX=local[0])
        if local[1:]:
            env.update(PIP_EXTRA_INDEX_URL=" ".join(local[1:]), UV_INDEX=" ".join(local[1:]))
    return env


def usable_python3() -> str | None:
    """The system's python3 (not the one running the tests, which may be a pyenv or
    virtual environment's), when it is 3.11 or newer and has pip."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK) and subprocess.run(
            [candidate, "-c", "import sys, pip; sys.exit(sys.version_info < (3, 11))"],
            capture_output=True, timeout=30,
        ).returncode == 0:
            return candidate
    return None


class RealWorld:
    """A clean HOME (root/home) for a real install from a copy of this checkout
    (root/checkout), as a user of its own: install.sh and the shells run as `user`
    (a uid, or None for the one running the tests). The XDG variables are unset, so
    everything lands where it does on a fresh machine: ~/.local/bin, ~/.local/state,
    ~/.cache. PATH is bin:/usr/bin:/bin, without ~/.local/bin."""

    def __init__(self, root: Path, user: int | None, tools: dict[str, str]):
        self.root = root
        self.user = user
        self.home = root / "home"
        self.bin = root / "bin"
        self.checkout = root / "checkout"
        for d in (self.home, self.bin, self.checkout):
            d.mkdir()
        for name in CHECKOUT_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, self.checkout / name, symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy2(source, self.checkout / name)
        for name, target in tools.items():
            (self.bin / name).symlink_to(target)
        self.env = {
            "HOME": str(self.home),
            "PATH": os.pathsep.join([str(self.bin), "/usr/bin", "/bin"]),
            "TERM": "dumb",
            "LANG": "C.UTF-8",
            "TMPDIR": str(root),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            **package_index(),
        }
        if user is not None:
            for path in [root, *root.rglob("*")]:
                os.lchown(path, user, user)

    @property
    def bindir(self) -> Path:
        return self.home / ".local" / "bin"

    def argv(self, *argv: str) -> list[str]:
        if self.user is None:
            return list(argv)
        return [require("setpriv"), f"--reuid={self.user}", f"--regid={self.user}",
                "--clear-groups", *argv]

    def install_sh(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        argv = self.argv(require("sh"), str(self.checkout / "install.sh"), "--no-demo", *args)
        result = subprocess.run(argv, env={**self.env, **env}, cwd=self.root,
                                capture_output=True, text=True, timeout=180,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def shell(self, shell: str, command: str) -> tuple[int, str, str]:
        return run(self.argv(require(shell), "-i", "-c", command), self.env)

    def rc(self, shell: str) -> Path:
        return {"bash": self.home / ".bashrc", "zsh": self.home / ".zshrc",
                "fish": self.home / ".config" / "fish" / "conf.d" / "venvguard.fish"}[shell]

    def snapshot(self) -> dict[str, bytes | None]:
        return {shell: content(self.rc(shell)) for shell in SHELLS}


def round_trip(world: RealWorld) -> dict:
    """Everything the tests look at: install (bash), the blocks for zsh and fish, what
    new interactive shells see, --dry-run, then --uninstall."""
    write(world.rc("bash"), USER_RC)
    write(world.rc("zsh"), "# my zshrc\n")
    before = world.snapshot()
    facts: dict = {"before": before}
    dry = world.install_sh("--dry-run", "--shell", "bash")
    facts["dry_run"] = (dry, world.snapshot(), world.bindir.exists())
    facts["install"] = world.install_sh("--shell", "bash")
    for shell in ("zsh", "fish"):
        facts[f"install-{shell}"] = world.install_sh("--no-install", "--shell", shell)
    facts["blocks"] = {shell: world.rc(shell).read_text() for shell in SHELLS}
    facts["cache"] = sorted(p.name for p in (world.home / ".cache" / "venvguard").iterdir())
    facts["completions"] = {shell: content(completion_file(shell, world.env)) for shell in SHELLS}
    facts["bytecode"] = sorted(  # the installed package's compiled modules
        p.name.split(".")[0] for p in world.home.glob(
            ".local/**/site-packages/venvguard/**/__pycache__/*.pyc"))
    facts["shells"] = {}
    for shell in SHELLS:
        command, _expected = SHOW_UV[shell]
        facts["shells"][shell] = world.shell(shell, command)
    facts["again"] = world.install_sh("--shell", "bash")
    facts["blocks_again"] = {shell: world.rc(shell).read_text() for shell in SHELLS}
    facts["uninstall"] = world.install_sh("--uninstall")
    facts["after"] = world.snapshot()
    facts["left"] = [p for p in (world.home / ".local" / "state" / "venvguard",
                                 world.home / ".cache" / "venvguard",
                                 world.bindir / "venvguard",
                                 *(completion_file(s, world.env) for s in SHELLS))
                      if os.path.lexists(p)]
    return facts


@contextlib.contextmanager
def real_world(user: int | None, tools: dict[str, str]):
    # Not under pytest's tmp_path, whose parents only the tests' own user may enter.
    root = Path(tempfile.mkdtemp(prefix="venvguard-install-test-"))
    root.chmod(0o755)
    try:
        yield RealWorld(root, user, tools)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pip_user_install():
    python3 = usable_python3()
    if python3 is None:
        reason = "no system python3 3.11+ with pip for the pip --user install"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set")
        pytest.skip(reason)
    for tool in ("uv", "pipx"):  # install.sh would take those, not pip
        if shutil.which(tool, path="/usr/bin:/bin"):
            pytest.skip(f"{tool} is in /usr/bin: install.sh would use it, not pip")
    user = None
    if os.geteuid() == 0:
        user = NOBODY
        require("setpriv")
    else:
        facts = subprocess.run([python3, "-c", "import os, sys, sysconfig; "
                                "print(sys.prefix != sys.base_prefix or "
                                "os.access(sysconfig.get_path('purelib'), os.W_OK))"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        if facts != "False":
            pytest.skip(f"{python3} installs into its own site-packages for this user: "
                        "install.sh would not use pip --user")
    with real_world(user, {"python3": python3}) as world:
        # a system python3 refuses pip installs (PEP 668) but where this is set
        world.env["PIP_BREAK_SYSTEM_PACKAGES"] = "1"
        yield world, round_trip(world)


@pytest.fixture(scope="module")
def uv_tool_install():
    try:
        import uv

        uv_bin = os.path.realpath(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        uv_bin = shutil.which("uv")
    if uv_bin is None:
        if os.environ.get("CI"):
            pytest.fail("uv is missing, and CI is set")
        pytest.skip("uv is missing (pip install uv)")
    python3 = usable_python3() or os.path.realpath(sys.executable)
    with real_world(None, {"uv": uv_bin, "python3": python3}) as world:
        yield world, round_trip(world)


INSTALLS = ["pip_user_install", "uv_tool_install"]


@pytest.fixture(params=INSTALLS)
def installed(request):
    return request.getfixturevalue(request.param)


def test_a_real_install_adds_the_path_line_and_the_cached_init_line(installed):
    world, facts = installed
    for shell in SHELLS:
        text = facts["blocks"][shell]
        block = [BEGIN, PATH_LINE[shell], init_line(shell, world.env),
                 *completion_line(shell, world.env), END]
        assert text.endswith("".join(f"{line}\n" for line in block)), text
    assert facts["cache"] == ["init.bash", "init.fish", "init.zsh"]
    assert (world.bindir / "venvguard").exists() or not facts["left"]


def test_a_real_install_puts_each_shells_completion_in_place(installed):
    _world, facts = installed
    assert facts["completions"] == {shell: SHIPPED[shell].read_bytes() for shell in SHELLS}


def test_a_real_install_compiles_bytecode_for_every_module(installed):
    _world, facts = installed
    # conda's and pixi's rules: not imported by anything install.sh runs, so compiled
    # at install, not by a first use
    assert {"entry", "cli", "conda", "pixi"} <= set(facts["bytecode"])


def test_a_real_install_ends_saying_new_shells_are_guarded(installed):
    _world, facts = installed
    install = facts["install"]
    assert GUARDED.format(shell="bash") in install.stdout
    for shell in ("zsh", "fish"):
        assert GUARDED.format(shell=shell) in facts[f"install-{shell}"].stdout
    # uv says ~/.local/bin is not on PATH (and pip would, without install.sh's
    # --no-warn-script-location); install.sh itself asks nothing of the user
    own = [line for line in install.stderr.splitlines() if line.startswith("install.sh:")]
    assert own == []
    assert "update-shell`," not in install.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_after_a_real_install_a_new_interactive_shell_has_the_wrapper(installed, shell):
    _world, facts = installed
    _command, expected = SHOW_UV[shell]
    assert facts["shells"][shell] == (0, expected, "")


def test_a_real_dry_run_installs_nothing_and_prints_the_diff(installed):
    _world, facts = installed
    result, rc_files, bindir_made = facts["dry_run"]
    assert rc_files == facts["before"]
    assert not bindir_made
    assert "would install venvguard from" in result.stdout
    assert f"+{BEGIN}\n+{PATH_LINE['bash']}\n" in result.stdout


def test_a_second_real_install_leaves_every_block_as_it_was(installed):
    _world, facts = installed
    assert facts["blocks_again"] == facts["blocks"]
    assert "the venvguard block is already there" in facts["again"].stdout


def test_a_real_uninstall_restores_the_rc_files_and_removes_state_and_cache(installed):
    _world, facts = installed
    assert facts["after"] == facts["before"]
    assert facts["left"] == []
    assert "removed" in facts["uninstall"].stdout
