"""Ctrl-C while uv installs into an environment that existed before: the package it
left half-copied is named with the command that repairs it, uv's temp files are
swept, and the repair, typed as printed or run by `venvguard repair`, makes the
package whole again.

uv links a package's `.dist-info` (RECORD included) before its files, so a Ctrl-C
once RECORD is there and before the last file leaves a package its metadata calls
installed. A local wheel of 20 000 small files copied (`UV_LINK_MODE=copy`) takes
long enough to be cut short there.
"""

import glob
import json
import os
import re

import pytest

from .conftest import messages, wait_for
from .wheels import build_wheel

FILES = 20_000
PROJECT = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.8"
dependencies = ["bigpkg"]

[tool.uv]
package = false

[tool.uv.sources]
bigpkg = {{ path = "{wheel}" }}
"""
COPY_MODE = {"bash": "export UV_LINK_MODE=copy\n", "zsh": "export UV_LINK_MODE=copy\n",
             "fish": "set -gx UV_LINK_MODE copy\n"}
BROKEN = re.compile(
    r"venvguard: kept \.venv \(it existed before\): bigpkg 1\.0 is broken "
    r"\((\d+) of (\d+) files missing\); repair: `uv sync --reinstall-package bigpkg`"
    r"(; swept \d+ leftovers?: .*)?$"
)


@pytest.fixture(scope="module")
def big_wheel(tmp_path_factory) -> str:
    return build_wheel(str(tmp_path_factory.mktemp("wheels")), "bigpkg", "1.0", FILES)


@pytest.fixture
def big_project(world, big_wheel):
    """The world's project depending on bigpkg, locked, with an empty .venv."""
    with open(os.path.join(world.project, "pyproject.toml"), "w") as f:
        f.write(PROJECT.format(wheel=big_wheel))
    os.unlink(os.path.join(world.project, "uv.lock"))
    world.uv("lock")
    world.uv("venv")
    return world


def site_packages(world) -> str:
    [site] = glob.glob(os.path.join(world.venv, "lib", "python3.*", "site-packages"))
    return site


def interrupt_once_record_is_there(sh, world) -> str:
    record = os.path.join(site_packages(world), "bigpkg-1.0.dist-info", "RECORD")
    sh.type("uv sync")
    wait_for(lambda: os.path.exists(record), what="uv to link bigpkg's RECORD", timeout=60)
    sh.sendintr()
    return sh.expect_prompt()


def uv_temps(world) -> list[str]:
    return [os.path.join(top, n) for top, dirs, files in os.walk(world.venv)
            for n in dirs + files if re.fullmatch(r"\.tmp[A-Za-z0-9]{6}", n)]


def kept_records(world) -> list[dict]:
    records = []
    for path in glob.glob(os.path.join(world.state, "venvguard", "kept", "*.json")):
        with open(path) as f:
            records.append(json.load(f))
    return records


def test_ctrl_c_mid_copy_names_the_broken_package_and_its_repair(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name])
    before = set(world.listing(world.venv))

    out = interrupt_once_record_is_there(sh, world)

    # The swept tree, exactly: all that was there, and besides only what bigpkg's
    # RECORD names (its directories too) and uv's own lock file: no temp file.
    site = os.path.relpath(site_packages(world), world.venv)
    allowed = {".lock"}
    with open(os.path.join(site_packages(world), "bigpkg-1.0.dist-info", "RECORD")) as f:
        for line in f:
            path = os.path.normpath(os.path.join(site, line.split(",")[0]))
            while path != site and path not in allowed:  # the file and its directories
                allowed.add(path)
                path = os.path.dirname(path)
    after = set(world.listing(world.venv))
    assert before <= after
    assert after - before <= allowed, sorted(after - before - allowed)[:5]
    [message] = messages(out)
    match = BROKEN.match(message)
    assert match, message
    missing, total = int(match.group(1)), int(match.group(2))
    assert 0 < missing < total and total >= FILES
    assert sh.status() == 130
    assert os.path.isdir(world.venv)  # it existed before: kept
    assert uv_temps(world) == []  # what uv was writing when cut short is swept
    assert [r["repair"] for r in kept_records(world)] == ["uv sync --reinstall-package bigpkg"]
    world.wait_journal_empty()


def test_the_printed_repair_makes_the_package_whole_and_forgets_it(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name])
    [message] = messages(interrupt_once_record_is_there(sh, world))
    assert BROKEN.match(message), message

    text, status = sh.capture("uv sync --reinstall-package bigpkg")

    assert status == 0 and messages(text) == []  # a finished run is silent
    data = os.path.join(site_packages(world), "bigpkg", "data")
    assert sum(len(files) for _top, _dirs, files in os.walk(data)) == FILES
    assert sh.output(".venv/bin/python -c 'import bigpkg; print(bigpkg.VALUE)'") == "42\n"
    assert kept_records(world) == []
    world.wait_journal_empty()


def test_venvguard_repair_runs_the_repair_and_checks_the_environment_whole(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name])
    [message] = messages(interrupt_once_record_is_there(sh, world))
    assert BROKEN.match(message), message

    text, status = sh.capture("venvguard repair")

    assert status == 0
    assert messages(text) == [
        "venvguard: repairing .venv: uv sync --reinstall-package bigpkg",
        "venvguard: .venv is whole: every package in it checks out against its RECORD",
    ]
    assert sh.output(".venv/bin/python -c 'import bigpkg; print(bigpkg.VALUE)'") == "42\n"
    assert kept_records(world) == []
    world.wait_journal_empty()


