"""journal: one small locked file per guarded run, the marker the design rests on.

Everything read back is distrusted: an entry is only ever a private regular file of
ours, opened without blocking or following a link, of bounded size, with every
field checked; anything else is a JournalError, reported and never acted upon."""

import errno
import fcntl
import json
import os
import pwd
import stat
import subprocess
import sys
import threading
import time
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit_helpers import fd_is_open

from venvguard import decision, journal, processes
from venvguard.journal import JournalError, StateError

HOST = os.uname().nodename
OTHER_UID = 65534  # nobody


def target(path="/work/project/.venv", existed=decision.ABSENT, shape="uv",
           anchor=("/work/project", 2049, 1234)):
    return {"path": path, "existed": existed, "shape": shape,
            "anchor": None if anchor is None else list(anchor)}


def data(token="abc123", **overrides):
    """A valid entry as journal.new_data makes it, for the current process."""
    out = journal.new_data(
        argv=["uv", "sync"], cwd="/work/project", environ={"UV_PROJECT_ENVIRONMENT": ".venv"},
        targets=[target()], policy="exit", repair="uv sync --reinstall",
        token=token,
    )
    out.update(overrides)
    return out


@pytest.fixture
def entry():
    held = journal.create(data())
    created = os.fstat(held.fd)
    yield held
    # Release it unless a test did (its number may be another file's by now).
    if fd_is_open(held.fd) and os.path.samestat(os.fstat(held.fd), created):
        held.release()


def loaded(load, path) -> dict:
    """An entry's data through read or claim; a claimed entry is let go at once."""
    got = load(path)
    if isinstance(got, journal.Entry):
        got.release()
        return got.data
    return got


# --- where ------------------------------------------------------------------------


def test_state_dir_is_under_xdg_state_home_when_set():
    env = {"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}
    assert journal.state_dir(env) == "/x/state/venvguard"
    assert journal.runs_dir(env) == f"/x/state/venvguard/runs/{HOST}"


def test_state_dir_defaults_to_local_state_in_home():
    env = {"HOME": "/home/u"}
    assert journal.state_dir(env) == "/home/u/.local/state/venvguard"
    assert journal.runs_dir(env) == f"/home/u/.local/state/venvguard/runs/{HOST}"


def test_each_machine_has_its_own_runs_directory_named_as_the_shells_name_it():
    """The prompt hooks look in runs/$HOSTNAME (bash), runs/$HOST (zsh), runs/$hostname
    (fish): another machine's runs on a shared home never wake them up."""
    assert os.path.basename(journal.runs_dir({"HOME": "/h"})) == HOST


def test_an_empty_xdg_state_home_counts_as_unset():
    assert journal.state_dir({"XDG_STATE_HOME": "", "HOME": "/h"}) == "/h/.local/state/venvguard"


def test_a_relative_xdg_state_home_is_ignored_so_the_journal_never_lands_in_a_project():
    env = {"XDG_STATE_HOME": "state", "HOME": "/home/u"}
    assert journal.state_dir(env) == "/home/u/.local/state/venvguard"


def test_state_dir_is_spelt_normally_whatever_the_variables_spelling():
    assert journal.state_dir({"XDG_STATE_HOME": "//x/./s/../state/"}) == "/x/state/venvguard"


def test_state_dir_follows_the_environment_by_default(isolated_state):
    assert journal.runs_dir() == str(isolated_state / "venvguard" / "runs" / HOST)


def test_without_home_the_state_dir_is_in_the_users_home_from_the_password_database(
    monkeypatch,
):
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.delenv("HOME")
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert journal.state_dir() == os.path.join(home, ".local", "state", "venvguard")


def test_a_relative_home_is_ignored_like_an_unset_one(monkeypatch):
    """HOME=relative would put the journal under whatever the current directory is."""
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", "relative/home")
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert journal.state_dir() == os.path.join(home, ".local", "state", "venvguard")


def test_a_relative_home_in_a_given_environment_still_gives_an_absolute_state_dir():
    assert os.path.isabs(journal.state_dir({"HOME": "relative/home"}))
    assert os.path.isabs(journal.state_dir({}))


@pytest.mark.parametrize(
    ("path", "clean"),
    [("//home/me", "/home/me"), ("/a/./b/../c", "/a/c"), ("///x//y/", "/x/y"), ("/", "/"),
     ("//", "/")],
)
def test_clean_path_gives_an_absolute_path_its_one_normal_spelling(path, clean):
    assert journal.clean_path(path) == clean


# --- names --------------------------------------------------------------------------


def test_an_entry_name_is_pid_dot_token_dot_json():
    assert journal.entry_name(1234, "abc") == "1234.abc.json"


def test_entry_name_and_parse_name_round_trip():
    assert journal.parse_name(journal.entry_name(42, "a1b2c3")) == (42, "a1b2c3")


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "12.json", "x.abc.json", ".12.abc.json.tmp", "12.abc.json.corrupt",
     "12.a.b.json", "12.ab-c.json", "-1.abc.json", "", ".json", "12.abc.JSON",
     "\u0661\u0662.abc.json",  # Arabic-Indic digits: str.isdigit() says yes
     "\u00b2.abc.json",  # superscript two: isdigit() yes, int() no
     "12.\u00e9t\u00e9.json", "12.abc\u0661.json", " 12.abc.json"],
)
def test_parse_name_rejects_foreign_file_names(name):
    assert journal.parse_name(name) is None


