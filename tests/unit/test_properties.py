"""Properties of the decision and of removal: whatever the journal says, whatever is
on disk and whatever changes meanwhile, nothing that existed before the run, nothing
another process wrote and nothing outside the target is ever removed.

What may be removed is written out here a second time, independently of
decision.py, as the oracle the code is checked against. The removal properties
build real little trees in a fresh temporary directory per example (odd names,
files, directories, FIFOs, hard links, symlinks pointing out of the target at a
"victim" directory), settle a journal entry for them with the real settle.conclude,
and compare every byte outside the target before and after."""

import os
import shutil
import stat
import sys
import tempfile
import time
import traceback

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from venvguard import decision, journal, removal, settle
from venvguard.decision import (
    ABSENT,
    ANY_FAILURE,
    CUT_SHORT,
    DIR,
    FAILED,
    FILE,
    FINISHED,
    INTERRUPTED,
    KEEP,
    NOTHING,
    OTHER,
    REDIRECT,
    REMOVE,
    SYMLINK,
    UNKNOWN,
    UNLINK,
    Disk,
    decide,
)

PROPERTIES = settings(
    deadline=None, database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def examples(count):
    return settings(PROPERTIES, max_examples=count)


KINDS = (ABSENT, DIR, SYMLINK, FILE, OTHER)
OUTCOMES = (FINISHED, FAILED, INTERRUPTED, CUT_SHORT, UNKNOWN)
UNFINISHED = (FAILED, INTERRUPTED, CUT_SHORT)
ENV_SHAPES = ("uv", "venv", "virtualenv")
NOBODY = 65534
# Scenes are many and small: on a memory file system when there is one, for speed.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@pytest.fixture(autouse=True)
def fast_state(monkeypatch):
    """Each test's own journal (as conftest.py's), on the scratch file system."""
    state = tempfile.mkdtemp(prefix="venvguard-state-", dir=SCRATCH)
    monkeypatch.setenv("XDG_STATE_HOME", state)
    yield state
    shutil.rmtree(state)


# --- the oracle -----------------------------------------------------------------------

# Every top-level name an environment tool (or an installer into it) writes.
ENVIRONMENT_NAMES = frozenset({
    "pyvenv.cfg", "bin", "lib", "lib64", "include", "share", "etc", "man", "src",
    ".gitignore", "CACHEDIR.TAG", ".lock", ".project",
})  # fmt: skip
# tox's own names in its environments.
TOX_NAMES = frozenset({"log", "tmp", ".tox-info.json", "file.lock"})
# What each tool has written before pyvenv.cfg. `python -m venv` writes directories only.
WRITTEN_BEFORE_PYVENV_CFG = {
    "uv": frozenset({"CACHEDIR.TAG", ".gitignore", "bin", "lib", "lib64", "include"}),
    "venv": frozenset({"bin", "include", "lib", "lib64"}),
    "virtualenv": frozenset({"bin", "include", "lib", "lib64", "CACHEDIR.TAG", ".gitignore"}),
    "tox": frozenset({"bin", "include", "lib", "lib64", "CACHEDIR.TAG", ".gitignore"}) | TOX_NAMES,
}
ONLY_DIRECTORIES_EARLY = frozenset({"venv"})
REDIRECT_LIMIT = 4096  # bytes: virtualenv's redirect file holds one path


def shaped_like_its_tools(shape, *, kind, names, pyvenv_cfg, holds_files, size):
    """Is this what `shape`'s tool leaves, complete or cut short at any point?

    A redirect: a small regular file. An environment: a real directory (no link)
    whose every top-level name is one the tools write, and which is either complete
    (pyvenv.cfg is a regular file), or not started (empty), or cut short before
    pyvenv.cfg (only what the tool writes before it, and for venv no file at all)."""
    if shape == REDIRECT:
        return kind == FILE and size <= REDIRECT_LIMIT
    if kind != DIR or not names <= ENVIRONMENT_NAMES | (TOX_NAMES if shape == "tox" else set()):
        return False
    complete = pyvenv_cfg
    not_started = not names
    cut_before_pyvenv_cfg = names <= WRITTEN_BEFORE_PYVENV_CFG[shape] and not (
        shape in ONLY_DIRECTORIES_EARLY and holds_files
    )
    return complete or not_started or cut_before_pyvenv_cfg


def test_the_oracle_knows_the_allowlist_decision_uses():
    """The oracle is only worth as much as its lists: they must be the policy's."""
    assert decision.ENV_ENTRIES == ENVIRONMENT_NAMES
    assert decision.EARLY_ENTRIES == WRITTEN_BEFORE_PYVENV_CFG
    assert decision.REDIRECT_MAX == REDIRECT_LIMIT


# --- decide, over every input --------------------------------------------------------

ODD_NAMES = [
    "\n", "a\nb", "-rf", "--", "-", ".git", ".hidden", "...", " ", "pyproject.toml",
    "setup.py", "uv.lock", "BIN", "bin ", "*", "$(touch pwned)", "\x1b[31m", "café",
    os.fsdecode(b"caf\xe9"), os.fsdecode(b"\xff\xfe"), ".venvguard-removing-x-0",
]
printable_names = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="/\0"),
    min_size=1, max_size=8,
).filter(lambda s: s not in (".", ".."))
raw_names = (
    st.binary(min_size=1, max_size=6)
    .filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))
    .map(os.fsdecode)  # not UTF-8: surrogate escapes, as os.listdir gives them
)
odd_names = st.one_of(st.sampled_from(ODD_NAMES), printable_names, raw_names)
# decide only compares names: a fixed pool of allowed and foreign ones is enough.
any_names = st.frozensets(
    st.sampled_from(sorted(ENVIRONMENT_NAMES) + ODD_NAMES + ["pyvenv.cfg.bak", "x"]),
    max_size=6,
)

