"""install.sh: the marked block it adds to each shell's rc file, and takes out again.

Every test runs `sh install.sh --no-install --no-demo ...` (one round trip also under
bash) in a throwaway world under tmp_path: HOME, XDG_CONFIG_HOME, ZDOTDIR, SHELL,
TMPDIR and the working directory all point there, and venvguard is kept off PATH so
that install.sh only edits rc files. Nothing is installed, the real home is never read.

A missing shell skips the tests that need it with its reason locally, but fails them
when CI is set (`require`, shared with test_snippets_lint)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_snippets_lint import require, run, venvguard_bin_dir

INSTALL_SH = Path(__file__).resolve().parents[2] / "install.sh"
SHELLS = ("bash", "zsh", "fish")
RC_SHELLS = ("bash", "zsh")  # the rc files shared with the user (fish gets its own file)
BEGIN = "# >>> venvguard >>>"
END = "# <<< venvguard <<<"
INIT_LINE = {
    "bash": 'if command -v venvguard >/dev/null 2>&1; then eval "$(venvguard init bash)"; fi',
    "zsh": 'if command -v venvguard >/dev/null 2>&1; then eval "$(venvguard init zsh)"; fi',
    "fish": "if command -q venvguard; venvguard init fish | source; end",
}
BLOCK = {shell: f"{BEGIN}\n{line}\n{END}\n" for shell, line in INIT_LINE.items()}
USER_RC = "# mine\nexport A=1\n\n"
MARKER_ERROR = "without its partner"


def path_without_venvguard() -> str:
    """This PATH without the directories that hold a venvguard command (pyenv shims
    included), so that install.sh neither runs `venvguard doctor` nor the demo."""
    return os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not os.path.lexists(os.path.join(d, "venvguard"))
    )


class World:
    """A throwaway home for install.sh: tmp/home (HOME and ZDOTDIR), tmp/config
    (XDG_CONFIG_HOME), tmp/tmp (TMPDIR) and tmp/cwd (where install.sh runs)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.home = tmp / "home"
        self.config = tmp / "config"
        self.temp = tmp / "tmp"
        self.cwd = tmp / "cwd"
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
            "PATH": path_without_venvguard(),
            "TERM": "dumb",
            "LANG": "C.UTF-8",
        }

    def rc(self, shell: str) -> Path:
        if shell == "bash":
            return self.home / ".bashrc"
        if shell == "zsh":
            return Path(self.env.get("ZDOTDIR", self.env["HOME"])) / ".zshrc"
        config = self.env.get("XDG_CONFIG_HOME", str(self.home / ".config"))
        return Path(config) / "fish" / "conf.d" / "venvguard.fish"

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
        """Every file (or link) under the world, relative to it."""
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*")
                      if p.is_file() or p.is_symlink())


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
    assert world.rc(shell).read_text() == before + BLOCK[shell]
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
    assert lines == ["export A=1", "alias x=y", BEGIN, INIT_LINE[shell], END]


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
    assert world.rc(shell).read_text() == BLOCK[shell]


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
    assert (zdotdir / ".zshrc").read_text() == BLOCK["zsh"]
    assert not (world.home / ".zshrc").exists()


def test_zsh_finds_a_zdotdir_set_only_in_zshenv(world):
    require("zsh")
    write(world.home / ".zshenv", 'ZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    assert (world.home / "zdot" / ".zshrc").read_text() == BLOCK["zsh"]
    assert not (world.home / ".zshrc").exists()


def test_uninstall_finds_a_zdotdir_set_only_in_zshenv(world):
    require("zsh")
    write(world.home / ".zshenv", 'ZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    world.ok("--uninstall", ZDOTDIR=None)
    assert (world.home / "zdot" / ".zshrc").read_bytes() == b""


def test_fish_honours_xdg_config_home(world):
    world.ok("--shell", "fish")
    assert (world.config / "fish" / "conf.d" / "venvguard.fish").read_text() == BLOCK["fish"]
    assert not (world.home / ".config").exists()


def test_uninstall_removes_the_fish_file_from_xdg_config_home(world):
    world.ok("--shell", "fish")
    world.ok("--uninstall")
    assert not (world.config / "fish" / "conf.d" / "venvguard.fish").exists()


def test_fish_without_xdg_config_home_uses_dot_config_in_home(world):
    world.ok("--shell", "fish", XDG_CONFIG_HOME=None)
    assert (world.home / ".config/fish/conf.d/venvguard.fish").read_text() == BLOCK["fish"]


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
    assert target.read_text() == USER_RC + BLOCK[shell]


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
    assert world.rc(shell).read_text() == f"a\n{BLOCK[shell]}b\n"


@pytest.mark.parametrize("shell", RC_SHELLS)
def test_two_old_blocks_become_one_in_the_place_of_the_first(world, shell):
    write(world.rc(shell), f"a\n{old_block(shell)}b\n{old_block(shell)}c\n")
    world.ok("--shell", shell)
    assert world.rc(shell).read_text() == f"a\n{BLOCK[shell]}b\nc\n"


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
    assert world.rc("bash").read_text() == BLOCK["bash"]
    assert world.rc("zsh").read_bytes() == b""
    assert world.rc("fish").read_text() == BLOCK["fish"]


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
    assert world.rc(shell).read_text() == BLOCK[shell]
    assert [s for s in SHELLS if world.rc(s).exists()] == [shell]


def test_shell_option_with_an_equals_sign(world):
    world.ok("--shell=fish")
    assert world.rc("fish").read_text() == BLOCK["fish"]


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


# --- paths with spaces, a chatty ~/.zshenv, a new rc file's mode --------------------------------


def test_a_space_in_the_rc_files_directory_deletes_nothing_else(world):
    # the temporary files sit in '<tmp>/my home/': split at the space, `rm -rf <tmp>/my`
    # would take an unrelated directory with it
    home = world.tmp / "my home"
    home.mkdir()
    precious = write(world.tmp / "my" / "precious", "keep me\n")
    world.ok("--shell", "bash", HOME=str(home))
    assert (home / ".bashrc").read_text() == BLOCK["bash"]
    assert precious.exists()
    assert leftovers(world) == []


def test_output_printed_by_zshenv_does_not_become_part_of_the_zsh_rc_path(world):
    require("zsh")
    write(world.home / ".zshenv", 'echo "Welcome"\nZDOTDIR="$HOME/zdot"\n')
    world.ok("--shell", "zsh", ZDOTDIR=None)
    assert list(world.cwd.iterdir()) == []
    assert (world.home / "zdot" / ".zshrc").read_text() == BLOCK["zsh"]


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
