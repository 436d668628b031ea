"""The plugin-manager layouts: venvguard.plugin.zsh at the repository's root (what
oh-my-zsh, zinit, antidote, zsh_unplugged, antigen and zplug source) and
conf.d/venvguard.fish (what fisher copies to ~/.config/fish/conf.d/), in real
interactive zsh and fish on a pseudo-terminal.

With venvguard on PATH, the shell reaches its first prompt in silence, with status 0,
and `uv` is venvguard's wrapper; the first start writes the cached snippet (through
`venvguard init SHELL --cache`), later ones source it and leave it as it is; and
`venvguard st<TAB>` completes (zsh: shell/completions put on fpath by the plugin,
with compinit run before or after it; fisher: completions/venvguard.fish, copied).
With venvguard absent from PATH the plugin does nothing: silence, status 0, no
wrapper.

oh-my-zsh, zinit, antidote, zsh_unplugged and fisher are git repositories that these
tests cannot fetch: each is emulated by what it does with the plugin (the lines are
the managers' own, cut down: a loader function that sources
<clone>/venvguard.plugin.zsh, or a static file that does it at the top level). antigen
and zplug are Debian packages (zsh-antigen, zplug); where installed they are used for
real (.ci/run installs them; elsewhere those two tests skip with the reason).
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
PLUGIN_ZSH = ROOT / "venvguard.plugin.zsh"
PLUGIN_FISH = ROOT / "conf.d" / "venvguard.fish"
COMPLETIONS = ROOT / "shell" / "completions"  # beside venvguard.plugin.zsh in a clone
FISHER_COMPLETION = ROOT / "completions" / "venvguard.fish"
ANTIGEN = Path("/usr/share/zsh-antigen/antigen.zsh")
ZPLUG = Path("/usr/share/zplug/init.zsh")


class PluginWorld:
    """tmp/home (HOME, ZDOTDIR), tmp/cache (XDG_CACHE_HOME), tmp/vg-bin (venvguard),
    tmp/clone/venvguard (the repository as a plugin manager clones it: its plugin
    files and the completion files)."""

    def __init__(self, tmp: Path, venvguard: str) -> None:
        self.tmp = tmp
        self.home = tmp / "home"
        self.cache = tmp / "cache"
        self.vg_bin = tmp / "vg-bin"
        self.clone = tmp / "clone" / "venvguard"
        (self.clone / "conf.d").mkdir(parents=True)
        (self.clone / "completions").mkdir()
        shutil.copy2(PLUGIN_ZSH, self.clone / PLUGIN_ZSH.name)
        shutil.copy2(PLUGIN_FISH, self.clone / "conf.d" / PLUGIN_FISH.name)
        shutil.copy2(FISHER_COMPLETION, self.clone / "completions" / FISHER_COMPLETION.name)
        shutil.copytree(COMPLETIONS, self.clone / "shell" / "completions")
        self.vg_bin.mkdir()
        (self.vg_bin / "venvguard").symlink_to(venvguard)
        # fish: no greeting, no first-start completion generator (a busy core for
        # seconds), the prompt the tests wait for
        functions = self.home / ".config" / "fish" / "functions"
        functions.mkdir(parents=True)
        (functions / "fish_prompt.fish").write_text(
            f"function fish_prompt\n    printf '%s' '{PROMPT}'\nend\n")
        (functions / "fish_greeting.fish").write_text("function fish_greeting\nend\n")
        (self.home / ".local" / "share" / "fish" / "generated_completions").mkdir(parents=True)

    def env(self, *, with_venvguard: bool) -> dict[str, str]:
        path = ["/usr/bin", "/bin"]
        if with_venvguard:
            path.insert(0, str(self.vg_bin))
        return {
            "HOME": str(self.home),
            "ZDOTDIR": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_STATE_HOME": str(self.tmp / "state"),
            "XDG_CACHE_HOME": str(self.cache),
            "PATH": os.pathsep.join(path),
            "TERM": "xterm",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    def cached(self, shell: str) -> Path:
        return self.cache / "venvguard" / f"init.{shell}"


class Started:
    """An interactive shell on a pseudo-terminal, at its first prompt: `preamble` is all
    it printed before it (as _prompt gives it)."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.child = pexpect.spawn(
            require_shell(name), ["-i"], env=env, cwd=str(cwd), dimensions=(40, 200),
            encoding="utf-8", codec_errors="replace", timeout=TIMEOUT,
            preexec_fn=default_signals,
        )
        self.child.delaybeforesend = None
        self.preamble = self._prompt()

    def _prompt(self) -> str:
        """The output up to the next prompt, its lines stripped, blank ones left out
        (with fish's mark of a last line without a newline, ⏎, and its padding)."""
        try:
            self.child.expect_exact(PROMPT)
        except (pexpect.TIMEOUT, pexpect.EOF):
            pytest.fail(f"{self.name}: no prompt; it printed:\n{strip_ansi(self.child.before)}")
        lines = strip_ansi(self.child.before).replace("\u23ce", "").split("\n")
        return "\n".join(line.strip() for line in lines if line.strip())

    def run(self, line: str) -> str:
        """Type a line, wait for the next prompt: what it printed (the echo left out)."""
        self.child.sendline(line)
        return self._prompt().partition("\n")[2]

    def first_status(self) -> int:
        """$? (fish: $status) at the first prompt: ask before anything else runs."""
        out = self.run('echo "st=$status"' if self.name == "fish" else 'echo "st=$?"')
        match = re.fullmatch(r"st=(\d+)", out)
        assert match, f"{self.name}: no status in {out!r}"
        return int(match.group(1))

    def uv_is_the_wrapper(self) -> bool:
        if self.name == "fish":
            return self.run("functions -q uv; and echo wrapper; or echo none") == "wrapper"
        return self.run("whence -w uv") == "uv: function"

    def close(self) -> None:
        with contextlib.suppress(Exception):  # teardown: the shell may be long gone
            self.child.close(force=True)


