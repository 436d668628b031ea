"""journal: one small locked file per guarded run, the marker the design rests on."""

import fcntl
import json
import os
import stat
import subprocess
import sys
import time

import pytest
from unit_helpers import fd_is_open

from venvguard import decision, journal
from venvguard.journal import JournalError


def data(token="abc123", **overrides):
    """A valid entry as journal.new_data makes it, for the current process."""
    out = journal.new_data(
        argv=["uv", "sync"], cwd="/work/project", targets=[["/work/project/.venv", "absent"]],
        policy="exit", repair="uv sync --reinstall", tool_pid=os.getpid(), token=token,
    )
    out.update(overrides)
    return out


@pytest.fixture
def entry():
    held = journal.create(data())
    yield held
    if fd_is_open(held.fd):
        held.release()


# --- where ------------------------------------------------------------------------


HOST = os.uname().nodename


def test_state_dir_is_under_xdg_state_home_when_set():
    env = {"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}
    assert journal.state_dir(env) == "/x/state/venvguard"
    assert journal.runs_dir(env) == f"/x/state/venvguard/runs/{HOST}"


def test_state_dir_defaults_to_local_state_in_home():
    env = {"HOME": "/home/u"}
    assert journal.state_dir(env) == "/home/u/.local/state/venvguard"
    assert journal.runs_dir(env) == f"/home/u/.local/state/venvguard/runs/{HOST}"


def test_each_machine_has_its_own_runs_directory_named_as_the_shells_name_it():
    # The prompt hooks look in runs/$HOSTNAME (bash), runs/$HOST (zsh), runs/$hostname
    # (fish): another machine's runs on a shared home never wake them up.
    assert os.path.basename(journal.runs_dir({"HOME": "/h"})) == HOST


def test_an_empty_xdg_state_home_counts_as_unset():
    assert journal.state_dir({"XDG_STATE_HOME": "", "HOME": "/h"}) == "/h/.local/state/venvguard"


def test_state_dir_follows_the_environment_by_default(isolated_state):
    assert journal.runs_dir() == str(isolated_state / "venvguard" / "runs" / HOST)


# --- names --------------------------------------------------------------------------


def test_an_entry_name_is_pid_dot_token_dot_json():
    assert journal.entry_name(1234, "abc") == "1234.abc.json"


def test_entry_name_and_parse_name_round_trip():
    assert journal.parse_name(journal.entry_name(42, "a1b2c3")) == (42, "a1b2c3")


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "12.json", "x.abc.json", ".12.abc.json.tmp", "12.abc.json.corrupt",
     "12.a.b.json", "12.ab-c.json", "-1.abc.json", "", ".json", "12.abc.JSON"],
)
def test_parse_name_rejects_foreign_file_names(name):
    assert journal.parse_name(name) is None


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
    finally:
        held.release()


def test_create_leaves_no_temporary_file_behind(entry):
    assert os.listdir(journal.runs_dir()) == [os.path.basename(entry.path)]


def test_a_created_entry_is_locked_while_it_is_held(entry):
    # flock locks belong to the open file description: a second open in the same
    # process conflicts with the first, as another process would.
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


def test_claim_of_an_entry_that_is_gone_is_none(tmp_path):
    assert journal.claim(str(tmp_path / "1.abc.json")) is None


def test_a_lock_held_by_another_process_blocks_claim(entry):
    entry.release()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         entry.path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        assert journal.claim(entry.path) is None
    finally:
        holder.stdin.close()
        holder.wait()
    claimed = journal.claim(entry.path)  # the kernel dropped the lock with its owner
    assert claimed is not None
    claimed.release()


def test_create_raises_oserror_when_the_state_dir_cannot_be_made(tmp_path):
    # Tests run as root, where permissions do not stop writes: a file where a
    # directory must be does.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(OSError):
        journal.create(data(), {"XDG_STATE_HOME": str(blocker / "state")})
    assert blocker.read_text() == ""