sizes = st.one_of(st.integers(0, 2 * REDIRECT_LIMIT),
                  st.sampled_from([REDIRECT_LIMIT, REDIRECT_LIMIT + 1]))
disks = st.one_of(
    st.builds(Disk, st.sampled_from(KINDS), names=any_names, pyvenv_cfg=st.booleans(),
              has_files=st.booleans(), mine=st.booleans(), size=sizes),
    # Near what the tools write, so that the rules in between are reached.
    st.builds(Disk, st.just(DIR), names=st.frozensets(st.sampled_from(sorted(
        ENVIRONMENT_NAMES | TOX_NAMES)), max_size=5), pyvenv_cfg=st.booleans(),
        has_files=st.booleans()),
    st.builds(Disk, st.just(FILE), size=sizes),
)
SPOILABLE = {
    "existed": st.sampled_from(KINDS), "outcome": st.sampled_from(OUTCOMES),
    "protected": st.booleans(), "busy": st.booleans(), "changed": st.booleans(),
    "parent_moved": st.booleans(), "planned": st.booleans(), "mine": st.booleans(),
}


@st.composite
def decide_inputs(draw, existed=None):
    """Every input to decide. Drawn as a run that made its target and did not finish,
    with any set of the facts then drawn anew (so any value of each, any combination):
    that way both sides of every rule come up often."""
    inputs = {
        "existed": ABSENT, "outcome": draw(st.sampled_from(UNFINISHED)),
        "shape": draw(st.sampled_from((*ENV_SHAPES, "tox", REDIRECT))), "disk": draw(disks),
        "protected": False, "busy": False, "changed": False, "parent_moved": False,
        "planned": True,
    }
    spoilers = st.sets(st.sampled_from(sorted(SPOILABLE)), min_size=1)
    for key in sorted(draw(st.one_of(st.just(set()), spoilers))):
        if key == "mine":
            inputs["disk"].mine = draw(SPOILABLE[key])
        else:
            inputs[key] = draw(SPOILABLE[key])
    if existed is not None:  # what was there before, when a test fixes it
        inputs["existed"] = draw(existed)
    return inputs


def may_go(inputs):
    """The oracle for decide: the run made it, did not finish, nothing speaks against
    acting on it, and it is shaped like its tool's."""
    disk = inputs["disk"]
    return (
        inputs["existed"] == ABSENT
        and inputs["outcome"] not in (FINISHED, UNKNOWN)
        and not (inputs["protected"] or inputs["busy"] or inputs["changed"]
                 or inputs["parent_moved"])
        and inputs["planned"]
        and disk.mine
        and shaped_like_its_tools(
            inputs["shape"], kind=disk.kind, names=disk.names, pyvenv_cfg=disk.pyvenv_cfg,
            holds_files=disk.has_files, size=disk.size,
        )
    )


@examples(150)
@given(decide_inputs())
def test_decide_removes_or_unlinks_only_what_the_oracle_allows(inputs):
    """Never a removal the independent statement of the rules does not allow."""
    verdict = decide(**inputs)
    if verdict.action in (REMOVE, UNLINK):
        assert may_go(inputs), verdict


@examples(150)
@given(decide_inputs())
def test_decide_removes_what_the_oracle_allows_and_its_kind_of_removal_fits_the_shape(inputs):
    """An environment is removed as a directory, a redirect unlinked as a file."""
    verdict = decide(**inputs)
    if may_go(inputs):
        assert verdict.action == (UNLINK if inputs["shape"] == REDIRECT else REMOVE)
        assert verdict.reason == "created"


