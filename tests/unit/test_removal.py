"""removal: every step through descriptors, from a directory held since before the
run: inspect the target without following a link, set it aside in one rename and
check it is the very directory inspected, delete it pyvenv.cfg last; a symlink
swapped in anywhere is at most unlinked itself, never followed."""

import errno
import os
import shutil
import stat
import traceback

import pytest
from unit_helpers import fd_is_open, make_env

from venvguard import decision, removal
from venvguard.decision import ABSENT, DIR, FILE, OTHER, SYMLINK

OTHER_UID = 65534  # nobody


@pytest.fixture
def fds():
    """Descriptors a test opens, closed after it."""
    opened = []
    yield opened
    for fd in opened:
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def opendir(fds):
    def open_(path):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fds.append(fd)
        return fd
    return open_


@pytest.fixture
def inspect(fds):
    """removal.inspect, its descriptor closed after the test."""
    def inspect_(parent, name):
        disk, fd = removal.inspect(parent, name)
        if fd is not None:
            fds.append(fd)
        return disk, fd
    return inspect_


@pytest.fixture
def victim(tmp_path):
    """A directory full of files that no deletion may touch."""
    path = tmp_path / "victim"
    (path / "sub").mkdir(parents=True)
    (path / "precious").write_text("keep me")
    (path / "sub" / "data").write_text("and me")
    return path


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def set_aside_env(project, opendir, inspect, **make):
    """An environment at project/.venv, inspected and set aside as settle does:
    (parent descriptor, trash name, descriptor on the environment)."""
    make_env(project / ".venv", **make)
    parent = opendir(project)
    disk, fd = inspect(parent, ".venv")
    assert disk.kind == DIR
    trash = removal.trash_name("abc", 0)
    removal.set_aside(parent, ".venv", trash, fd)
    return parent, trash, fd


def as_another_user(work, *paths):
    """Run `work()` as a user whom permissions do stop: this one, unless it is root;
    then a forked child that owns `paths` (and all below them) and runs as nobody."""
    if os.geteuid() != 0:
        work()
        return
    for top in paths:
        os.lchown(top, OTHER_UID, OTHER_UID)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), OTHER_UID, OTHER_UID)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            work()
            status = 0
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        failure = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, failure


# --- names ------------------------------------------------------------------------


def test_the_trash_name_says_whose_run_and_which_target_it_is():
    assert removal.trash_name("abc123", 0) == ".venvguard-removing-abc123-0"


def test_each_target_of_a_run_gets_its_own_trash_name():
    assert removal.trash_name("t", 0) != removal.trash_name("t", 1)


# --- the anchor: a directory held from before the run -------------------------------------


def test_hold_anchor_opens_the_targets_parent(tmp_path, fds):
    fd, anchor = removal.hold_anchor(str(tmp_path / ".venv"))
    fds.append(fd)
    info = os.stat(tmp_path)
    assert anchor == [str(tmp_path), info.st_dev, info.st_ino]
    assert os.path.samestat(os.fstat(fd), info)


def test_hold_anchor_opens_the_nearest_existing_directory_when_parents_are_missing(
    tmp_path, fds
):
    """`uv sync` with UV_PROJECT_ENVIRONMENT=a/b/.venv makes a/ and b/ too."""
    fd, anchor = removal.hold_anchor(str(tmp_path / "a" / "b" / ".venv"))
    fds.append(fd)
    assert anchor[0] == str(tmp_path)
    assert os.path.samestat(os.fstat(fd), os.stat(tmp_path))


def test_hold_anchor_goes_above_a_file_in_the_way(tmp_path, fds):
    (tmp_path / "file").write_text("")
    fd, anchor = removal.hold_anchor(str(tmp_path / "file" / "b" / ".venv"))
    fds.append(fd)
    assert anchor[0] == str(tmp_path)


def test_open_anchor_opens_the_recorded_directory_again(tmp_path, fds):
    held, anchor = removal.hold_anchor(str(tmp_path / ".venv"))
    fds.append(held)
    fd = removal.open_anchor(anchor)
    fds.append(fd)
    assert os.path.samestat(os.fstat(fd), os.stat(tmp_path))


def test_open_anchor_refuses_another_directory_at_the_recorded_path(tmp_path, fds):
    project = tmp_path / "project"
    project.mkdir()
    held, anchor = removal.hold_anchor(str(project / ".venv"))
    fds.append(held)
    project.rename(tmp_path / "moved")
    project.mkdir()
    assert removal.open_anchor(anchor) is None


