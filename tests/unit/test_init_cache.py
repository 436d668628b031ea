"""init at the floor: the snippet is read beside the package in every install layout
(no importlib.resources), and `init SHELL --cache` gives a start-up that starts no
process, refreshes itself when stale, and is silent where venvguard is missing."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from venvguard import __version__, init

REPO = Path(__file__).resolve().parents[2]
SHELLS = ("bash", "zsh", "fish")


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{program} is not installed, and CI is set")
        pytest.skip(f"{program} is not installed")
    return path


def venvguard_script() -> str:
    return os.path.join(sysconfig.get_path("scripts"), "venvguard")


def make_bin(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


# --- where the snippet comes from ----------------------------------------------------


def test_init_imports_neither_importlib_resources_nor_shellingham_when_a_shell_is_named():
    """Without site (whose .pth files import what they like), only init's own imports."""
    package_root = os.path.dirname(os.path.dirname(init.__file__))
    code = (f"import sys; sys.path.insert(0, {package_root!r}); from venvguard import init; "
            "init.main(['zsh']); sys.stderr.write(' '.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            timeout=30, check=True)
    modules = result.stderr.split()
    assert "venvguard.init" in modules
    for heavy in ("importlib.resources", "shellingham", "typer", "pathlib", "zipfile"):
        assert heavy not in modules


def test_the_development_install_reads_the_snippets_in_the_top_level_shell_directory():
    if not str(Path(init.__file__).resolve()).startswith(str(REPO / "src")):
        pytest.skip("venvguard is not installed editable from this checkout")
    assert Path(init.SHELL_DIR).resolve() == REPO / "shell"


def _build(kind: str, source: Path, out: Path) -> Path:
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "-o",
                    str(out), str(source)], check=True, capture_output=True, timeout=120)
    [built] = out.glob("*.whl" if kind == "wheel" else "*.tar.gz")
    return built