@examples(100)
@given(decide_inputs(existed=st.sampled_from(KINDS[1:])))
def test_decide_never_acts_on_what_existed_before(inputs):
    """Whatever else is true, even every other fact in favour of removal."""
    assert decide(**inputs).action in (NOTHING, KEEP)


@examples(100)
@given(decide_inputs())
def test_every_environment_decide_keeps_is_kept_with_a_reason_the_user_is_told(inputs):
    """A kept environment's message says why in words, never the bare reason code."""
    verdict = decide(**inputs)
    if verdict.action == KEEP:
        text = settle.message(verdict, ".venv", "the interrupted `uv sync`", "uv sync")
        assert text.startswith("kept .venv (")
        assert f"({verdict.reason})" not in text


# --- real trees -------------------------------------------------------------------------
#
# A node is ("file", bytes) | ("dir", {name: node}, read_only) | ("link", where) |
# ("hardlink",) (to a victim file) | ("fifo",).

LINKS = ("victim", "victim-relative", "victim-file", "sibling-env", "dangling", "parent")
leaves = st.one_of(
    st.builds(lambda data: ("file", data), st.binary(max_size=24)),
    st.sampled_from([("link", where) for where in LINKS]),
    st.just(("hardlink",)),
    st.just(("fifo",)),
)
child_names = st.one_of(st.sampled_from(sorted(ENVIRONMENT_NAMES)), odd_names)
nodes = st.recursive(
    leaves,
    lambda kids: st.builds(lambda kids, ro: ("dir", kids, ro),
                           st.dictionaries(child_names, kids, max_size=3), st.booleans()),
    max_leaves=6,
)
PYVENV_CFG = ("file", b"home = /usr/bin\nversion = 3.11.7\n")
WHOLE_ENV = ("dir", {"pyvenv.cfg": PYVENV_CFG, "bin": ("dir", {"python": ("file", b"")}, False),
                     "lib": ("dir", {"site.py": ("file", b"")}, False)}, False)


def _top_dir(env_part, pyvenv_cfg, extras, read_only):
    children = {**env_part, **extras}
    if pyvenv_cfg is not None:
        children["pyvenv.cfg"] = pyvenv_cfg
    return ("dir", children, read_only)


# The target itself: a complete environment; an early one (only names some tool
# writes before pyvenv.cfg); any mix of the names the tools write, pyvenv.cfg a
# file, something else or missing; the same with a name or two no tool writes; or
# not a directory at all (a link, a FIFO, a hard link, a file).
env_names = st.sampled_from(sorted(ENVIRONMENT_NAMES - {"pyvenv.cfg"}))
early_names = st.sampled_from(sorted(frozenset().union(*WRITTEN_BEFORE_PYVENV_CFG.values())))
pyvenv_cfgs = st.one_of(st.none(), st.just(PYVENV_CFG), nodes)
top_dirs = st.one_of(
    st.builds(_top_dir, st.dictionaries(env_names, nodes, max_size=4), st.just(PYVENV_CFG),
              st.just({}), st.booleans()),
    st.builds(_top_dir, st.dictionaries(early_names, nodes, max_size=3), st.none(),
              st.just({}), st.booleans()),
    st.builds(_top_dir, st.dictionaries(env_names, nodes, max_size=4), pyvenv_cfgs,
              st.just({}), st.booleans()),
    st.builds(_top_dir, st.dictionaries(env_names, nodes, max_size=3), pyvenv_cfgs,
              st.dictionaries(odd_names, nodes, min_size=1, max_size=2), st.booleans()),
)
tops = st.one_of(
    top_dirs,
    st.sampled_from([("link", where) for where in LINKS] + [("fifo",), ("hardlink",)]),
    st.builds(lambda data: ("file", data), st.binary(max_size=64)),
)
# Environments, complete, with anything allowed inside (links out included).
environments = st.builds(
    _top_dir, st.dictionaries(env_names, nodes, min_size=1, max_size=4),
    st.just(PYVENV_CFG), st.just({}), st.booleans(),
)
target_names = st.sampled_from(
    [".venv", "env", "-rf", "a\nb", " .venv", "--help", os.fsdecode(b"\xff.venv")]
)
shapes = st.sampled_from(ENV_SHAPES)


def is_regular(node):
    return node[0] in ("file", "hardlink")


def holds_files(node):
    return any(is_regular(child) or (child[0] == "dir" and holds_files(child))
               for child in node[1].values())