def test_the_entry_path_is_this_process_and_the_token_in_the_runs_dir():
    assert journal.entry_path("tok") == os.path.join(
        journal.runs_dir(), f"{os.getpid()}.tok.json"
    )


# --- writing --------------------------------------------------------------------------


def test_create_writes_an_entry_that_read_returns_unchanged(entry):
    assert journal.read(entry.path) == entry.data == data() | {
        "started": entry.data["started"]
    }


def test_create_names_the_entry_after_this_process_and_the_token(entry):
    assert os.path.basename(entry.path) == f"{os.getpid()}.abc123.json"
    assert os.path.dirname(entry.path) == journal.runs_dir()
    assert entry.token == "abc123"


def test_create_makes_the_entry_0600_and_its_directory_0700_whatever_the_umask():
    old = os.umask(0)
    try:
        held = journal.create(data())
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(held.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(journal.runs_dir()).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(journal.state_dir()).st_mode) == 0o700
    finally:
        held.release()


def test_no_directory_create_makes_on_the_way_to_the_journal_is_writable_by_others():
    """With umask 0, a world-writable runs/ would let any user rename the host's
    journal away (hiding live runs) or make runs/<host> first (refusing every run)."""
    old = os.umask(0)
    try:
        journal.create(data()).release()
    finally:
        os.umask(old)
    runs = os.path.dirname(journal.runs_dir())
    assert stat.S_IMODE(os.stat(runs).st_mode) & 0o022 == 0


def test_create_leaves_no_temporary_file_behind(entry):
    assert os.listdir(journal.runs_dir()) == [os.path.basename(entry.path)]


def test_a_created_entry_is_locked_while_it_is_held(entry):
    """flock locks belong to the open file description: a second open in the same
    process conflicts with the first, as another process would."""
    assert journal.claim(entry.path) is None


def test_a_released_entry_can_be_claimed_and_read(entry):
    entry.release()
    claimed = journal.claim(entry.path)
    try:
        assert claimed is not None
        assert claimed.data == entry.data
        assert claimed.path == entry.path
    finally:
        claimed.release()


def test_release_keeps_the_entry_on_disk(entry):
    entry.release()
    assert os.path.exists(entry.path)
    assert not fd_is_open(entry.fd)


def test_remove_deletes_the_entry_and_lets_go_of_it(entry):
    entry.remove()
    assert not os.path.exists(entry.path)
    assert not fd_is_open(entry.fd)
    assert journal.listing() == []


def test_remove_of_an_entry_already_deleted_is_quiet(entry):
    os.unlink(entry.path)
    entry.remove()
    assert not fd_is_open(entry.fd)


