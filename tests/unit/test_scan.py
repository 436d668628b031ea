"""scan.py: which directories are environments, how each is judged, and what
`--fix` may remove (a half-made one shaped like its tool's, nothing else)."""

import os
import subprocess

from venvguard import scan

SITE = "lib/python3.11/site-packages"
UV_TAG = scan.UV_TAG + "\n# This file is a cache directory tag created by uv.\n"


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make(root, *, cfg="home = /usr/bin\n", python=True, activate=True, site=True):
    if cfg is not None:
        write(root / "pyvenv.cfg", cfg)
    (root / "bin").mkdir(parents=True, exist_ok=True)
    if python:
        write(root / "bin" / "python")
    if activate:
        write(root / "bin" / "activate")
    if site:
        (root / SITE).mkdir(parents=True)
    return root


def found(root):
    return sorted((os.path.relpath(p, root), cfg) for p, cfg in scan.environments(str(root)))


def test_environments_are_the_directories_with_a_pyvenv_cfg(tmp_path):
    make(tmp_path / "a" / ".venv")
    make(tmp_path / "b" / "deep" / "env")
    write(tmp_path / "c" / "notes.txt")

    assert found(tmp_path) == [("a/.venv", True), ("b/deep/env", True)]


def test_the_walk_does_not_look_inside_an_environment(tmp_path):
    make(tmp_path / "env")
    make(tmp_path / "env" / "lib" / "nested")

    assert found(tmp_path) == [("env", True)]


def test_the_walk_never_follows_a_link(tmp_path):
    make(tmp_path / "elsewhere" / "env")
    (tmp_path / "root").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "link")

    assert found(tmp_path / "root") == []


def test_uv_cut_short_before_pyvenv_cfg_is_found_by_its_cache_tag(tmp_path):
    write(tmp_path / "p" / ".venv" / "CACHEDIR.TAG", UV_TAG)
    write(tmp_path / "p" / ".venv" / ".gitignore", "*\n")
    (tmp_path / "p" / ".venv" / "bin").mkdir()

    assert found(tmp_path) == [("p/.venv", False)]


def test_another_tools_cache_directory_is_not_an_environment(tmp_path):
    write(tmp_path / "cache" / "CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
    write(tmp_path / "cache" / "blobs" / "x")  # not a name uv writes there first
    write(tmp_path / "other" / "CACHEDIR.TAG", "Signature: something else\n")

    assert found(tmp_path) == []


def judge(path, cfg=True):
    return scan.judge(str(path), cfg)


def test_a_complete_environment_is_whole(tmp_path):
    assert judge(make(tmp_path / "env")).verdict == scan.WHOLE


def test_python_m_venv_without_activate_is_half_made(tmp_path):
    result = judge(make(tmp_path / "env", activate=False))
    assert result.verdict == scan.HALF_MADE
    assert result.problems == ["no bin/activate: python -m venv was cut short"]


def test_a_uv_environment_without_pip_or_activate_is_not_half_made(tmp_path):
    env = make(tmp_path / "env", cfg="home = /usr/bin\nuv = 0.13.9\n", activate=False)
    assert judge(env).verdict == scan.WHOLE


def test_no_interpreter_or_no_site_packages_is_half_made(tmp_path):
    assert judge(make(tmp_path / "a", python=False)).problems == ["no interpreter in bin/"]
    assert judge(make(tmp_path / "b", site=False)).problems == ["no site-packages"]


def test_a_stash_or_a_temp_file_makes_it_broken(tmp_path):
    env = make(tmp_path / "env")
    write(env / SITE / "~umpy" / "a.py")
    write(env / "bin" / ".tmpAb12Cd")

    result = judge(env)

    assert result.verdict == scan.BROKEN
    assert result.stashes == [f"{SITE}/~umpy"]
    assert result.leftovers == ["bin/.tmpAb12Cd"]


def test_a_broken_uv_project_environment_is_repaired_by_the_projects_sync(tmp_path):
    project = tmp_path / "p"
    env = make(project / ".venv", cfg="home = /usr/bin\nuv = 0.13.9\n")
    write(project / "pyproject.toml")
    write(project / "uv.lock")
    write(env / SITE / "six-1.0.dist-info" / "RECORD", "six.py,,3\n")

    result = judge(env)

    assert [d.name for d in result.dists] == ["six"]
    assert scan.repair_command(result, ".venv") == "uv sync --reinstall-package six"


def test_remove_half_made_removes_what_is_shaped_like_the_tools_environment(tmp_path):
    env = make(tmp_path / "env", activate=False)

    assert scan.remove_half_made(judge(env)) is None
    assert not os.path.lexists(env)


def test_remove_half_made_keeps_a_directory_that_holds_your_files(tmp_path):
    env = make(tmp_path / "env", activate=False)
    write(env / "report.pdf", "mine")
    result = judge(env)

    assert scan.remove_half_made(result) == "it is not shaped like an environment (foreign)"
    assert (env / "report.pdf").read_text() == "mine"


def run_scan(root, *args):
    return subprocess.run(["venvguard", "scan", *args], cwd=root, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def test_scan_exits_0_when_every_environment_is_whole(tmp_path):
    make(tmp_path / "env")
    done = run_scan(tmp_path)
    assert (done.returncode, done.stdout) == (0, "whole      env\n")


def test_scan_fix_asks_before_removing_and_off_a_terminal_removes_nothing_without_yes(tmp_path):
    env = make(tmp_path / "half", activate=False)
    make(tmp_path / "whole")

    done = run_scan(tmp_path, "--fix")

    assert done.returncode == 1
    assert os.path.isdir(env)
    assert "not on a terminal: run with --yes to remove it" in done.stderr


def test_scan_fix_yes_removes_the_half_made_one_and_never_a_whole_one(tmp_path):
    make(tmp_path / "half", activate=False)
    whole = make(tmp_path / "whole")

    done = run_scan(tmp_path, "--fix", "--yes")

    assert done.returncode == 0, done.stdout + done.stderr
    assert not os.path.lexists(tmp_path / "half")
    assert (whole / "pyvenv.cfg").exists()
    assert done.stdout == "whole      whole\n"
    assert done.stderr == "venvguard: removed half (half-made)\n"


def test_scan_json_lists_each_environment_with_its_verdict(tmp_path):
    import json

    make(tmp_path / "half", activate=False)
    make(tmp_path / "whole")

    done = run_scan(tmp_path, "--json")

    assert done.returncode == 1
    found = {e["path"]: e for e in json.loads(done.stdout)}
    assert found[str(tmp_path / "whole")]["verdict"] == "whole"
    assert found[str(tmp_path / "half")]["verdict"] == "half-made"
    assert found[str(tmp_path / "half")]["problems"]