def oracle_removes(shape, top):
    """The oracle, applied to a tree as it will be built."""
    if top[0] != "dir":
        return False
    children = top[1]
    return shaped_like_its_tools(
        shape, kind=DIR, names=frozenset(children),
        pyvenv_cfg="pyvenv.cfg" in children and is_regular(children["pyvenv.cfg"]),
        holds_files=holds_files(top), size=0,
    )


class Scene:
    """A fresh directory per example:

        victim/      a complete environment outside the target, that links point to
        secret.txt   a file outside the target, that hard links inside it share
        project/     the run's directory: pyproject.toml, src/, other-env/, the target
    """

    def __init__(self, target_name=".venv", base=None):
        if base is None:
            base = tempfile.mkdtemp(prefix="venvguard-property-", dir=SCRATCH)
        else:
            os.mkdir(base)
        self.base = base
        self.victim = os.path.join(self.base, "victim")
        self.secret = os.path.join(self.base, "secret.txt")
        self.project = os.path.join(self.base, "project")
        self.target = os.path.join(self.project, target_name)
        os.makedirs(os.path.join(self.victim, "bin"))
        os.makedirs(os.path.join(self.victim, "lib", "python3.11", "site-packages"))
        self._write(os.path.join(self.victim, "pyvenv.cfg"), b"home = /usr/bin\n")
        self._write(os.path.join(self.victim, "bin", "python"), b"#!/bin/sh\n")
        self._write(os.path.join(self.victim, "lib", "python3.11", "site-packages", "x.py"),
                    bytes(range(256)))
        self._write(self.secret, b"do not delete\n")
        os.makedirs(os.path.join(self.project, "src"))
        self._write(os.path.join(self.project, "pyproject.toml"), b"[project]\nname='p'\n")
        self._write(os.path.join(self.project, "src", "app.py"), b"print('hi')\n")
        other = os.path.join(self.project, "other-env")
        os.makedirs(os.path.join(other, "bin"))
        self._write(os.path.join(other, "pyvenv.cfg"), b"home = /usr/bin\n")

    @staticmethod
    def _write(path, data):
        with open(path, "wb") as f:
            f.write(data)

    def link_to(self, where, at):
        return {
            "victim": self.victim,
            "victim-relative": os.path.relpath(self.victim, os.path.dirname(at)),
            "victim-file": self.secret,
            "sibling-env": os.path.join(self.project, "other-env"),
            "dangling": os.path.join(self.base, "nowhere"),
            "parent": "..",
        }[where]

    def build(self, path, node):
        kind = node[0]
        if kind == "file":
            self._write(path, node[1])
        elif kind == "link":
            os.symlink(self.link_to(node[1], path), path)
        elif kind == "hardlink":
            os.link(self.secret, path)
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            os.mkdir(path)
            for name, child in node[1].items():
                self.build(os.path.join(path, name), child)
            if node[2]:
                os.chmod(path, 0o555)

    def wipe(self):
        """Remove the whole scene, read-only directories included."""
        for directory, dirs, _files in os.walk(self.base):
            for name in dirs:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
        shutil.rmtree(self.base)


def snapshot(path):
    """Every entry below `path` (itself included, never following a link): its type,
    permissions, and bytes or link target."""
    out = {}

    def walk(at, rel):
        info = os.lstat(at)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            out[rel] = ("link", os.readlink(at))
        elif stat.S_ISREG(info.st_mode):
            with open(at, "rb") as f:
                out[rel] = ("file", mode, f.read())
        elif stat.S_ISDIR(info.st_mode):
            out[rel] = ("dir", mode)
            for name in sorted(os.listdir(at)):
                walk(at + b"/" + name, rel + b"/" + name)
        else:
            out[rel] = ("other", stat.S_IFMT(info.st_mode), mode)

    if os.path.lexists(path):
        walk(os.fsencode(path), b"")
    return out


def outside(whole, base, target):
    """A snapshot of `base` without the target and what is below it."""
    rel = b"/" + os.fsencode(os.path.relpath(target, base))
    return {k: v for k, v in whole.items() if k != rel and not k.startswith(rel + b"/")}


ARGV = {
    "venv": lambda path: ["python3", "-m", "venv", path],
    "uv": lambda path: ["uv", "venv", path],
    "virtualenv": lambda path: ["virtualenv", "--no-venv-redirect", path],
}


def target_record(path, shape, existed=ABSENT):
    fd, anchor = removal.hold_anchor(path)
    os.close(fd)
    return {"path": path, "existed": existed, "shape": shape, "anchor": anchor}


def new_entry(argv, cwd, targets, token=None):
    """A journal entry as the supervisor writes it (held, so locked, by this process)."""
    return journal.create(journal.new_data(
        argv=argv, cwd=cwd, environ={}, targets=targets, policy=ANY_FAILURE, repair=None,
        token=token or os.urandom(8).hex(),
    ))