def require_shell(name: str) -> str:
    require(pexpect, "pexpect (pip install pexpect)")
    found = shutil.which(name)
    require(found, f"the shell {name}")
    return found


def optional(path: Path, package: str) -> None:
    """A plugin manager from Debian: required in CI, else skipped without it."""
    require(path.is_file(), f"{package} (apt-get install {package})")


# --- the layouts: what each manager does with the plugin --------------------------------

# Each is (shell, rc file relative to HOME, its text); {clone} is the clone's
# directory, {zsh_custom} oh-my-zsh's custom directory. The prompt comes first, so
# that the plugin's line is the last one the rc file runs.
# (PROMPT_EOL_MARK: zsh's mark of a last line without a newline, `%` or `#`, is then
# padding alone, which .strip() takes out)
ZSH_PROMPT = f"PS1='{PROMPT}'\nPROMPT_EOL_MARK=''\n"
LAYOUTS = {
    # oh-my-zsh.sh: `for plugin ($plugins); do _omz_source "plugins/$plugin/..."`,
    # _omz_source a function that sources $ZSH_CUSTOM/<that path>
    "oh-my-zsh": ("zsh", ".zshrc", ZSH_PROMPT + """\
ZSH_CUSTOM={zsh_custom}
plugins=(git venvguard)
_omz_source() {{
  local context filepath="$1"
  local -A aliases_pre galiases_pre
  if [[ -f "$ZSH_CUSTOM/$filepath" ]]; then
    source "$ZSH_CUSTOM/$filepath"
  fi
}}
for plugin ($plugins); do
  _omz_source "plugins/$plugin/$plugin.plugin.zsh"
done
unset plugin
"""),
    # the same under the strictest options a user may have set
    "oh-my-zsh-strict-options": ("zsh", ".zshrc", ZSH_PROMPT + """\
setopt nounset ksh_arrays sh_word_split err_return
source {zsh_custom}/plugins/venvguard/venvguard.plugin.zsh
"""),
    # zinit light OWNER/venvguard: `.zinit-load-plugin` sources the clone's
    # *.plugin.zsh from a function, with ZERO set to the file
    "zinit": ("zsh", ".zshrc", ZSH_PROMPT + """\
.zinit-load-plugin() {{
  local ___pdir_orig={clone} ZERO
  ZERO=$___pdir_orig/${{___pdir_orig:t}}.plugin.zsh
  builtin source "$ZERO"
}}
.zinit-load-plugin
"""),
    # antidote bundle OWNER/venvguard: its static file, sourced at the top level
    "antidote": ("zsh", ".zshrc", ZSH_PROMPT + """\
fpath+=( {clone} )
source {clone}/venvguard.plugin.zsh
"""),
    # zsh_unplugged's plugin-load: `. $plugdir/${{repo:t}}.plugin.zsh` from a function
    "zsh_unplugged": ("zsh", ".zshrc", ZSH_PROMPT + """\
function plugin-load {{
  local repo plugdir initfile
  for repo in $@; do
    plugdir={clone}
    initfile=$plugdir/${{repo:t}}.plugin.zsh
    fpath+=$plugdir
    (( $+functions[zsh-defer] )) && zsh-defer . $initfile || . $initfile
  done
}}
plugin-load OWNER/venvguard
"""),
    # fisher install OWNER/venvguard: copies conf.d/venvguard.fish (done below)
    "fisher": ("fish", None, None),
}


