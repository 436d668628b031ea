"""decision.decide, decision.classify and decision.protected_paths: the rules that
say what happens to an environment once a guarded run has ended.

The expected table is written out from design.md ("when unsure, keep"; never
remove a path that existed before, a link or file, the current directory or its
parents, $HOME, a directory holding something no environment tool writes, a
path another live run uses) and from decide()'s docstring, not computed by
calling the function."""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from venvguard.decision import (
    ABSENT,
    ANY_FAILURE,
    CUT_SHORT,
    DIR,
    FAILED,
    FILE,
    FINISHED,
    FOREIGN_MARKERS,
    INTERRUPTED,
    KEEP,
    NOTHING,
    OTHER,
    REMOVE,
    SIGNAL_DEATH,
    SYMLINK,
    UNKNOWN,
    UNLINK,
    Verdict,
    classify,
    decide,
    protected_paths,
)

KINDS = (ABSENT, DIR, SYMLINK, FILE, OTHER)
OUTCOMES = (FINISHED, FAILED, INTERRUPTED, CUT_SHORT, UNKNOWN)
ENV = "/work/project/.venv"  # an ordinary target: not protected, not busy, no markers

# The whole table, one grid per outcome: a row per `existed`, a column per `now`.
#   N = nothing, K = keep, R = remove, U = unlink; after the colon, the reason.
#   now:                absent       dir             symlink         file            other
EXPECTED_GRID = {
    FINISHED: {
        ABSENT:  ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        DIR:     ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        SYMLINK: ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        FILE:    ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        OTHER:   ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
    },
    # A failed run made the environment: remove it (or its link). One that existed
    # before is left alone silently: tools fail before touching it on ordinary errors.
    FAILED: {
        ABSENT:  ["N:absent", "R:created", "U:created", "U:created", "K:not-a-directory"],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
    INTERRUPTED: {
        ABSENT:  ["N:absent", "R:created", "U:created", "U:created", "K:not-a-directory"],
        DIR:     ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        SYMLINK: ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        FILE:    ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        OTHER:   ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
    },
    CUT_SHORT: {
        ABSENT:  ["N:absent", "R:created", "U:created", "U:created", "K:not-a-directory"],
        DIR:     ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        SYMLINK: ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        FILE:    ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        OTHER:   ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
    },
    # The run may have finished (uv run whose supervisor is gone): when unsure, keep.
    UNKNOWN: {
        ABSENT:  ["N:absent", "K:unknown", "K:unknown", "K:unknown", "K:unknown"],
        DIR:     ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        SYMLINK: ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        FILE:    ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        OTHER:   ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
    },
}  # fmt: skip
ACTIONS = {"N": NOTHING, "K": KEEP, "R": REMOVE, "U": UNLINK}


def _table():
    for outcome, rows in EXPECTED_GRID.items():
        for existed, cells in rows.items():
            for now, cell in zip(KINDS, cells, strict=True):
                action, reason = cell.split(":")
                yield pytest.param(
                    outcome, existed, now, Verdict(ACTIONS[action], reason),
                    id=f"{outcome}-existed_{existed}-now_{now}",
                )


def test_the_expected_table_covers_every_outcome_existed_and_now_combination():
    combos = {(p.values[0], p.values[1], p.values[2]) for p in _table()}
    assert len(combos) == len(OUTCOMES) * len(KINDS) * len(KINDS) == 125


@pytest.mark.parametrize(("outcome", "existed", "now", "expected"), list(_table()))
def test_decide_follows_the_table_for_an_ordinary_target(outcome, existed, now, expected):
    assert decide(path=ENV, existed=existed, outcome=outcome, now=now) == expected


# --- one test per refusal rule -----------------------------------------------------

UNFINISHED = (FAILED, INTERRUPTED, CUT_SHORT)


@pytest.mark.parametrize("outcome", UNFINISHED)
def test_a_directory_the_run_made_is_removed_when_the_run_did_not_finish(outcome):
    verdict = decide(path=ENV, existed=ABSENT, outcome=outcome, now=DIR,
                     names={"pyvenv.cfg", "bin", "lib"})
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("outcome", (INTERRUPTED, CUT_SHORT, UNKNOWN))
def test_a_directory_that_existed_before_is_kept_after_an_interrupt(outcome):
    assert decide(path=ENV, existed=DIR, outcome=outcome, now=DIR) == Verdict(KEEP, "existed")


def test_a_directory_that_existed_before_is_left_silently_after_a_plain_failure():
    assert decide(path=ENV, existed=DIR, outcome=FAILED, now=DIR) == Verdict(NOTHING, "existed")


@pytest.mark.parametrize("outcome", UNFINISHED)
def test_the_current_directory_is_never_removed(outcome):
    cwd = "/work/project"
    verdict = decide(path=cwd, existed=ABSENT, outcome=outcome, now=DIR,
                     protected=protected_paths(cwd))
    assert verdict == Verdict(KEEP, "protected")


@pytest.mark.parametrize("parent", ["/work/project/sub", "/work/project", "/work"])
def test_each_parent_of_the_current_directory_is_never_removed(parent):
    protected = protected_paths("/work/project/sub/deeper")
    verdict = decide(path=parent, existed=ABSENT, outcome=INTERRUPTED, now=DIR,
                     protected=protected)
    assert verdict == Verdict(KEEP, "protected")


def test_home_is_never_removed():
    protected = protected_paths("/work/project", home="/home/someone")
    verdict = decide(path="/home/someone", existed=ABSENT, outcome=INTERRUPTED, now=DIR,
                     protected=protected)
    assert verdict == Verdict(KEEP, "protected")


def test_the_root_directory_is_never_removed_even_when_not_listed_as_protected():
    verdict = decide(path="/", existed=ABSENT, outcome=INTERRUPTED, now=DIR)
    assert verdict == Verdict(KEEP, "protected")


@pytest.mark.parametrize("marker", sorted(FOREIGN_MARKERS))
def test_a_directory_holding_a_foreign_marker_is_kept(marker):
    verdict = decide(path=ENV, existed=ABSENT, outcome=INTERRUPTED, now=DIR,
                     names={"pyvenv.cfg", "bin", marker})
    assert verdict == Verdict(KEEP, "foreign")


def test_the_foreign_markers_include_git_and_pyproject():
    assert {".git", "pyproject.toml"} <= FOREIGN_MARKERS


def test_a_path_another_live_run_is_using_is_kept():
    verdict = decide(path=ENV, existed=ABSENT, outcome=INTERRUPTED, now=DIR, busy=True)
    assert verdict == Verdict(KEEP, "busy")


def test_a_symlink_made_by_the_run_is_unlinked_never_followed():
    verdict = decide(path=ENV, existed=ABSENT, outcome=INTERRUPTED, now=SYMLINK)
    assert verdict == Verdict(UNLINK, "created")


def test_a_redirect_file_made_by_the_run_is_unlinked():
    verdict = decide(path=ENV, existed=ABSENT, outcome=CUT_SHORT, now=FILE)
    assert verdict == Verdict(UNLINK, "created")


def test_something_that_is_neither_directory_link_nor_file_is_kept():
    verdict = decide(path=ENV, existed=ABSENT, outcome=INTERRUPTED, now=OTHER)
    assert verdict == Verdict(KEEP, "not-a-directory")


def test_a_run_that_may_have_finished_keeps_what_it_made():
    verdict = decide(path=ENV, existed=ABSENT, outcome=UNKNOWN, now=DIR)
    assert verdict == Verdict(KEEP, "unknown")


def test_a_finished_run_is_left_alone_even_on_a_protected_path():
    verdict = decide(path="/", existed=ABSENT, outcome=FINISHED, now=DIR, busy=True)
    assert verdict == Verdict(NOTHING, "finished")


def test_a_target_that_is_gone_needs_nothing():
    verdict = decide(path=ENV, existed=ABSENT, outcome=INTERRUPTED, now=ABSENT)
    assert verdict == Verdict(NOTHING, "absent")


# --- properties over every input ------------------------------------------------------

paths = st.sampled_from(["/", "/work", "/work/project", ENV, "/home/someone"])
name_sets = st.sets(st.sampled_from(sorted(FOREIGN_MARKERS | {"bin", "lib", "pyvenv.cfg"})))


@settings(database=None)  # nothing written into the repository
@given(path=paths, existed=st.sampled_from(KINDS), outcome=st.sampled_from(OUTCOMES),
       now=st.sampled_from(KINDS), names=name_sets, busy=st.booleans(),
       cwd=st.sampled_from(["/work/project", "/work", "/tmp"]))
def test_decide_removes_only_a_fresh_unmarked_unprotected_directory_of_an_unfinished_run(
    path, existed, outcome, now, names, busy, cwd
):
    protected = protected_paths(cwd, home="/home/someone")
    verdict = decide(path=path, existed=existed, outcome=outcome, now=now, names=names,
                     protected=protected, busy=busy)
    if verdict.action == REMOVE:
        assert existed == ABSENT
        assert now == DIR
        assert outcome in UNFINISHED
        assert path not in protected and path != "/"
        assert not busy
        assert not names & FOREIGN_MARKERS
    if verdict.action == UNLINK:
        assert existed == ABSENT and now in (SYMLINK, FILE)
        assert path not in protected and not busy


@settings(database=None)
@given(existed=st.sampled_from(KINDS[1:]), outcome=st.sampled_from(OUTCOMES),
       now=st.sampled_from(KINDS), names=name_sets, busy=st.booleans())
def test_decide_never_removes_or_unlinks_what_existed_before(existed, outcome, now, names, busy):
    verdict = decide(path=ENV, existed=existed, outcome=outcome, now=now, names=names,
                     busy=busy)
    assert verdict.action in (NOTHING, KEEP)


def test_verdicts_compare_by_action_and_reason():
    assert Verdict(KEEP, "busy") == Verdict(KEEP, "busy")
    assert Verdict(KEEP, "busy") != Verdict(KEEP, "existed")
    assert Verdict(KEEP, "busy") != (KEEP, "busy")
    assert repr(Verdict(REMOVE, "created")) == "Verdict('remove', 'created')"


# --- classify ---------------------------------------------------------------------------

# (exit code, died of a signal, signals seen by the supervisor) -> outcome, per policy.
# A signal death has no exit code: the supervisor passes -1 then; 0/1/2 are listed for
# completeness (classify must not let an exit code hide a signal death).
CLASSIFY = [
    # exit died  seen   ANY_FAILURE   SIGNAL_DEATH
    (0, False, False, FINISHED, FINISHED),
    (0, False, True, FINISHED, FINISHED),  # the tool shrugged the Ctrl-C off and finished
    (0, True, False, INTERRUPTED, INTERRUPTED),
    (0, True, True, INTERRUPTED, INTERRUPTED),
    (1, False, False, FAILED, FINISHED),
    (1, False, True, INTERRUPTED, FINISHED),  # pip, poetry: catch SIGINT, exit 1
    (1, True, False, INTERRUPTED, INTERRUPTED),
    (1, True, True, INTERRUPTED, INTERRUPTED),
    (2, False, False, FAILED, FINISHED),
    (2, False, True, INTERRUPTED, FINISHED),
    (2, True, False, INTERRUPTED, INTERRUPTED),
    (2, True, True, INTERRUPTED, INTERRUPTED),
    (-1, True, False, INTERRUPTED, INTERRUPTED),  # as the supervisor calls it for a signal
    (-1, True, True, INTERRUPTED, INTERRUPTED),
]


@pytest.mark.parametrize(
    ("exit_code", "died", "seen", "policy", "expected"),
    [
        pytest.param(code, died, seen, policy, expected,
                     id=f"exit{code}-died_{died}-seen_{seen}-{policy}")
        for code, died, seen, any_failure, signal_death in CLASSIFY
        for policy, expected in ((ANY_FAILURE, any_failure), (SIGNAL_DEATH, signal_death))
    ],
)
def test_classify_tells_how_the_run_ended(exit_code, died, seen, policy, expected):
    outcome = classify(exit_code=exit_code, died_of_signal=died, signals_seen=seen,
                       policy=policy)
    assert outcome == expected


def test_a_tool_that_catches_ctrl_c_and_exits_1_counts_as_interrupted():
    assert classify(exit_code=1, died_of_signal=False, signals_seen=True,
                    policy=ANY_FAILURE) == INTERRUPTED


def test_uv_run_counts_as_finished_whatever_its_program_exits_with():
    for code in (0, 1, 2, 130):
        assert classify(exit_code=code, died_of_signal=False, signals_seen=True,
                        policy=SIGNAL_DEATH) == FINISHED


def test_uv_run_dying_of_a_signal_counts_as_interrupted():
    assert classify(exit_code=-1, died_of_signal=True, signals_seen=False,
                    policy=SIGNAL_DEATH) == INTERRUPTED


# --- protected_paths ---------------------------------------------------------------------


def test_protected_paths_hold_a_directory_with_all_its_parents_and_the_root():
    assert protected_paths("/a/b/c") == {"/", "/a", "/a/b", "/a/b/c"}


def test_protected_paths_hold_home_and_its_parents():
    assert protected_paths("/w", home="/home/u") == {"/", "/w", "/home", "/home/u"}


def test_protected_paths_hold_every_given_directory():
    assert protected_paths("/a/b", "/a/c/d") == {"/", "/a", "/a/b", "/a/c", "/a/c/d"}


def test_protected_paths_do_not_hold_children_or_siblings():
    protected = protected_paths("/a/b", home="/home/u")
    for path in ("/a/b/.venv", "/a/c", "/home/u/.venv", "/home/v"):
        assert path not in protected


def test_protected_paths_without_home_or_directories_hold_only_the_root():
    assert protected_paths() == {os.sep}
    assert protected_paths(home=None) == {os.sep}
    assert protected_paths("", home="") == {os.sep}


def test_an_environment_written_after_the_run_ended_is_kept_as_changed():
    verdict = decide(path="/p/.venv", existed=ABSENT, outcome=CUT_SHORT, now=DIR, changed=True)
    assert verdict == Verdict(KEEP, "changed")


def test_a_changed_environment_that_existed_before_is_kept_as_existed():
    verdict = decide(path="/p/.venv", existed=DIR, outcome=CUT_SHORT, now=DIR, changed=True)
    assert verdict == Verdict(KEEP, "existed")


def test_an_unchanged_environment_of_a_cut_short_run_is_removed():
    verdict = decide(path="/p/.venv", existed=ABSENT, outcome=CUT_SHORT, now=DIR, changed=False)
    assert verdict == Verdict(REMOVE, "created")
