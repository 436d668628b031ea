"""kept: the record of environments venvguard kept although a run may have left
them incomplete, for `venvguard status`."""

import os
import stat

from venvguard import journal, kept


def paths():
    return sorted(record["path"] for _file, record in kept.records())


def test_kept_records_live_in_the_state_dir(isolated_state):
    assert journal.kept_dir() == str(isolated_state / "venvguard" / "kept")


def test_a_remembered_environment_is_listed_with_how_to_repair_it():
    kept.remember("/p/.venv", reason="existed", argv=["uv", "sync"], repair="uv sync --reinstall")
    [(file, record)] = kept.records()
    assert os.path.dirname(file) == journal.kept_dir()
    assert record["path"] == "/p/.venv"
    assert record["reason"] == "existed"
    assert record["argv"] == ["uv", "sync"]
    assert record["repair"] == "uv sync --reinstall"
    assert isinstance(record["when"], float)


def test_remembering_the_same_path_again_refreshes_its_one_record():
    kept.remember("/p/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    kept.remember("/p/.venv", reason="unknown", argv=["uv", "run", "x"], repair=None)
    [(_file, record)] = kept.records()
    assert record["reason"] == "unknown"


def test_forget_drops_only_the_given_paths():
    for path in ("/a/.venv", "/b/.venv", "/c/.venv"):
        kept.remember(path, reason="existed", argv=["uv", "sync"], repair=None)
    kept.forget(["/a/.venv", "/c/.venv", "/not/kept"])
    assert paths() == ["/b/.venv"]


def test_forget_without_any_record_is_quiet():
    kept.forget(["/a/.venv"])
    assert not os.path.exists(journal.kept_dir())


def test_prune_drops_records_of_paths_that_are_gone(tmp_path):
    still = tmp_path / "still"
    still.mkdir()
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    for path in (still, link, tmp_path / "gone"):
        kept.remember(str(path), reason="existed", argv=["uv", "sync"], repair=None)
    remaining = kept.prune()
    assert sorted(r["path"] for r in remaining) == sorted([str(still), str(link)])
    assert paths() == sorted([str(still), str(link)])


def test_unreadable_and_foreign_files_are_skipped():
    kept.remember("/a/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    directory = journal.kept_dir()
    for name, content in (("bad.json", "{"), ("list.json", "[]"), ("nopath.json", "{}"),
                          ("notes.txt", "{}"), (".x.json.tmp", '{"path": "/t"}')):
        with open(os.path.join(directory, name), "w") as f:
            f.write(content)
    assert paths() == ["/a/.venv"]


def test_remember_never_raises_when_the_state_dir_cannot_be_made(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    kept.remember("/a/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    assert kept.records() == []


def test_the_kept_directory_is_private():
    old = os.umask(0)
    try:
        kept.remember("/a/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(journal.kept_dir()).st_mode) == 0o700