def test_open_anchor_of_a_directory_that_is_gone_is_none(tmp_path):
    assert removal.open_anchor([str(tmp_path / "gone"), 1, 2]) is None


def test_the_anchor_is_in_place_while_nothing_moved(tmp_path, fds):
    fd, anchor = removal.hold_anchor(str(tmp_path / ".venv"))
    fds.append(fd)
    assert removal.anchor_in_place(fd, anchor)


def test_the_anchor_is_not_in_place_after_being_renamed_and_replaced(tmp_path, fds):
    project = tmp_path / "project"
    project.mkdir()
    fd, anchor = removal.hold_anchor(str(project / ".venv"))
    fds.append(fd)
    project.rename(tmp_path / "moved")
    project.mkdir()
    assert not removal.anchor_in_place(fd, anchor)


def test_the_anchor_is_in_place_when_a_link_leads_back_to_the_very_directory_held(
    tmp_path, fds
):
    """mv project elsewhere; ln -s elsewhere project: the path leads to the held
    directory again. Nothing can be steered: every step goes through the held
    descriptor, which is that directory."""
    project = tmp_path / "project"
    project.mkdir()
    fd, anchor = removal.hold_anchor(str(project / ".venv"))
    fds.append(fd)
    project.rename(tmp_path / "elsewhere")
    project.symlink_to(tmp_path / "elsewhere")
    assert removal.anchor_in_place(fd, anchor)


def test_the_anchor_is_not_in_place_when_a_link_to_another_directory_took_its_place(
    tmp_path, fds, victim
):
    project = tmp_path / "project"
    project.mkdir()
    fd, anchor = removal.hold_anchor(str(project / ".venv"))
    fds.append(fd)
    project.rename(tmp_path / "moved")
    project.symlink_to(victim)
    assert not removal.anchor_in_place(fd, anchor)


def test_the_anchor_is_not_in_place_once_it_is_gone(tmp_path, fds):
    project = tmp_path / "project"
    project.mkdir()
    fd, anchor = removal.hold_anchor(str(project / ".venv"))
    fds.append(fd)
    project.rmdir()
    assert not removal.anchor_in_place(fd, anchor)


# --- walking down from the anchor -----------------------------------------------------


def test_open_parent_walks_down_from_the_anchor_to_the_targets_parent(tmp_path, fds):
    fd, anchor = removal.hold_anchor(str(tmp_path / "a" / "b" / ".venv"))
    fds.append(fd)
    (tmp_path / "a" / "b").mkdir(parents=True)  # the tool made them during the run
    parent = removal.open_parent(fd, anchor[0], str(tmp_path / "a" / "b" / ".venv"))
    fds.append(parent)
    assert os.path.samestat(os.fstat(parent), os.stat(tmp_path / "a" / "b"))
    assert fd_is_open(fd)


def test_open_parent_of_a_target_right_below_the_anchor_is_a_new_descriptor_on_it(
    tmp_path, fds
):
    fd, anchor = removal.hold_anchor(str(tmp_path / ".venv"))
    fds.append(fd)
    parent = removal.open_parent(fd, anchor[0], str(tmp_path / ".venv"))
    fds.append(parent)
    assert parent != fd
    assert os.path.samestat(os.fstat(parent), os.fstat(fd))
    os.close(parent)
    assert fd_is_open(fd)  # the held one is still held


@pytest.mark.parametrize("swapped", ["a", "a/b"])
def test_open_parent_refuses_a_way_down_through_a_symlink(tmp_path, fds, victim, swapped):
    """A directory on the way swapped for a link (to a copy that holds a .venv too)
    would steer the deletion elsewhere."""
    fd, anchor = removal.hold_anchor(str(tmp_path / "a" / "b" / ".venv"))  # tmp_path
    fds.append(fd)
    (tmp_path / "a" / "b").mkdir(parents=True)
    (victim / "b").mkdir()
    moved = tmp_path / swapped
    moved.rename(tmp_path / "old")
    moved.symlink_to(victim if swapped == "a" else victim / "b")
    with pytest.raises(OSError) as raised:
        removal.open_parent(fd, anchor[0], str(tmp_path / "a" / "b" / ".venv"))
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)


def test_open_parent_refuses_a_file_on_the_way(tmp_path, fds):
    fd, anchor = removal.hold_anchor(str(tmp_path / "a" / ".venv"))
    fds.append(fd)
    (tmp_path / "a").write_text("")
    with pytest.raises(OSError):
        removal.open_parent(fd, anchor[0], str(tmp_path / "a" / ".venv"))