def journal_is_empty():
    return journal.listing() == []


@examples(75)
@given(shape=shapes, name=target_names, top=tops)
@example(shape="venv", name=".venv", top=("dir", {}, False))
@example(shape="uv", name=".venv", top=("dir", {"CACHEDIR.TAG": ("file", b"Signature"),
                                                "bin": ("dir", {}, False)}, False))
@example(shape="venv", name=".venv", top=("dir", {"bin": ("dir", {"x": ("file", b"")}, False)},
                                          False))
@example(shape="venv", name=".venv", top=("dir", {"pyvenv.cfg": PYVENV_CFG,
                                                  "lib": ("link", "victim"),
                                                  "bin": ("hardlink",)}, False))
@example(shape="uv", name=".venv", top=("link", "sibling-env"))
@example(shape="uv", name=".venv", top=("dir", {"pyvenv.cfg": PYVENV_CFG,
                                                ".git": ("dir", {}, False)}, False))
def test_settling_removes_the_target_only_when_shaped_like_an_environment_and_nothing_else(
    shape, name, top
):
    """An interrupted run whose target was absent: the target goes exactly when the
    oracle says it is its tool's environment; else it stays byte for byte. Outside
    it (the victim its links point to, hard-linked files, siblings) nothing changes."""
    scene = Scene(name)
    try:
        scene.build(scene.target, top)
        entry = new_entry(ARGV[shape](scene.target), scene.project,
                          [target_record(scene.target, shape)])
        before, target_before = snapshot(scene.base), snapshot(scene.target)

        settle.conclude(entry, INTERRUPTED, background=False)

        after = snapshot(scene.base)
        assert outside(after, scene.base, scene.target) == outside(
            before, scene.base, scene.target)
        if oracle_removes(shape, top):
            assert not os.path.lexists(scene.target)
        else:
            assert snapshot(scene.target) == target_before
        assert journal_is_empty()
    finally:
        scene.wipe()


RUN_FACTS = {  # each fact of a run, the value that lets a removal happen first
    "existed": st.sampled_from(KINDS),
    "outcome": st.sampled_from((INTERRUPTED, FINISHED, FAILED, CUT_SHORT, UNKNOWN)),
    "command": st.sampled_from(["same", "other-path", "other-tool"]),
    "held": st.booleans(),  # the supervisor's descriptors (else reopened, as for an orphan)
    "cwd_is_target": st.booleans(),
    "busy": st.booleans(),
    "foreign_owner": st.booleans(),
    "parent": st.sampled_from(["in-place", "remade", "swapped-for-a-link"]),
    "ended": st.sampled_from(["after-the-tree", "unknown", "before-the-tree"]),
}


FAVOURABLE = {"existed": ABSENT, "outcome": INTERRUPTED, "command": "same", "held": False,
              "cwd_is_target": False, "busy": False, "foreign_owner": False,
              "parent": "in-place", "ended": "unknown"}
# Each fact on its own, against removal (first) and for it (second): always tried.
ONE_FACT = {
    "existed": ([DIR, SYMLINK, FILE, OTHER], []),
    "outcome": ([FINISHED, UNKNOWN], [FAILED, CUT_SHORT]),
    "command": (["other-path", "other-tool"], []),
    "held": ([], [True]),
    "cwd_is_target": ([True], []),
    "busy": ([True], []),
    "foreign_owner": ([True] if os.geteuid() == 0 else [], []),
    "parent": (["remade", "swapped-for-a-link"], []),
    "ended": (["before-the-tree"], ["after-the-tree"]),
}


@st.composite
def run_facts(draw):
    """Any combination of the facts; drawn as all in favour of removal, then one or
    any set of them drawn anew, so that each rule is met alone as well as with others."""
    facts = dict(FAVOURABLE)
    keys = st.sampled_from(sorted(RUN_FACTS))
    spoilers = st.one_of(st.just(set()), st.sets(keys, min_size=1, max_size=1),
                         st.sets(keys, min_size=2))
    for key in sorted(draw(spoilers)):
        facts[key] = draw(RUN_FACTS[key])
    return facts


def each_fact_alone(test):
    for key, (against, for_) in ONE_FACT.items():
        for value in [*against, *for_]:
            test = example(shape="venv", top=WHOLE_ENV, facts={**FAVOURABLE, key: value})(test)
    return example(shape="venv", top=WHOLE_ENV, facts=FAVOURABLE)(test)