def lay_out(world: PluginWorld, layout: str) -> str:
    """Write the layout's files into the world; the shell it is for."""
    shell, rc, text = LAYOUTS[layout]
    zsh_custom = world.home / ".oh-my-zsh" / "custom"
    plugin_dir = zsh_custom / "plugins" / "venvguard"
    plugin_dir.mkdir(parents=True)
    shutil.copy2(PLUGIN_ZSH, plugin_dir / PLUGIN_ZSH.name)
    shutil.copytree(COMPLETIONS, plugin_dir / "shell" / "completions")
    if shell == "fish":  # fisher: `cp -RLf` of the clone's conf.d/* and completions/*
        for kind in ("conf.d", "completions"):
            target = world.home / ".config" / "fish" / kind
            target.mkdir(parents=True)
            for file in (world.clone / kind).iterdir():
                shutil.copy2(file, target / file.name)
    else:
        (world.home / rc).write_text(text.format(clone=world.clone, zsh_custom=zsh_custom))
    return shell


@pytest.fixture
def plugin_world(tmp_path):
    venvguard = console_script("venvguard")
    require(venvguard, "the venvguard console script (pip install -e .)")
    return PluginWorld(tmp_path, venvguard)


@pytest.fixture
def start(plugin_world):
    """start(shell, with_venvguard=True): a Started shell, closed after the test."""
    started: list[Started] = []

    def start_one(shell: str, *, with_venvguard: bool = True) -> Started:
        sh = Started(shell, plugin_world.env(with_venvguard=with_venvguard),
                     plugin_world.tmp)
        started.append(sh)
        return sh

    yield start_one
    for sh in started:
        sh.close()


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_with_venvguard_on_path_the_plugin_defines_the_wrapper_silently(
    plugin_world, start, layout
):
    shell = lay_out(plugin_world, layout)
    sh = start(shell)
    assert sh.preamble == ""
    assert sh.first_status() == 0
    assert sh.uv_is_the_wrapper()
    assert plugin_world.cached(shell).is_file()  # made by `venvguard init SHELL --cache`


@pytest.mark.parametrize("layout", LAYOUTS)
def test_with_venvguard_absent_the_plugin_does_nothing_and_leaves_status_0(
    plugin_world, start, layout
):
    shell = lay_out(plugin_world, layout)
    sh = start(shell, with_venvguard=False)
    assert sh.preamble == ""
    assert sh.first_status() == 0
    assert not sh.uv_is_the_wrapper()
    assert not plugin_world.cached(shell).exists()


