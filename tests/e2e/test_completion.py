"""venvguard's own completion, pressed with TAB in real interactive shells on a
pseudo-terminal, each loading the shipped file the way install.sh sets it up:

- bash with bash-completion: the file in ~/.local/share/bash-completion/completions/,
  loaded at the first TAB; bash without it: loaded then by install.sh's stub;
- zsh: its directory on fpath, then `autoload -Uz compinit && compinit`;
- fish: ~/.config/fish/completions/venvguard.fish, autoloaded.

What the line became is read back by conftest's line_after_tab; what a TAB lists
is the output up to a marker command typed after it (Ctrl-U first). Nothing waits
with a sleep.
"""

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import (
    PROMPT,
    TIMEOUT,
    console_script,
    default_signals,
    line_after_tab,
    pexpect,
    require,
    strip_ansi,
)

ROOT = Path(__file__).resolve().parents[2]
COMPLETIONS = ROOT / "shell" / "completions"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
SETUPS = ("bash-completion", "bash", "zsh", "fish")  # bash: without bash-completion


class Completing:
    """An interactive shell at its first prompt, with venvguard's completion set up."""

    def __init__(self, setup: str, tmp: Path, venvguard: str) -> None:
        self.setup = setup
        self.shell = "bash" if setup.startswith("bash") else setup
        home = tmp / "home"
        data = home / ".local" / "share"
        config = home / ".config"
        bin_dir = tmp / "vg-bin"
        for d in (home, data, config, bin_dir):
            d.mkdir(parents=True, exist_ok=True)
        (bin_dir / "venvguard").symlink_to(venvguard)
        (tmp / "work" / "somedir").mkdir(parents=True)
        if setup == "bash-completion":
            require(BASH_COMPLETION.is_file(), "bash-completion (apt-get install bash-completion)")
            place(COMPLETIONS / "venvguard.bash", data / "bash-completion" / "completions" /
                  "venvguard")
            rc = f". {BASH_COMPLETION}\nPS1='{PROMPT}'\n"
        elif setup == "bash":  # install.sh's block: a stub that loads it at the first TAB
            file = data / "bash-completion" / "completions" / "venvguard"
            place(COMPLETIONS / "venvguard.bash", file)
            rc = (f"__venvguard_complete() {{ [ -r {file} ] && . {file} && _venvguard \"$@\"; }}\n"
                  f"complete -F __venvguard_complete venvguard\nPS1='{PROMPT}'\n")
        elif setup == "zsh":
            functions = data / "venvguard" / "zsh"
            place(COMPLETIONS / "_venvguard", functions / "_venvguard")
            rc = (f"bindkey -e\nfpath=({functions} $fpath)\nautoload -Uz compinit && compinit\n"
                  f"PS1='{PROMPT}'\nPROMPT_EOL_MARK=''\n")
        else:
            place(COMPLETIONS / "venvguard.fish", config / "fish" / "completions" /
                  "venvguard.fish")
            (data / "fish" / "generated_completions").mkdir(parents=True)
            rc = (f"function fish_prompt\n    printf '%s' '{PROMPT}'\nend\n"
                  "function fish_greeting\nend\n")
        rc_file = {"bash": home / ".bashrc", "zsh": home / ".zshrc",
                   "fish": config / "fish" / "config.fish"}[self.shell]
        rc_file.parent.mkdir(parents=True, exist_ok=True)
        rc_file.write_text(rc)
        env = {
            "HOME": str(home), "ZDOTDIR": str(home), "XDG_CONFIG_HOME": str(config),
            "XDG_DATA_HOME": str(data), "XDG_STATE_HOME": str(tmp / "state"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),
            "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        }
        argv = ["--rcfile", str(rc_file), "-i"] if self.shell == "bash" else ["-i"]
        found = shutil.which(self.shell)
        require(found, f"the shell {self.shell}")
        self.child = pexpect.spawn(found, argv, env=env, cwd=str(tmp / "work"),
                                   dimensions=(40, 250), encoding="utf-8",
                                   codec_errors="replace", timeout=TIMEOUT,
                                   preexec_fn=default_signals)
        self.child.delaybeforesend = None
        self._marks = 0
        self._expect(PROMPT, "the first prompt")

    def _expect(self, pattern: str, what: str, exact: bool = True) -> str:
        try:
            if exact:
                self.child.expect_exact(pattern)
            else:
                self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pytest.fail(f"{self.setup}: no {what}; it printed:\n"
                        f"{strip_ansi(str(self.child.before))[-3000:]}")
        return strip_ansi(self.child.before)

    def line_after_tab(self, typed: str) -> str:
        return line_after_tab(self.child, typed)

    def listing(self, typed: str) -> str:
        """What TAB shows after `typed` (bash: the second TAB lists)."""
        self._marks += 1
        tabs = "\t\t" if self.shell == "bash" else "\t"
        self.child.send(typed + tabs)
        self.child.send(f"\x15echo vg''mark{self._marks}\r")
        shown = self._expect(f"vgmark{self._marks}\r\n", f"the listing after `{typed}<TAB>`")
        self._expect(PROMPT, "prompt")
        return shown

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.child.close(force=True)


def place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


@contextlib.contextmanager
def started(setup: str, tmp_path: Path):
    require(pexpect, "pexpect (pip install pexpect)")
    venvguard = console_script("venvguard")
    require(venvguard, "the venvguard console script (pip install -e .)")
    sh = Completing(setup, tmp_path, venvguard)
    try:
        yield sh
    finally:
        sh.close()


@pytest.fixture(params=SETUPS)
def completing(request, tmp_path):
    with started(request.param, tmp_path) as sh:
        yield sh


@pytest.fixture(params=[s for s in SETUPS if s != "bash"])
def delegating(request, tmp_path):
    """The shells whose completion has the others' to hand (not bash without
    bash-completion)."""
    with started(request.param, tmp_path) as sh:
        yield sh


def test_tab_completes_a_command_name(completing):
    assert completing.line_after_tab("venvguard sta") == "venvguard status "


@pytest.mark.parametrize("command", ["init", "completion"])
def test_tab_after_init_offers_the_three_shells(completing, command):
    shown = completing.listing(f"venvguard {command} ")
    assert re.search(r"bash\s+fish\s+zsh", shown), shown


def test_tab_after_scan_dashes_offers_its_options(completing):
    shown = completing.listing("venvguard scan --")
    for option in ("--fix", "--yes", "--json", "--help"):
        assert option in shown, shown


def test_tab_after_scan_completes_a_directory(completing):
    line = completing.line_after_tab("venvguard scan som")
    assert line == "venvguard scan somedir/"


def test_tab_after_exec_dashes_completes_a_command_name(completing):
    assert completing.line_after_tab("venvguard exec -- venvgu") == "venvguard exec -- venvguard "


@pytest.mark.parametrize("command", ["exec", "run"])
def test_tab_after_exec_delegates_to_the_commands_own_completion(delegating, command):
    line = delegating.line_after_tab(f"venvguard {command} -- venvguard sta")
    assert line == f"venvguard {command} -- venvguard status "


def test_tab_after_exec_without_dashes_delegates_too(delegating):
    line = delegating.line_after_tab("venvguard exec venvguard sta")
    assert line == "venvguard exec venvguard status "


def test_without_bash_completion_the_words_after_the_command_are_file_names(tmp_path):
    with started("bash", tmp_path) as sh:
        assert sh.line_after_tab("venvguard exec -- venvguard som") == \
            "venvguard exec -- venvguard somedir/"