@examples(75)
@given(shape=shapes, top=st.one_of(environments, tops), facts=run_facts())
@each_fact_alone
def test_no_journal_state_or_disk_fact_lets_settling_remove_what_it_must_not(
    shape, top, facts
):
    """Whatever the entry says (what existed, how the run ended, its command, its cwd),
    whatever else is true (another live run, another owner, the parent moved, written
    after the run ended): the target goes only when every rule allows it, and nothing
    outside it ever changes."""
    existed, outcome, command, held, cwd_is_target, busy, foreign_owner, parent, ended = (
        facts[key] for key in ("existed", "outcome", "command", "held", "cwd_is_target",
                               "busy", "foreign_owner", "parent", "ended"))
    foreign_owner = foreign_owner and os.geteuid() == 0  # only root can give it away
    scene = Scene()
    held_fd = busy_entry = None
    try:
        moment = time.time()
        scene.build(scene.target, top)
        if foreign_owner:
            os.lchown(scene.target, NOBODY, NOBODY)
        recorded = target_record(scene.target, shape, existed)
        argv = {
            "same": ARGV[shape](scene.target),
            "other-path": ARGV[shape](os.path.join(scene.project, "elsewhere")),
            "other-tool": ARGV["uv" if shape != "uv" else "venv"](scene.target),
        }[command]
        cwd = scene.target if cwd_is_target else scene.project
        if held:
            held_fd, _anchor = removal.hold_anchor(scene.target)
        entry = new_entry(argv, cwd, [recorded])
        if busy:
            busy_entry = new_entry(ARGV[shape](scene.target), scene.project,
                                   [target_record(scene.target, shape)])
        if parent != "in-place":
            os.rename(scene.project, scene.project + ".old")
            if parent == "remade":
                os.mkdir(scene.project)
                scene.build(scene.target, top)
            else:
                elsewhere = os.path.join(scene.base, "elsewhere")
                os.mkdir(elsewhere)
                scene.build(os.path.join(elsewhere, os.path.basename(scene.target)), top)
                os.symlink(elsewhere, scene.project)
        bound = {"unknown": None, "before-the-tree": moment - 60,
                 "after-the-tree": time.time() + 3600}[ended]
        before = snapshot(scene.base)

        settle.conclude(entry, outcome, parents=None if held_fd is None else {0: held_fd},
                        ended=bound, background=False)

        after = snapshot(scene.base)
        removable = (
            existed == ABSENT and outcome in UNFINISHED and (held or command == "same")
            and not cwd_is_target and not busy and not foreign_owner
            and parent == "in-place" and ended != "before-the-tree"
            and oracle_removes(shape, top)
        )
        if removable:
            assert not os.path.lexists(scene.target)
            assert outside(after, scene.base, scene.target) == outside(
                before, scene.base, scene.target)
        else:
            assert after == before
    finally:
        if held_fd is not None:
            os.close(held_fd)
        if busy_entry is not None:
            busy_entry.remove()
        scene.wipe()


# virtualenv's redirect: a `.venv` beside the environment, only ever a small file.
redirects = st.one_of(
    st.builds(lambda data: ("file", data), st.binary(max_size=64)),
    st.just(("file", b"x" * REDIRECT_LIMIT)),
    st.just(("file", b"x" * (REDIRECT_LIMIT + 1))),
    st.sampled_from([("link", where) for where in LINKS] + [("fifo",), ("hardlink",)]),
    top_dirs,
)


@examples(50)
@given(redirect=redirects, env=st.one_of(st.none(), environments))
@example(redirect=("link", "victim-file"), env=None)
@example(redirect=("hardlink",), env=None)
def test_a_redirect_is_unlinked_only_when_a_small_file_and_what_it_names_is_untouched(
    redirect, env
):
    """The redirect names an environment elsewhere: removing the redirect never
    reaches what it names, nor the file it may be hard-linked to."""
    scene = Scene("env")
    sibling = os.path.join(scene.project, ".venv")
    try:
        if env is not None:
            scene.build(scene.target, env)
        scene.build(sibling, redirect)
        entry = new_entry(["virtualenv", scene.target], scene.project,
                          [target_record(scene.target, "virtualenv"),
                           target_record(sibling, REDIRECT)])
        before = snapshot(scene.base)

        settle.conclude(entry, INTERRUPTED, background=False)

        after = snapshot(scene.base)
        rest = outside(outside(after, scene.base, sibling), scene.base, scene.target)
        assert rest == outside(outside(before, scene.base, sibling), scene.base, scene.target)
        small_file = redirect[0] == "hardlink" or (
            redirect[0] == "file" and len(redirect[1]) <= REDIRECT_LIMIT)
        if small_file:
            assert not os.path.lexists(sibling)
        else:
            assert outside(after, scene.base, scene.target) == outside(
                before, scene.base, scene.target)
        assert os.path.lexists(scene.target) == (env is not None and not oracle_removes(
            "virtualenv", env))
    finally:
        scene.wipe()