def test_rename_for_hands_the_entry_to_another_pid_keeping_its_lock(entry):
    old = entry.path
    entry.rename_for(99999)
    assert os.path.basename(entry.path) == "99999.abc123.json"
    assert not os.path.exists(old)
    assert journal.read(entry.path) == entry.data
    assert journal.claim(entry.path) is None  # still locked


def test_create_raises_state_error_when_the_state_dir_cannot_be_made(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StateError):
        journal.create(data(), {"XDG_STATE_HOME": str(blocker / "state")})
    assert blocker.read_text() == ""


def test_a_state_error_is_an_oserror_so_the_run_goes_on_unguarded():
    assert issubclass(StateError, OSError)


def _state_dir_level(level):
    return journal.state_dir() if level == "state" else journal.runs_dir()


@pytest.fixture(params=["state", "runs"])
def level(request):
    """Which directory is made unfit: venvguard/ itself or this host's runs/<host>."""
    return request.param


def test_create_refuses_a_state_dir_that_is_a_file(level):
    path = _state_dir_level(level)
    os.makedirs(os.path.dirname(path), mode=0o700)
    with open(path, "w") as f:
        f.write("a file")
    with pytest.raises(StateError):
        journal.create(data())
    with open(path) as f:
        assert f.read() == "a file"