def test_entering_the_project_again_says_once_that_its_environment_is_broken(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name])
    [message] = messages(interrupt_once_record_is_there(sh, world))
    assert BROKEN.match(message), message
    reminder = ("venvguard: .venv here: bigpkg 1.0 is broken "
                r"\(\d+ of \d+ files missing\); `venvguard repair` repairs it")
    os.mkdir(os.path.join(world.project, "src"))

    assert messages(sh.run("cd /")) == []
    [said] = messages(sh.run(f"cd '{world.project}'"))
    assert re.fullmatch(reminder, said), said
    assert messages(sh.run("cd src")) == []  # still in the project: said once
    assert messages(sh.run("cd ..")) == []
    sh.run("venvguard repair")
    assert messages(sh.run("cd / && cd -")) == []  # repaired: nothing more to say


SNAPSHOT = {"bash": "export VENVGUARD_SNAPSHOT=1\n", "zsh": "export VENVGUARD_SNAPSHOT=1\n",
            "fish": "set -gx VENVGUARD_SNAPSHOT 1\n"}


def tree_hash(root: str) -> str:
    """Paths, types, modes, sizes, contents and link targets of a whole tree."""
    import hashlib
    import stat

    digest = hashlib.sha256()
    for top, dirs, files in sorted(os.walk(root)):
        for name in sorted(dirs + files):
            path = os.path.join(top, name)
            info = os.lstat(path)
            digest.update(f"{os.path.relpath(path, root)}\0{info.st_mode}\0".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()


def test_with_snapshots_ctrl_c_mid_copy_puts_the_environment_back_exactly(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name] + SNAPSHOT[shell_name])
    before = tree_hash(world.venv)

    out = interrupt_once_record_is_there(sh, world)

    assert messages(out) == [
        "venvguard: restored .venv as it was before the interrupted `uv sync`"
    ]
    assert sh.status() == 130
    world.wait_journal_empty()
    wait_for(lambda: not [n for n in os.listdir(world.project) if n.startswith(".venvguard-")],
             what="the interrupted run's tree to be deleted in the background")
    assert tree_hash(world.venv) == before
    assert kept_records(world) == []


def test_with_snapshots_a_finished_run_keeps_its_work_and_drops_the_snapshot(
    big_project, start_shell, shell_name
):
    world = big_project
    sh = start_shell(rc_prefix=COPY_MODE[shell_name] + SNAPSHOT[shell_name])

    text, status = sh.capture("uv sync")

    assert status == 0 and messages(text) == []
    wait_for(lambda: not [n for n in os.listdir(world.project) if n.startswith(".venvguard-")],
             what="the snapshot to be deleted in the background")
    data = os.path.join(site_packages(world), "bigpkg", "data")
    assert sum(len(files) for _top, _dirs, files in os.walk(data)) == FILES
    world.wait_journal_empty()


def test_ctrl_c_while_pip_writes_a_new_package_sweeps_the_half_written_package(
    world, big_wheel, start_shell
):
    """pip writes a package's files before its .dist-info: cut short, it leaves a
    package directory that shadows imports and that nothing will remove."""
    world.uv("venv")
    site = site_packages(world)
    before = sorted(os.listdir(site))
    sh = start_shell()
    data = os.path.join(site, "bigpkg", "data")

    sh.type(f"python3 -m pip --python .venv install --no-index '{big_wheel}'")
    wait_for(lambda: os.path.isdir(data) and sum(len(f) for _t, _d, f in os.walk(data)) > 200,
             what="pip to write bigpkg's files", timeout=60)
    sh.sendintr()
    out = sh.expect_prompt()

    [message] = messages(out)
    assert re.fullmatch(
        r"venvguard: kept \.venv \(it existed before\); the interrupted `python3 -m pip "
        r".*` touched no package; swept 1 leftover: lib/python3\.\d+/site-packages/bigpkg",
        message), message
    assert sorted(os.listdir(site)) == before
    assert sh.status() in (1, 130)  # pip may catch the Ctrl-C, or die of it
    world.wait_journal_empty()


def test_ctrl_c_during_uv_pip_install_names_the_broken_package_and_its_uv_pip_repair(
    world, big_wheel, start_shell, shell_name
):
    world.uv("venv")
    record = os.path.join(site_packages(world), "bigpkg-1.0.dist-info", "RECORD")
    sh = start_shell(rc_prefix=COPY_MODE[shell_name])

    sh.type(f"uv pip install --python .venv '{big_wheel}'")  # the world sets UV_PYTHON
    wait_for(lambda: os.path.exists(record), what="uv to link bigpkg's RECORD", timeout=60)
    sh.sendintr()
    out = sh.expect_prompt()

    [message] = messages(out)
    assert re.fullmatch(
        r"venvguard: kept \.venv \(it existed before\): bigpkg 1\.0 is broken "
        r"\(\d+ of \d+ files missing\); repair: "
        r"`uv pip install --reinstall --no-deps --python \.venv bigpkg==1\.0`"
        r"(; swept \d+ leftovers?: .*)?", message), message
    assert sh.status() == 130
    world.wait_journal_empty()