# --- concurrent changes --------------------------------------------------------------


def _steal(scene, replacement):
    """Another process takes the target away and puts something else in its place."""
    stolen = os.path.join(scene.project, "stolen")
    os.rename(scene.target, stolen)
    if replacement == "link-to-victim":
        os.symlink(scene.victim, scene.target)
    else:  # a fresh environment of somebody else's
        scene.build(scene.target, ("dir", {"pyvenv.cfg": PYVENV_CFG,
                                           "bin": ("dir", {}, False)}, False))
    return stolen


@examples(30)
@given(shape=shapes, env=environments, hook=st.sampled_from(["inspect", "set_aside"]),
       replacement=st.sampled_from(["link-to-victim", "other-environment"]))
def test_a_target_swapped_between_inspection_and_removal_is_put_back_and_kept(
    shape, env, hook, replacement, monkeypatch
):
    """What the run made was inspected, then swapped (for a link to the victim, or a
    directory of somebody else's) before it was set aside: the rename's identity check
    puts the newcomer back; neither it, nor what it points to, nor the original
    (now elsewhere) loses a byte."""
    scene = Scene()
    swapped = []
    real_inspect, real_set_aside = removal.inspect, removal.set_aside

    def inspect(parent, name):
        result = real_inspect(parent, name)
        if hook == "inspect" and name == os.path.basename(scene.target) and not swapped:
            swapped.append(_steal(scene, replacement))
        return result

    def set_aside(parent, name, trash, fd, **options):
        if hook == "set_aside" and not swapped:
            swapped.append(_steal(scene, replacement))
        return real_set_aside(parent, name, trash, fd, **options)

    try:
        scene.build(scene.target, env)
        entry = new_entry(ARGV[shape](scene.target), scene.project,
                          [target_record(scene.target, shape)])
        original = snapshot(scene.target)
        with monkeypatch.context() as patch:
            patch.setattr(removal, "inspect", inspect)
            patch.setattr(removal, "set_aside", set_aside)
            settle.conclude(entry, INTERRUPTED, background=False, parents=None)

        assert swapped, "the swap never happened: the environment was not up for removal"
        [stolen] = swapped
        assert snapshot(stolen) == original
        if replacement == "link-to-victim":
            assert os.readlink(scene.target) == scene.victim
        else:
            assert sorted(os.listdir(scene.target)) == ["bin", "pyvenv.cfg"]
        assert sorted(os.listdir(scene.project)) == sorted(
            ["pyproject.toml", "src", "other-env", "stolen", os.path.basename(scene.target)])
        assert sorted(os.listdir(scene.victim)) == ["bin", "lib", "pyvenv.cfg"]
    finally:
        scene.wipe()


def _write_foreign_file(scene):
    with open(os.path.join(scene.target, "notes.txt"), "wb") as f:
        f.write(b"written by another process\n")


def _run_with_a_file_written_before_set_aside(scene, shape, monkeypatch):
    real_set_aside = removal.set_aside
    written = []

    def set_aside(parent, name, trash, fd, **options):
        if not written:
            _write_foreign_file(scene)
            written.append(True)
        return real_set_aside(parent, name, trash, fd, **options)

    entry = new_entry(ARGV[shape](scene.target), scene.project,
                      [target_record(scene.target, shape)])
    with monkeypatch.context() as patch:
        patch.setattr(removal, "set_aside", set_aside)
        settle.conclude(entry, INTERRUPTED, background=False)
    assert written, "the environment was never up for removal"


@examples(20)
@given(shape=shapes, env=environments)
def test_a_file_written_into_the_target_before_it_is_set_aside_never_reaches_the_victim(
    shape, env, monkeypatch
):
    """Whatever becomes of the target, a write into it between inspection and the
    rename changes nothing outside it."""
    scene = Scene()
    try:
        scene.build(scene.target, env)
        before = outside(snapshot(scene.base), scene.base, scene.target)
        _run_with_a_file_written_before_set_aside(scene, shape, monkeypatch)
        assert outside(snapshot(scene.base), scene.base, scene.target) == before
    finally:
        scene.wipe()


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_a_file_another_process_writes_into_the_target_before_it_is_set_aside_is_kept(
    shape, monkeypatch
):
    """Between inspecting the target and renaming it aside, another process writes a
    file into it: that file is not the run's, and must not be deleted with it (the
    target, which now holds a name no tool writes, is to be kept)."""
    scene = Scene()
    try:
        scene.build(scene.target, WHOLE_ENV)
        _run_with_a_file_written_before_set_aside(scene, shape, monkeypatch)
        notes = os.path.join(scene.target, "notes.txt")
        assert os.path.isfile(notes), "the other process's file was deleted"
        with open(notes, "rb") as f:
            assert f.read() == b"written by another process\n"
    finally:
        scene.wipe()