def test_create_refuses_a_state_dir_that_is_a_symlink_to_a_directory(level, tmp_path):
    """A link could point the journal anywhere, somebody else's directory included."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    path = _state_dir_level(level)
    os.makedirs(os.path.dirname(path), mode=0o700)
    os.symlink(elsewhere, path)
    with pytest.raises(StateError):
        journal.create(data())
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777, 0o720, 0o702])
def test_create_refuses_a_state_dir_others_can_write(level, mode):
    """Another user could plant a forged entry there."""
    path = _state_dir_level(level)
    os.makedirs(journal.runs_dir(), mode=0o700)
    os.chmod(path, mode)
    with pytest.raises(StateError):
        journal.create(data())
    assert not os.path.exists(journal.entry_path("abc123"))
    assert os.listdir(journal.runs_dir()) == []


def test_create_refuses_a_state_dir_that_is_not_ours(level, make_foreign):
    path = _state_dir_level(level)
    os.makedirs(journal.runs_dir(), mode=0o700)
    make_foreign(path)
    with pytest.raises(StateError):
        journal.create(data())
    assert os.listdir(journal.runs_dir()) == []


def test_write_all_goes_on_after_a_partial_write(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, buf: real_write(fd, bytes(buf[:3])))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        journal.write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"0123456789"


def test_write_all_raises_when_a_write_makes_no_progress(tmp_path, monkeypatch):
    """A full disk: a write takes some bytes, then none. The entry must not look whole."""
    real_write = os.write
    calls = []

    def short_write(fd, buf):
        calls.append(len(buf))
        return real_write(fd, bytes(buf[:4])) if len(calls) == 1 else 0

    monkeypatch.setattr(os, "write", short_write)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as raised:
            journal.write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert raised.value.errno == errno.ENOSPC
    assert calls == [10, 6]


def test_create_on_a_full_disk_raises_and_leaves_neither_entry_nor_temporary(monkeypatch):
    monkeypatch.setattr(os, "write", lambda fd, buf: 0)
    with pytest.raises(OSError):
        journal.create(data())
    assert os.listdir(journal.runs_dir()) == []


@pytest.mark.parametrize(
    "path",
    [
        "/work/with\nnewline/.venv",
        "/work/with space/.venv",
        "/work/\udcff\udcfenot-utf8/.venv",  # os.fsdecode(b"\xff\xfe...")
        "/work/\u00fcn\u00efcode/.venv",
        '/work/quote"back\\slash/.venv',
    ],
)
def test_odd_paths_round_trip_through_an_entry(path):
    parent = os.path.dirname(path)
    held = journal.create(data(targets=[target(path, anchor=(parent, 1, 2))], cwd=parent,
                               argv=["python", "-m", "venv", path]))
    try:
        read = journal.read(held.path)
        assert read["targets"] == [target(path, anchor=(parent, 1, 2))]
        assert read["cwd"] == parent
        assert read["argv"][-1] == path
    finally:
        held.release()


def test_a_non_utf8_path_from_the_file_system_round_trips_to_the_same_bytes():
    path = os.fsdecode(b"/work/\xff\xfe/.venv")
    held = journal.create(data(targets=[target(path, existed=decision.DIR, anchor=None)]))
    try:
        assert os.fsencode(journal.read(held.path)["targets"][0]["path"]) == (
            b"/work/\xff\xfe/.venv"
        )
    finally:
        held.release()


def test_new_data_names_the_owner_the_host_and_the_boot():
    d = data()
    assert d["venvguard"] == journal.FORMAT
    assert d["owner"] == [os.getpid(), processes.start_time(os.getpid())]
    assert d["host"] == os.uname().nodename
    assert d["boot"] == processes.boot_id()
    assert journal.validate(json.loads(json.dumps(d))) == d


def test_new_data_records_the_variables_the_plan_read():
    d = data() | journal.new_data(
        argv=["uv", "sync"], cwd="/w", environ={"VIRTUAL_ENV": "/w/.venv"}, targets=[],
        policy="signal", repair=None, token="t0",
    )
    assert d["environ"] == {"VIRTUAL_ENV": "/w/.venv"}
    assert journal.validate(json.loads(json.dumps(d))) == d


# --- reading what is not an entry -------------------------------------------------------


def entry_file() -> str:
    directory = journal.runs_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, "1.abc.json")


def write_raw(content: bytes) -> str:
    path = entry_file()
    with open(path, "wb") as f:
        f.write(content)
    return path


def as_json(obj) -> bytes:
    return json.dumps(obj).encode()


def without(key):
    d = data()
    del d[key]
    return d


def with_target(**fields):
    return data(targets=[target() | fields])


@pytest.fixture(params=["read", "claim"])
def load(request):
    """Both ways an entry is read back, read (a live run's) and claim (an orphan's)."""
    return getattr(journal, request.param)


def assert_unlocked(path):
    """Nothing was left holding the entry's lock."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{not json", r"not valid JSON", id="invalid-json"),
        pytest.param(b"", r"not valid JSON", id="empty-file"),
        pytest.param(b"\x00\xff\xfe\x80garbage\x00", r"not valid JSON", id="binary-garbage"),
        pytest.param(as_json(data())[:-20], r"not valid JSON", id="truncated"),
        pytest.param(b"[" * 60_000, r"not valid JSON", id="absurdly-deep-nesting"),
        pytest.param(as_json([1, 2]), r"not a JSON object", id="json-list"),
        pytest.param(as_json("text"), r"not a JSON object", id="json-string"),
        pytest.param(as_json(data(venvguard=4)), r"format 4, expected 3", id="future-format"),
        pytest.param(as_json(data(venvguard=1)), r"format 1, expected 3", id="old-format"),
        pytest.param(as_json(data(venvguard="2")), r"format '2', expected 3",
                     id="format-a-string"),
        pytest.param(as_json(without("venvguard")), r"format None, expected 3", id="no-format"),
        pytest.param(as_json(without("token")), r"field 'token' missing or not a str",
                     id="missing-token"),
        pytest.param(as_json(without("targets")), r"field 'targets' missing or not a list",
                     id="missing-targets"),
        pytest.param(as_json(without("host")), r"field 'host' missing", id="missing-host"),
        pytest.param(as_json(without("environ")), r"field 'environ' missing",
                     id="missing-environ"),
        pytest.param(as_json(without("started")), r"field 'started' is not a time",
                     id="missing-started"),
        pytest.param(as_json(without("owner")), r"field 'owner' is not \[pid, start time\]",
                     id="missing-owner"),
        pytest.param(as_json(data(argv="uv sync")), r"field 'argv' missing or not a list",
                     id="argv-a-string"),
        pytest.param(as_json(data(argv=[])), r"field 'argv' is not a list of strings",
                     id="argv-empty"),
        pytest.param(as_json(data(argv=["uv", 1])), r"field 'argv' is not a list of strings",
                     id="argv-not-strings"),
        pytest.param(as_json(data(argv=["uv", "a\0b"])),
                     r"field 'argv' is not a list of strings", id="argv-with-nul"),
        pytest.param(as_json(data(environ={"UV_PROJECT": 1})),
                     r"field 'environ' is not a table of strings", id="environ-value-a-number"),
        pytest.param(as_json(data(environ={"UV_PROJECT": None})),
                     r"field 'environ' is not a table of strings", id="environ-value-null"),
        pytest.param(as_json(data(environ={"UV_PROJECT": ["/p"]})),
                     r"field 'environ' is not a table of strings", id="environ-value-a-list"),
        pytest.param(as_json(data(cwd="work")), r"field 'cwd' or 'policy' is off",
                     id="cwd-relative"),
        pytest.param(as_json(data(policy="always")), r"field 'cwd' or 'policy' is off",
                     id="policy-unknown"),
        pytest.param(as_json(data(repair=["uv"])), r"field 'repair' is not a string",
                     id="repair-a-list"),
        pytest.param(as_json(data(boot=1)), r"field 'boot' is not a string", id="boot-a-number"),
        pytest.param(as_json(data(token="../../x")),
                     r"field 'token' is not a short alphanumeric word", id="token-a-path"),
        pytest.param(as_json(data(token="ab-12")),
                     r"field 'token' is not a short alphanumeric word", id="token-with-dash"),
        pytest.param(as_json(data(token="")),
                     r"field 'token' is not a short alphanumeric word", id="token-empty"),
        pytest.param(as_json(data(token="\u0661\u0662")),
                     r"field 'token' is not a short alphanumeric word", id="token-non-ascii"),
        pytest.param(as_json(data(token="a" * 65)),
                     r"field 'token' is not a short alphanumeric word", id="token-overlong"),
        pytest.param(as_json(data(owner=[])), r"field 'owner' is not \[pid, start time\]",
                     id="owner-empty"),
        pytest.param(as_json(data(owner=["1", None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-a-string"),
        pytest.param(as_json(data(owner=[-5, None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-negative"),
        pytest.param(as_json(data(owner=[0, None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-0"),
        pytest.param(as_json(data(owner=[processes.PID_MAX, None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-max"),
        pytest.param(as_json(data(owner=[1.0, None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-a-float"),
        pytest.param(as_json(data(owner=[True, None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-a-bool"),
        pytest.param(as_json(data(owner=[12, -1])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-start-negative"),
        pytest.param(as_json(data(owner=[12, 3.5])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-start-a-float"),
        pytest.param(as_json(data(owner=[12])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-short"),
        pytest.param(as_json(data(owner=12)),
                     r"field 'owner' is not \[pid, start time\]", id="owner-a-number"),
        pytest.param(as_json(data(started=float("nan"))), r"field 'started' is not a time",
                     id="started-nan"),  # json.dumps writes NaN, and json.loads reads it
        pytest.param(as_json(data(started=float("inf"))), r"field 'started' is not a time",
                     id="started-infinite"),
        pytest.param(as_json(data(started=-1.0)), r"field 'started' is not a time",
                     id="started-negative"),
        pytest.param(as_json(data(started="1700000000")), r"field 'started' is not a time",
                     id="started-a-string"),
        pytest.param(as_json(data(started=True)), r"field 'started' is not a time",
                     id="started-a-bool"),
        pytest.param(as_json(data(targets=["/a/.venv"])), r"a target is not an object",
                     id="target-a-string"),
        pytest.param(as_json(data(targets=[["/a/.venv", "absent"]])),
                     r"a target is not an object", id="target-in-format-1"),
        pytest.param(as_json(with_target(path="//work/project/.venv")),
                     r"a target path is not absolute and normalised", id="path-two-slashes"),
        pytest.param(as_json(with_target(path="/work/project/../project/.venv")),
                     r"a target path is not absolute and normalised", id="path-with-dot-dot"),
        pytest.param(as_json(with_target(path="/work/project/.venv/")),
                     r"a target path is not absolute and normalised", id="path-trailing-slash"),
        pytest.param(as_json(with_target(path=".venv")),
                     r"a target path is not absolute and normalised", id="path-relative"),
        pytest.param(as_json(with_target(path="/", anchor=None)),
                     r"a target path is not absolute and normalised", id="path-root"),
        pytest.param(as_json(with_target(path="/work/project/.venv\0/etc")),
                     r"a target path is not absolute and normalised", id="path-with-nul"),
        pytest.param(as_json(with_target(path=None)),
                     r"a target path is not absolute and normalised", id="path-missing"),
        pytest.param(as_json(with_target(shape="spack")), r"a target's kind or shape is unknown",
                     id="shape-unknown"),
        pytest.param(as_json(with_target(existed="fifo")),
                     r"a target's kind or shape is unknown", id="kind-unknown"),
        pytest.param(as_json(data(targets=[{"path": "/w/.venv", "anchor": None}])),
                     r"a target's kind or shape is unknown", id="kind-and-shape-missing"),
        pytest.param(as_json(with_target(anchor=["/elsewhere", 1, 2])),
                     r"a target's anchor is not", id="anchor-not-above"),
        pytest.param(as_json(with_target(anchor=["/work/project/.venv", 1, 2])),
                     r"a target's anchor is not", id="anchor-the-target-itself"),
        pytest.param(as_json(with_target(anchor=["/work/proj", 1, 2])),
                     r"a target's anchor is not", id="anchor-a-name-prefix"),
        pytest.param(as_json(with_target(anchor=["work", 1, 2], path="/work/x")),
                     r"a target's anchor is not", id="anchor-relative"),
        pytest.param(as_json(with_target(anchor=["//work", 1, 2])),
                     r"a target's anchor is not", id="anchor-not-normalised"),
        pytest.param(as_json(with_target(anchor=["/work/project", -1, 2])),
                     r"a target's anchor is not", id="anchor-device-negative"),
        pytest.param(as_json(with_target(anchor=["/work/project", 1])),
                     r"a target's anchor is not", id="anchor-short"),
        pytest.param(as_json(with_target(anchor="/work/project")),
                     r"a target's anchor is not", id="anchor-a-string"),
    ],
)
def test_an_entry_that_is_not_right_raises_journal_error_saying_what_is_wrong(
    load, content, message
):
    path = write_raw(content)
    with pytest.raises(JournalError, match=message):
        load(path)
    assert_unlocked(path)


def test_the_root_directory_is_a_valid_anchor_for_a_target_right_below_it(load):
    path = write_raw(as_json(with_target(path="/venv", anchor=["/", 1, 2])))
    assert loaded(load, path)["targets"][0]["anchor"] == ["/", 1, 2]


def test_a_target_without_an_anchor_is_valid(load):
    """The supervisor could not open any directory above it: kept, but readable."""
    path = write_raw(as_json(with_target(anchor=None)))
    assert loaded(load, path)["targets"][0]["anchor"] is None


def test_an_entry_larger_than_max_size_is_refused_even_when_it_is_valid_json(load):
    body = as_json(data())
    path = write_raw(body[:-1] + b" " * journal.MAX_SIZE + b"}")
    with pytest.raises(JournalError, match="too large"):
        load(path)


def test_an_entry_of_exactly_max_size_is_read(load):
    body = as_json(data())
    path = write_raw(body[:-1] + b" " * (journal.MAX_SIZE - len(body)) + b"}")
    assert os.path.getsize(path) == journal.MAX_SIZE
    assert loaded(load, path)["token"] == "abc123"


def test_a_fifo_named_like_an_entry_is_refused_at_once_never_blocking(load):
    """Opening a FIFO for reading waits for a writer; the prompt hook must not hang."""
    path = entry_file()
    os.mkfifo(path, 0o600)
    outcome = []

    def attempt():
        try:
            outcome.append(load(path))
        except JournalError as e:
            outcome.append(e)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # a writer ends the open
        pytest.fail("reading a FIFO blocked")
    assert len(outcome) == 1
    assert isinstance(outcome[0], JournalError)
    assert "not a regular file" in str(outcome[0])


def test_a_symlink_to_a_valid_entry_is_refused_not_followed(load, tmp_path):
    real = tmp_path / "real.json"
    real.write_bytes(as_json(data()))
    path = entry_file()
    os.symlink(real, path)
    with pytest.raises(JournalError, match="cannot be"):
        load(path)
    assert_unlocked(real)


def test_a_directory_named_like_an_entry_is_refused(load):
    path = entry_file()
    os.mkdir(path)
    with pytest.raises(JournalError, match="not a regular file"):
        load(path)


def test_an_entry_owned_by_another_user_is_refused(load, make_foreign):
    """Another user's file in our journal (a shared state dir) is never trusted."""
    path = write_raw(as_json(data()))
    make_foreign(path)
    with pytest.raises(JournalError, match="owned by another user"):
        load(path)


def test_a_corrupt_entry_is_not_claimed_and_not_left_locked():
    path = write_raw(b"{not json")
    with pytest.raises(JournalError):
        journal.claim(path)
    assert_unlocked(path)


def test_reading_an_entry_that_is_gone_raises_journal_error(tmp_path):
    with pytest.raises(JournalError, match="cannot be read"):
        journal.read(str(tmp_path / "missing.json"))


def test_claiming_an_entry_that_is_gone_is_none(tmp_path):
    """Its run finished and removed it: nothing to settle."""
    assert journal.claim(str(tmp_path / "1.abc.json")) is None


# --- claiming while somebody holds the lock --------------------------------------------


@pytest.fixture
def holder(entry):
    """Another process holding the entry's lock until told to let go (its stdin closed)."""
    entry.release()
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         entry.path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline() == "held\n"
    yield child
    child.stdin.close()
    child.wait()


def test_a_lock_held_by_another_process_makes_claim_none(entry, holder):
    assert journal.claim(entry.path) is None


def test_claim_gives_up_after_waiting_while_the_lock_stays_held(entry, holder):
    began = time.monotonic()
    assert journal.claim(entry.path, wait=0.2) is None
    assert time.monotonic() - began >= 0.2


def test_claim_with_wait_succeeds_once_the_holder_lets_go(entry, holder, monkeypatch):
    """The holder is told to let go only once claim has found the lock taken and
    started waiting, so the claim must have waited through it."""
    waits = []

    def sleep(seconds):
        if not waits:
            holder.stdin.close()  # the holder exits; the kernel drops its lock
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(journal, "time", types.SimpleNamespace(
        monotonic=time.monotonic, time=time.time, sleep=sleep))
    claimed = journal.claim(entry.path, wait=30)
    try:
        assert waits
        assert claimed is not None
        assert claimed.data == entry.data
    finally:
        if claimed is not None:
            claimed.release()


def test_claim_is_none_when_the_entry_was_replaced_while_it_waited(entry, holder, monkeypatch):
    """The owner finished and a new entry took the name: the lock won is on a file
    nobody sees any more, so it is not the entry at that path."""
    waits = []

    def sleep(seconds):
        if not waits:
            replacement = entry.path + ".new"
            with open(replacement, "wb") as f:
                f.write(as_json(entry.data))
            os.rename(replacement, entry.path)
            holder.stdin.close()
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(journal, "time", types.SimpleNamespace(
        monotonic=time.monotonic, time=time.time, sleep=sleep))
    assert journal.claim(entry.path, wait=30) is None


def test_the_lock_is_dropped_with_its_owner_however_it_dies(entry, holder):
    holder.kill()
    holder.wait()
    claimed = journal.claim(entry.path)
    assert claimed is not None
    claimed.release()


# --- listing ------------------------------------------------------------------------------


def test_listing_is_empty_without_a_journal():
    assert journal.listing() == []


def test_listing_is_empty_when_the_state_path_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    assert journal.listing() == []


def _listing_as_nobody() -> list[str]:
    """journal.listing() in a child process running as another user."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            os.write(write_end, json.dumps(journal.listing()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        out = f.read()
    os.waitpid(pid, 0)
    return json.loads(out)


def test_listing_is_empty_when_the_runs_dir_cannot_be_read():
    directory = journal.runs_dir()
    os.makedirs(directory, mode=0o700)
    open(os.path.join(directory, "7.abc.json"), "w").close()
    os.chmod(directory, 0)
    try:
        # Permissions do not stop root: read it as another user then.
        listed = _listing_as_nobody() if os.geteuid() == 0 else journal.listing()
    finally:
        os.chmod(directory, 0o700)
    assert listed == []


def test_listing_holds_entries_only_sorted_by_name():
    directory = journal.runs_dir()
    os.makedirs(directory)
    names = ("7.abc.json", "12.def.json", "notes.txt", ".3.x.json.tmp", "5.abc.json.corrupt",
             "\u0661\u0662.abc.json", "\u00b2.abc.json", "8.t-1.json", "9..json")
    for name in names:
        open(os.path.join(directory, name), "w").close()
    assert journal.listing() == [os.path.join(directory, n) for n in ("12.def.json",
                                                                       "7.abc.json")]


# --- what is at a path ---------------------------------------------------------------


def test_path_kind_tells_what_is_at_a_path_without_following_links(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("")
    (tmp_path / "l").symlink_to(tmp_path / "d")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "p")
    assert journal.path_kind(str(tmp_path / "d")) == decision.DIR
    assert journal.path_kind(str(tmp_path / "f")) == decision.FILE
    assert journal.path_kind(str(tmp_path / "l")) == decision.SYMLINK
    assert journal.path_kind(str(tmp_path / "dangling")) == decision.SYMLINK
    assert journal.path_kind(str(tmp_path / "p")) == decision.OTHER
    assert journal.path_kind(str(tmp_path / "missing")) == decision.ABSENT


def test_path_kind_below_a_file_is_other_not_absent(tmp_path):
    """ENOTDIR is not "nothing there": the run did not make it either."""
    (tmp_path / "f").write_text("")
    assert journal.path_kind(str(tmp_path / "f" / ".venv")) == decision.OTHER


# --- heartbeat ------------------------------------------------------------------------


def test_the_heartbeat_bound_is_the_entrys_mtime_plus_heartbeat_and_slack(entry):
    os.utime(entry.path, (1_000_000, 1_000_000))
    assert journal.heartbeat_bound(entry.path) == 1_000_000 + journal.HEARTBEAT + journal.SLACK


def test_the_heartbeat_bound_of_an_entry_that_is_gone_is_unknown(tmp_path):
    assert journal.heartbeat_bound(str(tmp_path / "1.abc.json")) is None


# --- the entry's own JSON writer -------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # any code point, lone surrogates included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_dumps_writes_ascii_json_that_json_reads_back_exactly(value):
    import json

    text = journal.dumps(value)
    assert text.isascii()
    assert json.loads(text) == value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object(), b"bytes"])
def test_dumps_refuses_what_json_cannot_hold(value):
    with pytest.raises((ValueError, TypeError)):
        journal.dumps(value)


def test_a_guarded_run_does_not_import_json_or_enum():
    """Both cost a good part of a Python start at every guarded call."""
    import subprocess
    import sys

    package_root = os.path.dirname(os.path.dirname(journal.__file__))
    code = (f"import sys; sys.path.insert(0, {package_root!r}); "
            "from venvguard import journal, supervisor, watchdog, removal, kept; "
            "sys.stdout.write(' '.join(sorted(sys.modules)))")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            timeout=30, check=True)
    modules = result.stdout.split()
    assert "venvguard.supervisor" in modules
    for heavy in ("json", "enum", "re", "signal", "ctypes", "typing"):
        assert heavy not in modules
