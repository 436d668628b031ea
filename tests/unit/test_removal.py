"""removal: set an environment aside in one rename, then delete it, pyvenv.cfg last;
never follow a link."""

import os
import stat

import pytest
from unit_helpers import make_env

from venvguard import removal


def test_the_trash_path_is_beside_the_environment_so_the_rename_stays_on_one_file_system():
    assert removal.trash_path("/work/project/.venv", "abc123", 0) == (
        "/work/project/.venvguard-removing-abc123-0"
    )


def test_each_target_of_a_run_gets_its_own_trash_path():
    assert removal.trash_path("/p/a", "t", 0) != removal.trash_path("/p/b", "t", 1)


def test_set_aside_renames_the_directory_in_one_step(tmp_path):
    env = make_env(tmp_path / ".venv")
    trash = removal.trash_path(str(env), "abc", 0)
    removal.set_aside(str(env), trash)
    assert not os.path.lexists(env)
    assert os.path.isfile(os.path.join(trash, "pyvenv.cfg"))
    assert removal.is_trash(trash)


def test_set_aside_refuses_a_symlink_and_leaves_both_link_and_target(tmp_path):
    target = make_env(tmp_path / "real")
    link = tmp_path / ".venv"
    link.symlink_to(target)
    with pytest.raises(NotADirectoryError):
        removal.set_aside(str(link), removal.trash_path(str(link), "abc", 0))
    assert link.is_symlink()
    assert (target / "pyvenv.cfg").exists()


def test_set_aside_refuses_a_file(tmp_path):
    redirect = tmp_path / ".venv"
    redirect.write_text("/elsewhere\n")
    with pytest.raises(NotADirectoryError):
        removal.set_aside(str(redirect), removal.trash_path(str(redirect), "abc", 0))
    assert redirect.read_text() == "/elsewhere\n"


def test_set_aside_of_a_path_that_is_gone_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        removal.set_aside(str(tmp_path / ".venv"), str(tmp_path / "trash"))


def test_unlink_link_removes_a_symlink_but_not_the_directory_it_points_to(tmp_path):
    target = make_env(tmp_path / "central" / "env")
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    link = tmp_path / ".venv"
    link.symlink_to(target, target_is_directory=True)

    removal.unlink_link(str(link))

    assert not os.path.lexists(link)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before


def test_unlink_link_removes_a_redirect_file(tmp_path):
    redirect = tmp_path / ".venv"
    redirect.write_text("../env\n")
    removal.unlink_link(str(redirect))
    assert not os.path.lexists(redirect)


def test_unlink_link_removes_a_dangling_symlink(tmp_path):
    link = tmp_path / ".venv"
    link.symlink_to(tmp_path / "nowhere")
    removal.unlink_link(str(link))
    assert not os.path.lexists(link)


def test_unlink_link_refuses_a_directory(tmp_path):
    env = make_env(tmp_path / ".venv")
    with pytest.raises(IsADirectoryError):
        removal.unlink_link(str(env))
    assert (env / "pyvenv.cfg").exists()


def test_delete_tree_removes_everything(tmp_path):
    trash = make_env(tmp_path / "p" / ".venvguard-removing-abc-0", packages=("numpy", "pip"))
    removal.delete_tree(str(trash))
    assert not os.path.lexists(trash)
    assert list((tmp_path / "p").iterdir()) == []


def test_delete_tree_removes_nested_read_only_directories(tmp_path):
    trash = make_env(tmp_path / ".venvguard-removing-abc-0")
    ro = trash / "lib" / "python3.11" / "site-packages" / "pkg" / "data"
    ro.mkdir(parents=True)
    (ro / "file.txt").write_text("x")
    for directory in (ro, ro.parent):
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    removal.delete_tree(str(trash))
    assert not os.path.lexists(trash)


def test_delete_tree_never_follows_a_link_inside_the_environment(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    trash = make_env(tmp_path / ".venvguard-removing-abc-0")
    (trash / "lib64").symlink_to(outside)  # as venv makes lib64 -> lib
    (trash / "lib" / "link").symlink_to(outside)

    removal.delete_tree(str(trash))

    assert not os.path.lexists(trash)
    assert (outside / "precious").read_text() == "keep me"


def test_delete_tree_deletes_pyvenv_cfg_last(tmp_path, monkeypatch):
    trash = make_env(tmp_path / ".venvguard-removing-abc-0")
    (trash / "zzz-top-level-file").write_text("")
    gone_when_cfg_went = []
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if os.path.basename(os.fspath(path)) == "pyvenv.cfg":
            gone_when_cfg_went.extend(sorted(os.listdir(trash)))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    removal.delete_tree(str(trash))
    assert gone_when_cfg_went == ["pyvenv.cfg"]
    assert not os.path.lexists(trash)


def test_delete_tree_of_an_environment_without_pyvenv_cfg(tmp_path):
    trash = tmp_path / ".venvguard-removing-abc-0"
    (trash / "bin").mkdir(parents=True)
    removal.delete_tree(str(trash))
    assert not os.path.lexists(trash)


def test_is_trash_accepts_our_own_set_aside_directory(tmp_path):
    trash = tmp_path / ".venvguard-removing-abc-0"
    trash.mkdir()
    assert removal.is_trash(str(trash))


def test_is_trash_rejects_a_symlink_named_like_trash(tmp_path):
    target = make_env(tmp_path / "real")
    link = tmp_path / ".venvguard-removing-abc-0"
    link.symlink_to(target)
    assert not removal.is_trash(str(link))


def test_is_trash_rejects_a_file_named_like_trash(tmp_path):
    file = tmp_path / ".venvguard-removing-abc-0"
    file.write_text("")
    assert not removal.is_trash(str(file))


def test_is_trash_rejects_a_directory_with_another_name(tmp_path):
    env = make_env(tmp_path / ".venv")
    assert not removal.is_trash(str(env))


def test_is_trash_rejects_a_path_that_is_gone(tmp_path):
    assert not removal.is_trash(str(tmp_path / ".venvguard-removing-abc-0"))


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