@pytest.mark.parametrize(
    "path",
    [
        "/work/with\nnewline/.venv",
        "/work/with space/.venv",
        "/work/\udcff\udcfenot-utf8/.venv",  # os.fsdecode(b"\xff\xfe...")
        "/work/ünïcode/.venv",
        '/work/quote"back\\slash/.venv',
    ],
)
def test_odd_paths_round_trip_through_an_entry(path):
    held = journal.create(data(targets=[[path, "absent"]], cwd=os.path.dirname(path),
                               argv=["python", "-m", "venv", path]))
    try:
        read = journal.read(held.path)
        assert read["targets"] == [[path, "absent"]]
        assert read["cwd"] == os.path.dirname(path)
        assert read["argv"][-1] == path
    finally:
        held.release()


def test_a_non_utf8_path_from_the_file_system_round_trips_to_the_same_bytes():
    path = os.fsdecode(b"/work/\xff\xfe/.venv")
    held = journal.create(data(targets=[[path, "dir"]]))
    try:
        assert os.fsencode(journal.read(held.path)["targets"][0][0]) == b"/work/\xff\xfe/.venv"
    finally:
        held.release()


def test_new_data_names_the_owner_the_tool_the_host_and_the_boot():
    d = data()
    assert d["venvguard"] == journal.FORMAT
    assert d["owner"] == [os.getpid(), journal.start_time(os.getpid())]
    assert d["tool"] == [os.getpid(), journal.start_time(os.getpid())]
    assert d["host"] == os.uname().nodename
    assert d["boot"] == journal.boot_id()
    assert journal.validate(json.loads(json.dumps(d))) == d


# --- reading corrupt entries -------------------------------------------------------------


def write_raw(content: bytes) -> str:
    directory = journal.runs_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "1.abc.json")
    with open(path, "wb") as f:
        f.write(content)
    return path


def as_json(obj) -> bytes:
    return json.dumps(obj).encode()


def without(key):
    d = data()
    del d[key]
    return d


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{not json", r"not valid JSON", id="invalid-json"),
        pytest.param(b"", r"not valid JSON", id="empty-file"),
        pytest.param(b"\x00\xff\xfe\x80garbage\x00", r"not valid JSON", id="binary-garbage"),
        pytest.param(b'{"venvguard": 1, "tok', r"not valid JSON", id="truncated"),
        pytest.param(as_json([1, 2]), r"not a JSON object", id="json-list"),
        pytest.param(as_json("text"), r"not a JSON object", id="json-string"),
        pytest.param(as_json(data(venvguard=2)), r"format 2, expected 1", id="newer-format"),
        pytest.param(as_json(without("venvguard")), r"format None, expected 1", id="no-format"),
        pytest.param(as_json(without("token")), r"field 'token' missing or not a str",
                     id="missing-token"),
        pytest.param(as_json(without("targets")), r"field 'targets' missing or not a list",
                     id="missing-targets"),
        pytest.param(as_json(without("host")), r"field 'host' missing", id="missing-host"),
        pytest.param(as_json(data(argv="uv sync")), r"field 'argv' missing or not a list",
                     id="argv-a-string"),
        pytest.param(b"[" * 100_000, r"not valid JSON", id="absurdly-deep-nesting"),
        pytest.param(as_json(data(argv=["uv", 1])), r"field 'argv' is not a list of strings",
                     id="argv-not-strings"),
        pytest.param(as_json(data(tool=[])), r"field 'tool' is not \[pid, start time\]",
                     id="tool-empty"),
        pytest.param(as_json(data(owner=["1", None])),
                     r"field 'owner' is not \[pid, start time\]", id="owner-pid-a-string"),
        pytest.param(as_json(data(token="../../x")), r"field 'token' is not alphanumeric",
                     id="token-a-path"),
        pytest.param(as_json(data(targets=[[".venv", "absent"]])),
                     r"a target is not \[absolute path, kind\]", id="relative-target"),
        pytest.param(as_json(data(targets=[["/a/.venv"]])),
                     r"a target is not \[absolute path, kind\]", id="target-without-kind"),
        pytest.param(as_json(data(targets=["/a/.venv"])),
                     r"a target is not \[absolute path, kind\]", id="target-a-string"),
    ],
)
def test_a_corrupt_entry_raises_journal_error_saying_what_is_wrong(content, message):
    path = write_raw(content)
    with pytest.raises(JournalError, match=message):
        journal.read(path)