@pytest.mark.parametrize("layout", ["oh-my-zsh", "fisher"])
def test_later_starts_source_the_cache_and_leave_it_as_it_is(plugin_world, start, layout):
    shell = lay_out(plugin_world, layout)
    start(shell).close()
    cached = plugin_world.cached(shell)
    made = cached.stat().st_mtime_ns
    # A venvguard that fails loudly if run: the cache alone must do (no process).
    loud = plugin_world.tmp / "loud-bin"
    loud.mkdir()
    (loud / "venvguard").write_text("#!/bin/sh\necho 'venvguard was run' >&2\nexit 99\n")
    (loud / "venvguard").chmod(0o755)
    for path in (loud / "venvguard", loud):  # older than the cache, as after an install
        os.utime(path, ns=(made - 10**9, made - 10**9))
    plugin_world.vg_bin = loud
    sh = start(shell)
    assert sh.preamble == ""
    assert sh.first_status() == 0
    assert sh.uv_is_the_wrapper()
    assert cached.stat().st_mtime_ns == made


# oh-my-zsh.sh runs compinit before it sources the plugins; the other managers'
# users run it after them (zinit's and antidote's own advice).
COMPINIT = "autoload -Uz compinit && compinit -u\n"  # -u: the test's home is root's
COMPINIT_FIRST = ("oh-my-zsh", "oh-my-zsh-strict-options")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_plugin_makes_venvguards_own_completion_work(plugin_world, start, layout):
    shell = lay_out(plugin_world, layout)
    if shell == "zsh":
        rc = plugin_world.home / LAYOUTS[layout][1]
        text = rc.read_text()
        rc.write_text(ZSH_PROMPT + COMPINIT + text[len(ZSH_PROMPT):]
                      if layout in COMPINIT_FIRST else text + COMPINIT)
    sh = start(shell)
    assert line_after_tab(sh.child, "venvguard st") == "venvguard status "


def test_the_plugin_leaves_no_variable_of_its_own_behind(plugin_world, start):
    lay_out(plugin_world, "antidote")
    sh = start("zsh")
    assert sh.run("print -l ${(k)parameters[(I)__venvguard_plugin*]}") == ""


# --- real plugin managers from Debian ----------------------------------------------------


def assert_wraps_only_where_venvguard_is(start) -> None:
    """The .zshrc written: with venvguard on PATH, uv is the wrapper, the first
    status is 0 and venvguard's completion works (the manager runs compinit);
    without it, nothing is wrapped and the status is still 0."""
    sh = start("zsh")
    assert sh.first_status() == 0
    assert sh.uv_is_the_wrapper()
    assert line_after_tab(sh.child, "venvguard st") == "venvguard status "
    sh.close()
    absent = start("zsh", with_venvguard=False)
    assert absent.first_status() == 0
    assert not absent.uv_is_the_wrapper()


def test_antigen_bundle_loads_the_plugin(plugin_world, start):
    optional(ANTIGEN, "zsh-antigen")
    (plugin_world.home / ".zshrc").write_text(
        ZSH_PROMPT + f"source {ANTIGEN}\n"
        f"antigen bundle {plugin_world.clone} --no-local-clone\nantigen apply\n")
    assert_wraps_only_where_venvguard_is(start)


def test_zplug_from_local_loads_the_plugin(plugin_world, start):
    optional(ZPLUG, "zplug")
    (plugin_world.home / ".zshrc").write_text(
        ZSH_PROMPT + f"export ZPLUG_HOME={plugin_world.home / '.zplug'}\n"
        f"source {ZPLUG}\nzplug {plugin_world.clone!s}, from:local\nzplug load\n")
    assert_wraps_only_where_venvguard_is(start)