def _snippet_from_wheel(wheel: Path, shell: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(f"venvguard/shell/venvguard.{shell}").decode()


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_a_built_package_carries_every_snippet_as_a_real_file(tmp_path, kind):
    """The wheel holds copies of shell/ (not the development symlink), and a wheel
    built from the sdist does too; `init` in it prints them."""
    built = _build(kind, REPO, tmp_path / "dist")
    if kind == "sdist":
        shutil.unpack_archive(built, tmp_path / "unpacked")
        [source] = (tmp_path / "unpacked").iterdir()
        built = _build("wheel", source, tmp_path / "dist2")
    target = tmp_path / "site"
    with zipfile.ZipFile(built) as zf:
        zf.extractall(target)
    for shell in SHELLS:
        expected = (REPO / "shell" / f"venvguard.{shell}").read_text()  # @VERSION@ and all
        assert _snippet_from_wheel(built, shell) == expected
        assert (target / "venvguard" / "shell" / f"cache.{shell}").is_file()
    env = {**os.environ, "PYTHONPATH": str(target), "PATH": str(tmp_path / "nobin")}
    result = subprocess.run([sys.executable, "-m", "venvguard", "init", "fish"], env=env,
                            capture_output=True, text=True, timeout=30, check=True)
    fish = (REPO / "shell" / "venvguard.fish").read_text()
    assert result.stdout == fish.replace(init.VERSION, __version__)


# --- the cached form: files and the rc line ------------------------------------------


def test_cache_writes_the_header_then_the_snippet_with_the_pythons_sorted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = init.write_cache("bash", ["python3.9", "python3.12"], "/usr/bin:/it's/bin")
    text = Path(path).read_text()
    assert path == str(tmp_path / "cache" / "venvguard" / "init.bash")
    assert "__venvguard_cache_stale 'python3.12 python3.9' '/usr/bin:/it'\\''s/bin'" in text
    assert text.endswith(init.snippet("bash", ["python3.9", "python3.12"]))


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert init.cache_dir() == str(tmp_path / ".cache" / "venvguard")


def test_the_rc_line_names_the_cache_below_home_with_home_so_dotfiles_travel(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    line = init.rc_line("zsh", str(tmp_path / ".cache" / "venvguard" / "init.zsh"))
    assert line == (
        'if [ -r "$HOME/.cache/venvguard/init.zsh" ] || { command -v venvguard >/dev/null'
        ' && venvguard init zsh --cache >/dev/null; }; then . "$HOME/.cache/venvguard/init.zsh"; fi'
    )


def test_init_cache_prints_one_line_and_writes_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    assert init.main(["fish", "--cache"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("if test -r ")
    assert (tmp_path / ".cache" / "venvguard" / "init.fish").is_file()


def test_init_cache_says_one_line_when_the_cache_cannot_be_written(tmp_path, monkeypatch, capsys):
    (tmp_path / "cache").write_text("a file, not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert init.main(["zsh", "--cache"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("venvguard: cannot write the cached snippet")


# --- the cached form in real shells ----------------------------------------------------


class World:
    """A HOME with the cached rc line, a PATH with venvguard and some python3.N."""

    def __init__(self, root: Path, shell: str) -> None:
        self.shell = shell
        self.home = root / "home"
        self.home.mkdir()
        self.vg_bin = root / "vg-bin"
        self.vg_bin.mkdir()
        os.symlink(venvguard_script(), self.vg_bin / "venvguard")
        self.py_bin = make_bin(root / "py-bin", "python3.11")
        self.cache = self.home / ".cache" / "venvguard" / f"init.{shell}"
        self.path = [str(self.vg_bin), str(self.py_bin), "/usr/bin", "/bin"]
        result = self.run_venvguard("init", shell, "--cache")
        self.line = result.stdout.strip()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VENVGUARD"))}
        env.update(HOME=str(self.home), PATH=os.pathsep.join(self.path), TERM="dumb")
        env.pop("ZDOTDIR", None)
        return env

    def run_venvguard(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.vg_bin / "venvguard"), *args], env=self.env(),
                              capture_output=True, text=True, timeout=30, check=True)

    def start(self, then: str, strace: str | None = None) -> subprocess.CompletedProcess:
        """Start the shell interactively with the rc line, run `then`, exit."""
        status = "$status" if self.shell == "fish" else "$?"
        script = f'{self.line}\necho "status=={status}"\n{then}\n'
        argv = [require(self.shell), "-i", "-c", script]
        if self.shell == "bash":
            argv = [argv[0], "--norc", "-i", "-c", script]
        if strace:
            argv = [strace, "-f", "-qq", "-e", "trace=execve", "-o",
                    str(self.home / "trace"), *argv]
        return subprocess.run(argv, env=self.env(), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def programs_run(self) -> list[str]:
        lines = (self.home / "trace").read_text().splitlines()
        return [line.split('execve("', 1)[1].split('"', 1)[0] for line in lines
                if 'execve("' in line and "= 0" in line]


@pytest.fixture(params=SHELLS)
def world(request, tmp_path):
    require(request.param)
    (tmp_path / "w").mkdir()
    return World(tmp_path / "w", request.param)


def _defines_uv(world: World) -> str:
    return "type uv" if world.shell != "fish" else "functions -q uv; and echo uv-is-a-function"


def test_the_cached_start_up_defines_the_wrappers(world):
    result = world.start(_defines_uv(world))
    assert "status==0" in result.stdout
    assert "function" in result.stdout, result.stdout + result.stderr


def test_the_cached_start_up_starts_no_process(world):
    strace = require("strace")
    world.start("", strace=strace)
    assert [os.path.basename(p) for p in world.programs_run()] == [world.shell]


def written_after(path: Path, cache: Path) -> None:
    """Date a change a second after the cache was written: the coarse file system
    clock may give both the same time when they come within a few ms."""
    later = cache.stat().st_mtime + 1
    os.utime(path, (later, later))


def test_a_new_python_on_path_refreshes_the_cache_at_the_next_start(world):
    make_bin(world.py_bin, "python3.13")
    written_after(world.py_bin, world.cache)
    world.start("")
    assert "'python3.11 python3.13'" in world.cache.read_text()


def test_an_upgraded_venvguard_refreshes_the_cache_at_the_next_start(world):
    """An upgrade rewrites the venvguard script: the cache is then older than it."""
    os.utime(world.cache, (1, 1))
    assert os.stat(world.vg_bin / "venvguard").st_mtime > 1
    world.start("")
    assert world.cache.stat().st_mtime > 1


def test_a_new_directory_with_a_python_on_path_refreshes_the_cache(world, tmp_path):
    world.path.insert(0, str(make_bin(tmp_path / "w" / "new-bin", "python3.14")))
    written_after(tmp_path / "w" / "new-bin", world.cache)
    world.start("")
    assert "'python3.11 python3.14'" in world.cache.read_text()


def test_another_path_with_the_same_pythons_leaves_the_cache_as_it_is(world, tmp_path):
    world.path.insert(0, str(tmp_path / "w" / "no-pythons-here"))
    before = world.cache.stat().st_mtime_ns
    world.start("")
    assert world.cache.stat().st_mtime_ns == before


def test_the_path_it_was_made_with_is_quoted_for_each_shell(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    odd = "/a b/it's/back\\slash:$HOME"
    for shell in SHELLS:
        text = Path(init.write_cache(shell, [], odd)).read_text()
        require(shell)
        line = next(line for line in text.splitlines() if "__venvguard_cache_stale ''" in line)
        rest = line.split("__venvguard_cache_stale '' ", 1)[1]
        quoted = rest.split(" (status" if shell == "fish" else ' "${', 1)[0]
        result = subprocess.run([shell, "-c", f"printf %s {quoted}"], capture_output=True,
                                text=True, timeout=30, check=True)
        assert result.stdout == odd, shell


def test_a_current_cache_is_left_as_it_is(world):
    before = world.cache.stat().st_mtime_ns
    world.start("")
    assert world.cache.stat().st_mtime_ns == before


def test_without_venvguard_and_without_a_cache_start_up_is_silent_with_status_0(world):
    world.cache.unlink()
    world.path.remove(str(world.vg_bin))
    result = world.start("")
    assert "status==0" in result.stdout
    assert "venvguard" not in result.stderr
    assert not world.cache.exists()


def test_without_venvguard_a_cached_snippet_passes_calls_through(world):
    world.path.remove(str(world.vg_bin))
    make_bin(world.py_bin, "uv")
    (world.py_bin / "uv").write_text("#!/bin/sh\necho real-uv \"$@\"\n")
    result = world.start("uv sync")
    assert "real-uv sync" in result.stdout