def test_a_corrupt_entry_is_not_claimed_and_not_left_locked():
    path = write_raw(b"{not json")
    with pytest.raises(JournalError):
        journal.claim(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no leaked lock
    finally:
        os.close(fd)


def test_an_unreadable_entry_raises_journal_error(tmp_path):
    with pytest.raises(JournalError, match="cannot be read"):
        journal.read(str(tmp_path / "missing.json"))


# --- listing ------------------------------------------------------------------------------


def test_listing_is_empty_without_a_journal():
    assert journal.listing() == []


def test_listing_is_empty_when_the_state_path_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    assert journal.listing() == []


def test_listing_holds_entries_only():
    directory = journal.runs_dir()
    os.makedirs(directory)
    for name in ("7.abc.json", "12.def.json", "notes.txt", ".3.x.json.tmp", "5.abc.json.corrupt"):
        open(os.path.join(directory, name), "w").close()
    assert sorted(journal.listing()) == sorted(
        os.path.join(directory, n) for n in ("7.abc.json", "12.def.json")
    )


# --- what is at a path ---------------------------------------------------------------


def test_kind_tells_what_is_at_a_path_without_following_links(tmp_path):
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


# --- who is running -----------------------------------------------------------------------


def test_start_time_of_this_process_is_a_stable_int():
    first = journal.start_time(os.getpid())
    assert isinstance(first, int)
    assert journal.start_time(os.getpid()) == first


def test_start_time_of_a_dead_process_is_none(dead_pid):
    assert journal.start_time(dead_pid) is None


def test_start_time_survives_a_command_name_with_spaces_and_parentheses():
    # The child renames itself (comm, field 2 of /proc/PID/stat) to look like more
    # fields; the start time read before and after must agree.
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; sys.stdin.readline(); "
         "open('/proc/self/comm', 'w').write('x) S 1 2 (y'); "
         "print('renamed', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        before = journal.start_time(child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "renamed\n"
        with open(f"/proc/{child.pid}/comm") as f:
            assert f.read().strip() == "x) S 1 2 (y"
        assert isinstance(before, int)
        assert journal.start_time(child.pid) == before
    finally:
        child.stdin.close()
        child.wait()


def test_boot_id_is_this_boots_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        assert journal.boot_id() == f.read().strip()


def test_this_process_is_alive():
    pid = os.getpid()
    assert journal.process_alive(pid, journal.start_time(pid), journal.boot_id())


def test_a_process_with_unknown_start_time_and_boot_counts_as_alive_when_its_pid_is():
    assert journal.process_alive(os.getpid(), None, None)


def test_a_reaped_child_is_dead(dead_pid):
    assert not journal.process_alive(dead_pid, None, None)


def test_a_live_pid_with_another_start_time_is_a_reused_pid_and_counts_as_dead():
    pid = os.getpid()
    assert not journal.process_alive(pid, journal.start_time(pid) + 1, journal.boot_id())


def test_a_process_from_another_boot_is_dead():
    pid = os.getpid()
    assert not journal.process_alive(pid, journal.start_time(pid), "another-boot-id")


def test_a_live_child_is_alive(live_child):
    started = journal.start_time(live_child.pid)
    assert journal.process_alive(live_child.pid, started, journal.boot_id())


def test_a_child_that_exited_but_was_not_reaped_is_dead():
    child = subprocess.Popen(["true"])
    started = journal.start_time(child.pid)
    try:
        # Wait until it is a zombie, without reaping it.
        for _ in range(500):
            with open(f"/proc/{child.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert not journal.process_alive(child.pid, started, journal.boot_id())
    finally:
        child.wait()