@examples(30)
@given(shape=shapes, env=environments)
def test_a_directory_swapped_for_a_link_during_deletion_is_unlinked_never_followed(
    shape, env, monkeypatch
):
    """While the set-aside environment is being deleted, a directory in it is moved
    out and a link to the victim put in its place just before it is descended into:
    only the link goes; the victim and the moved directory keep every byte."""
    scene = Scene()
    real_remove_dir = removal._remove_dir
    moved = []
    top_inode = None

    def remove_dir(parent, name):
        if name == "lib" and os.fstat(parent).st_ino == top_inode and not moved:
            project_fd = os.open(scene.project, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.rename(name, "moved-out", src_dir_fd=parent, dst_dir_fd=project_fd)
            finally:
                os.close(project_fd)
            os.symlink(scene.victim, name, dir_fd=parent)
            moved.append(os.path.join(scene.project, "moved-out"))
        return real_remove_dir(parent, name)

    try:
        env = ("dir", {**env[1], "lib": ("dir", {"site.py": ("file", b"x = 1\n")}, False)},
               False)
        scene.build(scene.target, env)
        top_inode = os.lstat(scene.target).st_ino
        lib = snapshot(os.path.join(scene.target, "lib"))
        before = outside(snapshot(scene.base), scene.base, scene.target)
        entry = new_entry(ARGV[shape](scene.target), scene.project,
                          [target_record(scene.target, shape)])
        with monkeypatch.context() as patch:
            patch.setattr(removal, "_remove_dir", remove_dir)
            settle.conclude(entry, INTERRUPTED, background=False)

        assert moved, "no directory was deleted"
        [moved_out] = moved
        assert not os.path.lexists(scene.target)
        assert snapshot(moved_out) == lib
        after = snapshot(scene.base)
        rel = b"/" + os.fsencode(os.path.relpath(moved_out, scene.base))
        assert {k: v for k, v in after.items() if not k.startswith(rel)} == before
    finally:
        scene.wipe()


# --- permissions: what an unprivileged user meets --------------------------------------

READ_ONLY_LAYOUTS = {
    # A read-only directory holding only files (pip installs some as 0o555).
    "read-only-dir-of-files": {"bin": ("dir", {"python": ("file", b"")}, True)},
    # A read-only directory holding a directory: lib/ -> python3.11/site-packages/...
    "read-only-dir-of-dirs": {"lib": ("dir", {"python3.11": ("dir", {
        "site-packages": ("dir", {"x.py": ("file", b"")}, False)}, False)}, True)},
    # Read-only all the way down.
    "read-only-tree": {"lib": ("dir", {"python3.11": ("dir", {
        "x.py": ("file", b"")}, True)}, True)},
}


@pytest.mark.parametrize("layout", sorted(READ_ONLY_LAYOUTS))
def test_read_only_directories_do_not_stop_an_environments_removal(layout):
    """Run as an ordinary user (nobody, when the tests run as root, for whom
    permissions do not apply): the environment is removed whole, no trash is left."""
    outer = tempfile.mkdtemp(prefix="venvguard-property-", dir=SCRATCH)
    if os.geteuid() == 0:
        os.chown(outer, NOBODY, NOBODY)
    base = os.path.join(outer, "scene")
    env = ("dir", {"pyvenv.cfg": PYVENV_CFG, **READ_ONLY_LAYOUTS[layout]}, False)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child settles the run as the unprivileged user
        status = 1
        try:
            os.close(read_end)
            sys.stderr = os.fdopen(write_end, "w")  # what settle says goes to the parent
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            os.environ["XDG_STATE_HOME"] = os.path.join(outer, "state")
            os.environ["HOME"] = os.path.join(outer, "home")
            os.mkdir(os.environ["HOME"])
            scene = Scene(base=base)
            scene.build(scene.target, env)
            entry = new_entry(ARGV["venv"](scene.target), scene.project,
                              [target_record(scene.target, "venv")])
            settle.conclude(entry, INTERRUPTED, background=False)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as said:
        messages = said.read().decode(errors="replace")
    _pid, status = os.waitpid(pid, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 0, messages
        assert sorted(os.listdir(os.path.join(base, "project"))) == [
            "other-env", "pyproject.toml", "src"], messages
    finally:
        for directory, dirs, _files in os.walk(outer):
            for name in dirs:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
        shutil.rmtree(outer)