# --- inspect ------------------------------------------------------------------------


def test_inspect_of_nothing_is_absent(tmp_path, opendir):
    disk, fd = removal.inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, fd) == (ABSENT, None)


def test_inspect_reports_an_environments_names_and_pyvenv_cfg(tmp_path, opendir, inspect):
    env = make_env(tmp_path / ".venv")
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert disk.kind == DIR
    assert disk.names == {"pyvenv.cfg", "bin", "lib"}
    assert disk.pyvenv_cfg
    assert disk.mine
    assert os.path.samestat(os.fstat(fd), os.stat(env))


def test_inspect_never_follows_a_symlinked_target(tmp_path, opendir, inspect):
    """A link to an environment is a link: its names are never looked at."""
    make_env(tmp_path / "real")
    (tmp_path / ".venv").symlink_to(tmp_path / "real")
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, fd) == (SYMLINK, None)
    assert disk.names == frozenset()
    assert not disk.pyvenv_cfg


def test_inspect_of_a_dangling_symlink_is_a_symlink(tmp_path, opendir, inspect):
    (tmp_path / ".venv").symlink_to(tmp_path / "nowhere")
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, fd) == (SYMLINK, None)


def test_inspect_of_a_file_gives_its_size(tmp_path, opendir, inspect):
    (tmp_path / ".venv").write_text("/elsewhere/env\n")
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, disk.size, fd) == (FILE, 15, None)


def test_inspect_of_a_fifo_is_other(tmp_path, opendir, inspect):
    os.mkfifo(tmp_path / ".venv")
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, fd) == (OTHER, None)


def test_inspect_of_an_empty_directory(tmp_path, opendir, inspect):
    (tmp_path / ".venv").mkdir()
    disk, fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, disk.names, disk.pyvenv_cfg, disk.has_files) == (
        DIR, frozenset(), False, False)
    assert fd is not None


def test_inspect_of_an_early_venv_with_only_directories_has_no_files(
    tmp_path, opendir, inspect
):
    """What `python -m venv` has made when cut short before pyvenv.cfg."""
    (tmp_path / ".venv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (tmp_path / ".venv" / "bin").mkdir()
    (tmp_path / ".venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert disk.names == {"bin", "lib"}
    assert not disk.pyvenv_cfg
    assert not disk.has_files  # a link to a file is not a file


def test_inspect_finds_a_regular_file_deep_in_a_directory_without_pyvenv_cfg(
    tmp_path, opendir, inspect
):
    """Somebody's own data in a directory that merely looks like an early venv."""
    deep = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    deep.mkdir(parents=True)
    (deep / "notes.txt").write_text("mine")
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert not disk.pyvenv_cfg
    assert disk.has_files


def test_inspect_counts_a_tree_too_deep_to_look_through_as_holding_files(
    tmp_path, opendir, inspect
):
    deep = tmp_path / ".venv" / "lib"
    for _ in range(12):
        deep = deep / "d"
    deep.mkdir(parents=True)
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert disk.has_files


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_a_pyvenv_cfg_that_is_not_a_regular_file_does_not_count(
    tmp_path, opendir, inspect, kind
):
    (tmp_path / "elsewhere.cfg").write_text("home = /usr/bin\n")
    env = tmp_path / ".venv"
    (env / "bin").mkdir(parents=True)
    if kind == "symlink":
        (env / "pyvenv.cfg").symlink_to(tmp_path / "elsewhere.cfg")
    else:
        (env / "pyvenv.cfg").mkdir()
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert "pyvenv.cfg" in disk.names
    assert not disk.pyvenv_cfg


def test_inspect_says_when_the_directory_is_another_users(
    tmp_path, opendir, inspect, make_foreign
):
    env = make_env(tmp_path / ".venv")
    make_foreign(env)
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert disk.kind == DIR
    assert not disk.mine


def test_inspect_says_when_a_link_is_another_users(tmp_path, opendir, inspect, make_foreign):
    (tmp_path / ".venv").symlink_to(tmp_path)
    make_foreign(tmp_path / ".venv")
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert (disk.kind, disk.mine) == (SYMLINK, False)


def test_what_inspect_reports_is_what_decision_judges(tmp_path, opendir, inspect):
    """The inspected shape of a real venv is one decision.py removes."""
    make_env(tmp_path / ".venv")
    disk, _fd = inspect(opendir(tmp_path), ".venv")
    assert decision.shape_problem("venv", disk) is None


# --- written after the run ended ----------------------------------------------------


OLD, MOMENT, NEW = 1_000_000, 2_000_000, 3_000_000


def age(path, when=OLD):
    os.utime(path, (when, when), follow_symlinks=False)


@pytest.fixture
def aged_env(tmp_path):
    """An environment of which every file and directory was last written before MOMENT."""
    env = make_env(tmp_path / ".venv")
    (env / "lib64").symlink_to("lib")
    for root, dirs, files in os.walk(env, topdown=False):
        for name in dirs + files:
            age(os.path.join(root, name))
    age(env)
    return env


def test_an_environment_untouched_since_the_moment_was_not_written_after(
    tmp_path, aged_env, opendir, inspect
):
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    assert not removal.last_written(parent, ".venv", fd) > MOMENT


def test_an_environment_whose_directory_changed_since_was_written_after(
    tmp_path, aged_env, opendir, inspect
):
    age(aged_env, NEW)
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    assert removal.last_written(parent, ".venv", fd) > MOMENT


@pytest.mark.parametrize("entry", ["bin", "pyvenv.cfg", "lib64"])
def test_an_environment_with_a_top_level_entry_written_since_was_written_after(
    tmp_path, aged_env, opendir, inspect, entry
):
    """Somebody went on installing into it (bin/ gets a new script)."""
    age(aged_env / entry, NEW)
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    assert removal.last_written(parent, ".venv", fd) > MOMENT


def test_an_environment_with_a_package_installed_since_was_written_after(
    tmp_path, aged_env, opendir, inspect
):
    """`pip install` into it after the run: a new entry in site-packages, nothing new
    at the top."""
    site = aged_env / "lib" / "python3.11" / "site-packages"
    (site / "requests").mkdir()
    age(site / "requests")
    os.utime(site, (NEW, NEW))
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    assert removal.last_written(parent, ".venv", fd) > MOMENT


def test_a_lib_directory_without_site_packages_is_not_written_after(
    tmp_path, aged_env, opendir, inspect
):
    (aged_env / "lib" / "python3.12").mkdir()
    age(aged_env / "lib" / "python3.12")
    age(aged_env / "lib")
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    assert not removal.last_written(parent, ".venv", fd) > MOMENT


def test_a_file_target_is_judged_by_its_own_time(tmp_path, opendir):
    (tmp_path / ".venv").write_text("/env\n")
    age(tmp_path / ".venv")
    parent = opendir(tmp_path)
    assert not removal.last_written(parent, ".venv", None) > MOMENT
    age(tmp_path / ".venv", NEW)
    assert removal.last_written(parent, ".venv", None) > MOMENT


def test_a_target_that_cannot_be_looked_at_counts_as_written_after(tmp_path, opendir):
    """Cannot tell: not provably the run's."""
    assert removal.last_written(opendir(tmp_path), ".venv", None) > MOMENT


# --- set aside ------------------------------------------------------------------------


def test_set_aside_renames_the_inspected_directory_in_one_step(tmp_path, opendir, inspect):
    env = make_env(tmp_path / ".venv")
    before = tree(env)
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    removal.set_aside(parent, ".venv", removal.trash_name("abc", 0), fd)
    assert not os.path.lexists(env)
    assert tree(tmp_path / ".venvguard-removing-abc-0") == before


def test_set_aside_puts_back_a_directory_swapped_in_after_inspect_and_raises_moved(
    tmp_path, opendir, inspect
):
    env = make_env(tmp_path / ".venv")
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    env.rename(tmp_path / "inspected")
    make_env(env, packages=("someone-elses",))
    with pytest.raises(removal.Moved):
        removal.set_aside(parent, ".venv", removal.trash_name("abc", 0), fd)
    assert (env / "lib" / "python3.11" / "site-packages" / "someone-elses").is_dir()
    assert not os.path.lexists(tmp_path / ".venvguard-removing-abc-0")
    assert (tmp_path / "inspected" / "pyvenv.cfg").is_file()


def test_set_aside_puts_back_a_symlink_swapped_in_after_inspect_and_raises_moved(
    tmp_path, opendir, inspect, victim
):
    env = make_env(tmp_path / ".venv")
    before = tree(victim)
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    env.rename(tmp_path / "inspected")
    env.symlink_to(victim)
    with pytest.raises(removal.Moved):
        removal.set_aside(parent, ".venv", removal.trash_name("abc", 0), fd)
    assert env.is_symlink()
    assert os.readlink(env) == str(victim)
    assert tree(victim) == before
    assert not os.path.lexists(tmp_path / ".venvguard-removing-abc-0")


def test_moved_is_an_oserror():
    assert issubclass(removal.Moved, OSError)


def test_set_aside_of_a_target_that_is_gone_raises(tmp_path, opendir, inspect):
    env = make_env(tmp_path / ".venv")
    parent = opendir(tmp_path)
    _disk, fd = inspect(parent, ".venv")
    shutil.rmtree(env)
    with pytest.raises(FileNotFoundError):
        removal.set_aside(parent, ".venv", removal.trash_name("abc", 0), fd)


# --- unlink a redirect file ---------------------------------------------------------------


def test_unlink_file_removes_a_redirect_file(tmp_path, opendir):
    (tmp_path / ".venv").write_text("../env\n")
    removal.unlink_file(opendir(tmp_path), ".venv")
    assert not os.path.lexists(tmp_path / ".venv")


def test_unlink_file_refuses_a_directory(tmp_path, opendir):
    env = make_env(tmp_path / ".venv")
    with pytest.raises(IsADirectoryError):
        removal.unlink_file(opendir(tmp_path), ".venv")
    assert (env / "pyvenv.cfg").is_file()


def test_unlink_file_refuses_a_symlink_and_leaves_what_it_points_to(tmp_path, opendir):
    (tmp_path / "real").write_text("/env\n")
    (tmp_path / ".venv").symlink_to(tmp_path / "real")
    with pytest.raises(OSError):
        removal.unlink_file(opendir(tmp_path), ".venv")
    assert (tmp_path / ".venv").is_symlink()
    assert (tmp_path / "real").read_text() == "/env\n"


def test_unlink_file_of_a_file_that_is_gone_raises(tmp_path, opendir):
    with pytest.raises(FileNotFoundError):
        removal.unlink_file(opendir(tmp_path), ".venv")


# --- delete ------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p"
    path.mkdir()
    return path


def test_delete_tree_removes_everything_and_the_trash_name(project, opendir, inspect):
    parent, trash, fd = set_aside_env(project, opendir, inspect, packages=("numpy", "pip"))
    removal.delete_tree(parent, trash, fd)
    assert list(project.iterdir()) == []


def test_delete_tree_of_an_environment_without_pyvenv_cfg(project, opendir, inspect):
    (project / ".venv" / "bin").mkdir(parents=True)
    parent = opendir(project)
    _disk, fd = inspect(parent, ".venv")
    removal.set_aside(parent, ".venv", "trash", fd)
    removal.delete_tree(parent, "trash", fd)
    assert list(project.iterdir()) == []


def test_delete_tree_deletes_pyvenv_cfg_last(project, opendir, inspect, monkeypatch):
    """A deletion cut short still looks like an environment to every tool (and to
    the next settle), never like a directory of somebody's files."""
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    (project / trash / "zzz-sorts-after-pyvenv.cfg").write_text("")
    (project / trash / "share").mkdir()
    (project / trash / "share" / "pyvenv.cfg").write_text("a file of that name deeper down")
    steps, left_when_cfg_went = [], []
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def unlink(name, *, dir_fd=None):
        steps.append(("unlink", name))
        if name == "pyvenv.cfg" and dir_fd is not None and os.path.samestat(
            os.fstat(dir_fd), os.fstat(fd)
        ):
            left_when_cfg_went.extend(os.listdir(dir_fd))
        return real_unlink(name, dir_fd=dir_fd)

    def rmdir(name, *, dir_fd=None):
        steps.append(("rmdir", name))
        return real_rmdir(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "rmdir", rmdir)
    removal.delete_tree(parent, trash, fd)
    assert left_when_cfg_went == ["pyvenv.cfg"]
    assert steps[-2:] == [("unlink", "pyvenv.cfg"), ("rmdir", trash)]
    assert list(project.iterdir()) == []


def test_delete_tree_never_follows_a_symlink_inside_the_environment(
    project, opendir, inspect, victim
):
    before = tree(victim)
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    env = project / trash
    (env / "lib64").symlink_to(victim)  # where venv makes lib64 -> lib
    (env / "lib" / "link").symlink_to(victim, target_is_directory=True)
    (env / "bin" / "data").symlink_to(victim / "precious")
    (env / "share").symlink_to(victim / "sub")
    removal.delete_tree(parent, trash, fd)
    assert list(project.iterdir()) == []
    assert tree(victim) == before
    assert (victim / "precious").read_text() == "keep me"


def test_a_directory_swapped_for_a_symlink_during_deletion_is_only_unlinked(
    project, opendir, inspect, victim, monkeypatch, tmp_path
):
    """listed as a directory, a link by the time it is opened: the link goes, not
    what it points to."""
    before = tree(victim)
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    env = project / trash
    real_unlink = os.unlink
    swapped = []

    def unlink(name, *, dir_fd=None):
        if not swapped:  # the first unlink is bin/python; lib/ comes after
            (env / "lib").rename(tmp_path / "stash")
            (env / "lib").symlink_to(victim)
            swapped.append(name)
        return real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    removal.delete_tree(parent, trash, fd)
    assert swapped == ["python"]
    assert list(project.iterdir()) == []
    assert tree(victim) == before


def test_delete_tree_deletes_read_only_directories(project, opendir, inspect):
    """Some wheels ship read-only directories and files."""
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    env = project / trash
    data = env / "lib" / "python3.11" / "site-packages" / "pkg" / "data"
    data.mkdir(parents=True)
    (data / "file.txt").write_text("x")
    (data / "file.txt").chmod(0o444)
    for directory in (data, data.parent):
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    as_another_user(lambda: removal.delete_tree(parent, trash, fd), project)
    assert list(project.iterdir()) == []


def test_delete_tree_deletes_a_read_only_environment_top(project, opendir, inspect):
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    (project / trash).chmod(stat.S_IRUSR | stat.S_IXUSR)
    as_another_user(lambda: removal.delete_tree(parent, trash, fd), project)
    assert list(project.iterdir()) == []


@pytest.mark.parametrize("mode", [0, stat.S_IWUSR | stat.S_IXUSR, stat.S_IXUSR])
def test_delete_tree_deletes_directories_it_cannot_read(project, opendir, inspect, mode):
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    closed = project / trash / "share" / "closed"
    closed.mkdir(parents=True)
    (closed / "inside").write_text("x")
    closed.chmod(mode)
    as_another_user(lambda: removal.delete_tree(parent, trash, fd), project)
    assert list(project.iterdir()) == []


def test_entries_already_gone_count_as_deleted(project, opendir, inspect, monkeypatch):
    """Another deleter (an earlier settle's background child) got there first."""
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    env = project / trash
    real_unlink = os.unlink

    def unlink(name, *, dir_fd=None):
        if name == "python":  # removed by somebody else just before us
            real_unlink(name, dir_fd=dir_fd)
            shutil.rmtree(env / "lib")  # listed already, gone before it is opened
        return real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    removal.delete_tree(parent, trash, fd)
    assert list(project.iterdir()) == []


def test_a_set_aside_directory_deleted_by_somebody_else_meanwhile_is_done(
    project, opendir, inspect
):
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    shutil.rmtree(project / trash)
    removal.delete_tree(parent, trash, fd)
    assert list(project.iterdir()) == []


def test_delete_tree_leaves_another_directory_that_took_the_trash_name(
    project, opendir, inspect
):
    """Even an empty one, which rmdir would take: it is not what was set aside."""
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    (project / trash).rename(project / "moved")
    (project / trash).mkdir()
    removal.delete_tree(parent, trash, fd)
    assert (project / trash).is_dir()


def test_delete_tree_leaves_a_symlink_that_took_the_trash_name(
    project, opendir, inspect, victim
):
    before = tree(victim)
    parent, trash, fd = set_aside_env(project, opendir, inspect)
    (project / trash).rename(project / "moved")
    (project / trash).symlink_to(victim)
    removal.delete_tree(parent, trash, fd)
    assert (project / trash).is_symlink()
    assert tree(victim) == before


# --- in the background ------------------------------------------------------------------


def test_in_background_hands_over_before_returning_and_then_works(tmp_path):
    done = tmp_path / "done"
    handed = tmp_path / "handed"

    def work():
        done.write_text("yes")

    def handover(pid):
        handed.write_text(str(pid))

    removal.in_background(work, handover=handover)

    child = int(handed.read_text())  # written before in_background returned
    assert child != os.getpid()
    os.waitpid(child, 0)
    assert done.read_text() == "yes"


def test_in_background_works_inline_when_it_cannot_fork(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    calls = []
    removal.in_background(lambda: calls.append("work"), handover=calls.append)
    assert calls == ["work"]
