"""decision.decide, decision.shape_problem, decision.classify and
decision.protected_paths: the rules that say what happens to an environment once a
guarded run has ended.

The expected tables are written out here from the policy (README.md, "The policy":
never remove what existed before, a link or what it points to, the current directory
or its parents, $HOME, a directory holding something no environment tool writes, a
path another live run uses; when unsure, keep) and from decide()'s docstring, not
computed by calling the function. Removal is an allowlist: only a directory shaped
like what its tool writes (or a small redirect file) is ever removed."""

import itertools
import os

import pytest

from venvguard import decision
from venvguard.decision import (
    ABSENT,
    ANY_FAILURE,
    CUT_SHORT,
    DIR,
    FAILED,
    FILE,
    FINISHED,
    INTERRUPT_ONLY,
    INTERRUPTED,
    KEEP,
    NOTHING,
    OTHER,
    REDIRECT,
    REDIRECT_MAX,
    REMOVE,
    SIGNAL_DEATH,
    SYMLINK,
    UNKNOWN,
    UNLINK,
    Disk,
    Verdict,
    classify,
    decide,
    protected_paths,
)

KINDS = (ABSENT, DIR, SYMLINK, FILE, OTHER)
OUTCOMES = (FINISHED, FAILED, INTERRUPTED, CUT_SHORT, UNKNOWN)
UNFINISHED = (FAILED, INTERRUPTED, CUT_SHORT)
ENV_SHAPES = ("uv", "venv", "virtualenv", "tox")

# The allowlist, spelled out: every top-level name an environment may hold, and what
# each tool writes before pyvenv.cfg (so may leave when cut that early).
ENVIRONMENT_NAMES = frozenset({
    "pyvenv.cfg", "bin", "lib", "lib64", "include", "share", "etc", "man", "src",
    ".gitignore", "CACHEDIR.TAG", ".lock", ".project",
})  # fmt: skip
BEFORE_PYVENV_CFG = {
    "uv": frozenset({"CACHEDIR.TAG", ".gitignore", "bin", "lib", "lib64", "include"}),
    "venv": frozenset({"bin", "include", "lib", "lib64"}),
    "virtualenv": frozenset({"bin", "include", "lib", "lib64", "CACHEDIR.TAG", ".gitignore"}),
    # tox makes log/ and tmp/ before virtualenv runs, and writes .tox-info.json
    "tox": frozenset({"bin", "include", "lib", "lib64", "CACHEDIR.TAG", ".gitignore",
                      "log", "tmp", ".tox-info.json", "file.lock"}),
}

WHOLE_ENV = Disk(DIR, names=frozenset({"pyvenv.cfg", "bin", "lib", "include"}), pyvenv_cfg=True)
SMALL_REDIRECT = Disk(FILE, size=42)


def created(shape="venv", disk=WHOLE_ENV, **flags):
    """decide() for a target the run made, of a run that was interrupted."""
    return decide(existed=ABSENT, outcome=INTERRUPTED, shape=shape, disk=disk, **flags)


def env_dir(*names, pyvenv_cfg=None, has_files=False, mine=True):
    """A directory holding these top-level names (pyvenv.cfg a regular file if named)."""
    names = frozenset(names)
    if pyvenv_cfg is None:
        pyvenv_cfg = "pyvenv.cfg" in names
    return Disk(DIR, names=names, pyvenv_cfg=pyvenv_cfg, has_files=has_files, mine=mine)


def subsets(names):
    """Every non-empty subset of `names`."""
    names = sorted(names)
    return [frozenset(c) for n in range(1, len(names) + 1)
            for c in itertools.combinations(names, n)]


def test_the_allowlist_is_the_one_the_policy_spells_out():
    """A name added to (or dropped from) what may be removed is a policy change, to
    be made here too on purpose."""
    assert decision.ENV_ENTRIES == ENVIRONMENT_NAMES
    assert decision.EARLY_ENTRIES == BEFORE_PYVENV_CFG
    assert REDIRECT_MAX == 4096


# --- the whole table, for an ordinary target ----------------------------------------
#
# One grid per outcome: a row per `existed`, a column per what is there now:
#   absent, a whole environment (dir), a symlink, a small file, something else.
#   N = nothing, K = keep, R = remove, U = unlink; after the colon, the reason.
#   now:                 absent      dir              symlink            file               other
ENV_GRID = {
    FINISHED: {
        ABSENT:  ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        DIR:     ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        SYMLINK: ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        FILE:    ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        OTHER:   ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
    },
    # A failed run made it: remove it (a link is kept, what it points to untouched).
    # One that existed before is left silently: tools fail before touching it on
    # ordinary errors.
    FAILED: {
        ABSENT:  ["N:absent", "R:created", "K:link", "K:not-a-directory", "K:not-a-directory"],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
    INTERRUPTED: {
        ABSENT:  ["N:absent", "R:created", "K:link", "K:not-a-directory", "K:not-a-directory"],
        DIR:     ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        SYMLINK: ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        FILE:    ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
        OTHER:   ["N:absent", "K:existed", "K:existed", "K:existed", "K:existed"],
    },
    CUT_SHORT: {
        ABSENT:  ["N:absent", "R:created", "K:link", "K:not-a-directory", "K:not-a-directory"],
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

# virtualenv's `.venv` redirect: only a small regular file is ever unlinked, and one
# that was there before is left silently (virtualenv leaves one it finds).
NO_REDIRECT = "K:not-a-redirect"
REDIRECT_GRID = {
    FINISHED: {
        ABSENT:  ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        DIR:     ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        SYMLINK: ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        FILE:    ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
        OTHER:   ["N:finished", "N:finished", "N:finished", "N:finished", "N:finished"],
    },
    FAILED: {
        ABSENT:  ["N:absent", NO_REDIRECT, NO_REDIRECT, "U:created", NO_REDIRECT],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
    INTERRUPTED: {
        ABSENT:  ["N:absent", NO_REDIRECT, NO_REDIRECT, "U:created", NO_REDIRECT],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
    CUT_SHORT: {
        ABSENT:  ["N:absent", NO_REDIRECT, NO_REDIRECT, "U:created", NO_REDIRECT],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
    UNKNOWN: {
        ABSENT:  ["N:absent", "K:unknown", "K:unknown", "K:unknown", "K:unknown"],
        DIR:     ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        SYMLINK: ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        FILE:    ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
        OTHER:   ["N:absent", "N:existed", "N:existed", "N:existed", "N:existed"],
    },
}  # fmt: skip
NOW = {
    ABSENT: Disk(ABSENT), DIR: WHOLE_ENV, SYMLINK: Disk(SYMLINK), FILE: SMALL_REDIRECT,
    OTHER: Disk(OTHER),
}
ACTIONS = {"N": NOTHING, "K": KEEP, "R": REMOVE, "U": UNLINK}


def _table(grid, shapes):
    for shape in shapes:
        for outcome, rows in grid.items():
            for existed, cells in rows.items():
                for now, cell in zip(KINDS, cells, strict=True):
                    action, reason = cell.split(":")
                    yield pytest.param(
                        shape, outcome, existed, now, Verdict(ACTIONS[action], reason),
                        id=f"{shape}-{outcome}-existed_{existed}-now_{now}",
                    )


@pytest.mark.parametrize("grid", [ENV_GRID, REDIRECT_GRID], ids=["env", "redirect"])
def test_each_table_covers_every_outcome_existed_and_now_combination(grid):
    combos = {(p.values[1], p.values[2], p.values[3]) for p in _table(grid, ["any"])}
    assert len(combos) == len(OUTCOMES) * len(KINDS) * len(KINDS) == 125


@pytest.mark.parametrize(
    ("shape", "outcome", "existed", "now", "expected"),
    [*_table(ENV_GRID, ENV_SHAPES), *_table(REDIRECT_GRID, [REDIRECT])],
)
def test_decide_follows_the_table_for_an_ordinary_target(shape, outcome, existed, now, expected):
    assert decide(existed=existed, outcome=outcome, shape=shape, disk=NOW[now]) == expected


# --- each reason, on its own -----------------------------------------------------------


@pytest.mark.parametrize("existed", KINDS)
def test_a_finished_run_leaves_everything_and_says_nothing(existed):
    for disk in NOW.values():
        verdict = decide(existed=existed, outcome=FINISHED, shape="uv", disk=disk)
        assert verdict == Verdict(NOTHING, "finished")


def test_a_finished_run_is_left_alone_even_on_a_protected_busy_unplanned_path():
    verdict = decide(existed=ABSENT, outcome=FINISHED, shape="uv", disk=WHOLE_ENV,
                     protected=True, busy=True, planned=False, parent_moved=True)
    assert verdict == Verdict(NOTHING, "finished")


@pytest.mark.parametrize("existed", KINDS)
@pytest.mark.parametrize("outcome", (*UNFINISHED, UNKNOWN))
def test_a_target_that_is_gone_needs_nothing(existed, outcome):
    verdict = decide(existed=existed, outcome=outcome, shape="venv", disk=Disk(ABSENT))
    assert verdict == Verdict(NOTHING, "absent")


@pytest.mark.parametrize("outcome", (INTERRUPTED, CUT_SHORT, UNKNOWN))
def test_an_environment_that_existed_before_is_kept_and_reported_after_an_interrupt(outcome):
    verdict = decide(existed=DIR, outcome=outcome, shape="uv", disk=WHOLE_ENV)
    assert verdict == Verdict(KEEP, "existed")


def test_an_environment_that_existed_before_is_left_silently_after_a_plain_failure():
    """Tools fail before touching an environment on ordinary errors (a bad option, a
    resolution error): nothing is worth saying."""
    verdict = decide(existed=DIR, outcome=FAILED, shape="uv", disk=WHOLE_ENV)
    assert verdict == Verdict(NOTHING, "existed")


@pytest.mark.parametrize("outcome", (*UNFINISHED, UNKNOWN))
def test_a_redirect_that_existed_before_is_left_silently(outcome):
    """virtualenv leaves a redirect it finds as it is."""
    verdict = decide(existed=FILE, outcome=outcome, shape=REDIRECT, disk=SMALL_REDIRECT)
    assert verdict == Verdict(NOTHING, "existed")


def test_a_changed_environment_that_existed_before_is_kept_as_existed():
    verdict = decide(existed=DIR, outcome=CUT_SHORT, shape="uv", disk=WHOLE_ENV, changed=True)
    assert verdict == Verdict(KEEP, "existed")


def test_a_target_the_runs_own_command_does_not_name_is_kept():
    """A forged or damaged journal entry must not steer a removal."""
    assert created(planned=False) == Verdict(KEEP, "unplanned")


@pytest.mark.parametrize("outcome", UNFINISHED)
def test_a_protected_path_is_never_removed(outcome):
    """The current directory, its parents, $HOME and /."""
    verdict = decide(existed=ABSENT, outcome=outcome, shape="venv", disk=WHOLE_ENV,
                     protected=True)
    assert verdict == Verdict(KEEP, "protected")


def test_a_target_whose_parent_was_moved_during_the_run_is_kept():
    assert created(parent_moved=True) == Verdict(KEEP, "parent-moved")


def test_a_path_another_live_run_is_using_is_kept():
    assert created(busy=True) == Verdict(KEEP, "busy")


def test_an_environment_written_after_the_run_ended_is_kept_as_changed():
    verdict = decide(existed=ABSENT, outcome=CUT_SHORT, shape="uv", disk=WHOLE_ENV,
                     changed=True)
    assert verdict == Verdict(KEEP, "changed")


def test_an_unchanged_environment_of_a_cut_short_run_is_removed():
    verdict = decide(existed=ABSENT, outcome=CUT_SHORT, shape="uv", disk=WHOLE_ENV,
                     changed=False)
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("shape", (*ENV_SHAPES, REDIRECT))
def test_a_run_that_may_have_finished_keeps_what_it_made(shape):
    disk = SMALL_REDIRECT if shape == REDIRECT else WHOLE_ENV
    verdict = decide(existed=ABSENT, outcome=UNKNOWN, shape=shape, disk=disk)
    assert verdict == Verdict(KEEP, "unknown")


@pytest.mark.parametrize("shape", (*ENV_SHAPES, REDIRECT))
def test_what_belongs_to_another_user_is_kept(shape):
    disk = Disk(FILE, size=42, mine=False) if shape == REDIRECT else env_dir(
        "pyvenv.cfg", "bin", mine=False)
    assert created(shape, disk) == Verdict(KEEP, "not-mine")


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_a_symlink_at_the_target_is_kept_never_followed(shape):
    """Whatever it points to is not the run's half-made environment."""
    assert created(shape, Disk(SYMLINK)) == Verdict(KEEP, "link")


@pytest.mark.parametrize("shape", ENV_SHAPES)
@pytest.mark.parametrize("kind", (FILE, OTHER))
def test_a_target_that_is_not_a_directory_is_kept(shape, kind):
    assert created(shape, Disk(kind, size=10)) == Verdict(KEEP, "not-a-directory")


@pytest.mark.parametrize(
    "disk",
    [Disk(DIR), WHOLE_ENV, Disk(SYMLINK), Disk(OTHER), Disk(FILE, size=REDIRECT_MAX + 1)],
    ids=["empty-dir", "environment", "symlink", "other", "large-file"],
)
def test_a_redirect_target_that_is_not_a_small_file_is_kept(disk):
    assert created(REDIRECT, disk) == Verdict(KEEP, "not-a-redirect")


@pytest.mark.parametrize(
    "name",
    [".git", "pyproject.toml", "setup.py", "uv.lock", "poetry.lock", "README.md", "main.py",
     "node_modules", ".hg", "data", "-rf", "a\nb", "\udcff", "BIN", "Lib", "bin ",
     ".venvguard-removing-abc-0"],
)
@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_a_directory_holding_a_name_no_environment_tool_writes_is_kept_and_named(shape, name):
    """The allowlist is exact and case-sensitive; the name is told to the user."""
    verdict = created(shape, env_dir("pyvenv.cfg", "bin", "lib", name))
    assert verdict == Verdict(KEEP, "foreign", name)


def test_of_several_foreign_names_the_first_in_sorted_order_is_named():
    verdict = created("uv", env_dir("pyvenv.cfg", "zeta", "bin", "alpha", "mid"))
    assert verdict == Verdict(KEEP, "foreign", "alpha")


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_a_foreign_name_keeps_a_directory_without_pyvenv_cfg_as_foreign(shape):
    """What is certainly not the tool's is said, rather than the missing file."""
    assert created(shape, env_dir("bin", ".git")) == Verdict(KEEP, "foreign", ".git")


@pytest.mark.parametrize(
    ("shape", "name"),
    [(shape, name) for shape in ENV_SHAPES
     for name in sorted(ENVIRONMENT_NAMES - BEFORE_PYVENV_CFG[shape] - {"pyvenv.cfg"})],
)
def test_a_name_the_tool_writes_only_after_pyvenv_cfg_is_kept_without_it(shape, name):
    """Without pyvenv.cfg, only what the tool writes before it counts as its own."""
    verdict = created(shape, env_dir("bin", name))
    assert verdict == Verdict(KEEP, "no-pyvenv-cfg")


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_a_pyvenv_cfg_that_is_not_a_regular_file_does_not_count(shape):
    """A pyvenv.cfg directory or link is not the tool's marker."""
    verdict = created(shape, env_dir("pyvenv.cfg", "bin", pyvenv_cfg=False))
    assert verdict == Verdict(KEEP, "no-pyvenv-cfg")


def test_venvs_early_shape_holding_a_file_is_kept():
    """`python -m venv` writes only directories before pyvenv.cfg: a file among them
    was written by someone else."""
    for names in subsets(BEFORE_PYVENV_CFG["venv"]):
        verdict = created("venv", env_dir(*names, has_files=True))
        assert verdict == Verdict(KEEP, "no-pyvenv-cfg"), names


# --- what is removed ------------------------------------------------------------------


@pytest.mark.parametrize("outcome", UNFINISHED)
@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_an_environment_the_run_made_is_removed_when_the_run_did_not_finish(outcome, shape):
    verdict = decide(existed=ABSENT, outcome=outcome, shape=shape, disk=WHOLE_ENV)
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_an_environment_holding_every_allowed_name_is_removed(shape):
    verdict = created(shape, env_dir(*ENVIRONMENT_NAMES, has_files=True))
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_an_empty_directory_is_removed_for_every_shape(shape):
    """The tool made the directory and was stopped before writing anything into it."""
    assert created(shape, Disk(DIR)) == Verdict(REMOVE, "created")


def test_venvs_early_shape_of_directories_only_is_removed():
    for names in subsets(BEFORE_PYVENV_CFG["venv"]):
        verdict = created("venv", env_dir(*names, has_files=False))
        assert verdict == Verdict(REMOVE, "created"), names


def test_uvs_early_shape_with_cachedir_tag_and_bin_is_removed():
    verdict = created("uv", env_dir("CACHEDIR.TAG", "bin", has_files=True))
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("shape", ("uv", "virtualenv"))
def test_every_early_shape_of_uv_and_virtualenv_is_removed_files_and_all(shape):
    """uv and virtualenv write CACHEDIR.TAG and .gitignore (files) before pyvenv.cfg."""
    for names in subsets(BEFORE_PYVENV_CFG[shape]):
        for has_files in (False, True):
            verdict = created(shape, env_dir(*names, has_files=has_files))
            assert verdict == Verdict(REMOVE, "created"), (names, has_files)


def test_cachedir_tag_without_pyvenv_cfg_is_not_venvs_early_shape():
    verdict = created("venv", env_dir("bin", "CACHEDIR.TAG", has_files=True))
    assert verdict == Verdict(KEEP, "no-pyvenv-cfg")


def test_files_below_do_not_matter_once_pyvenv_cfg_is_there():
    verdict = created("venv", env_dir("pyvenv.cfg", "bin", has_files=True))
    assert verdict == Verdict(REMOVE, "created")


@pytest.mark.parametrize("size", [0, 1, REDIRECT_MAX])
def test_a_small_redirect_file_the_run_made_is_unlinked(size):
    assert created(REDIRECT, Disk(FILE, size=size)) == Verdict(UNLINK, "created")


# --- which reason wins when several hold ------------------------------------------------

# Base: a whole environment an interrupted run made, which is removed. Each step adds
# one reason to keep; a reason earlier in the list wins over every later one. Later
# steps are applied first, so where two set the same input, the earlier one's value
# stands (finished and unknown both set the outcome, for instance).
ENV_PRECEDENCE = [
    ("finished", {"outcome": FINISHED}, NOTHING, ""),
    ("absent", {"kind": ABSENT}, NOTHING, ""),
    ("existed", {"existed": DIR}, KEEP, ""),
    ("unplanned", {"planned": False}, KEEP, ""),
    ("protected", {"protected": True}, KEEP, ""),
    ("parent-moved", {"parent_moved": True}, KEEP, ""),
    ("busy", {"busy": True}, KEEP, ""),
    ("changed", {"changed": True}, KEEP, ""),
    ("unknown", {"outcome": UNKNOWN}, KEEP, ""),
    ("not-mine", {"mine": False}, KEEP, ""),
    ("link", {"kind": SYMLINK}, KEEP, ""),
    ("not-a-directory", {"kind": FILE}, KEEP, ""),
    ("foreign", {"names": {"bin", ".git"}}, KEEP, ".git"),
    ("no-pyvenv-cfg", {"names": {"bin", "share"}, "pyvenv_cfg": False}, KEEP, ""),
]
REDIRECT_PRECEDENCE = [
    *[(r, s, NOTHING if r == "existed" else a, d) for r, s, a, d in ENV_PRECEDENCE[:10]],
    ("not-a-redirect", {"kind": DIR}, KEEP, ""),
]


def _with_reasons(shape, steps):
    inputs = {
        "existed": ABSENT, "outcome": INTERRUPTED, "protected": False, "busy": False,
        "changed": False, "parent_moved": False, "planned": True,
        "kind": FILE if shape == REDIRECT else DIR, "names": {"pyvenv.cfg", "bin", "lib"},
        "pyvenv_cfg": shape != REDIRECT, "mine": True,
    }
    for _reason, step, _action, _detail in reversed(steps):
        inputs.update(step)
    disk = Disk(inputs.pop("kind"), names=frozenset(inputs.pop("names")),
                pyvenv_cfg=inputs.pop("pyvenv_cfg"), mine=inputs.pop("mine"), size=42)
    return decide(shape=shape, disk=disk, **inputs)


def _precedence():
    for shape, chain in [("venv", ENV_PRECEDENCE), ("uv", ENV_PRECEDENCE),
                         (REDIRECT, REDIRECT_PRECEDENCE)]:
        for i, (reason, _step, action, detail) in enumerate(chain):
            yield pytest.param(shape, chain[i:], Verdict(action, reason, detail),
                               id=f"{shape}-{reason}")


def test_with_no_reason_to_keep_the_base_case_is_removed():
    assert _with_reasons("venv", []) == Verdict(REMOVE, "created")
    assert _with_reasons(REDIRECT, []) == Verdict(UNLINK, "created")


@pytest.mark.parametrize(("shape", "steps", "expected"), list(_precedence()))
def test_a_reason_wins_over_every_reason_after_it(shape, steps, expected):
    assert _with_reasons(shape, steps) == expected


@pytest.mark.parametrize(("shape", "steps", "expected"), list(_precedence()))
def test_each_reason_alone_is_the_one_given(shape, steps, expected):
    assert _with_reasons(shape, steps[:1]) == expected


def test_a_symlink_is_kept_as_a_link_whatever_names_are_recorded_for_it():
    assert created("uv", Disk(SYMLINK, names=frozenset({".git"}))) == Verdict(KEEP, "link")


# --- shape_problem --------------------------------------------------------------------


@pytest.mark.parametrize("shape", ENV_SHAPES)
def test_shape_problem_is_none_for_a_whole_environment(shape):
    assert decision.shape_problem(shape, WHOLE_ENV) is None


def test_shape_problem_says_why_a_directory_is_not_an_environment():
    assert decision.shape_problem("uv", env_dir("pyvenv.cfg", "x")) == Verdict(KEEP, "foreign", "x")
    assert decision.shape_problem(REDIRECT, Disk(DIR)) == Verdict(KEEP, "not-a-redirect")


def test_verdicts_compare_by_action_reason_and_detail():
    assert Verdict(KEEP, "busy") == Verdict(KEEP, "busy", "")
    assert Verdict(KEEP, "busy") != Verdict(KEEP, "existed")
    assert Verdict(KEEP, "foreign", ".git") != Verdict(KEEP, "foreign", "setup.py")
    assert Verdict(KEEP, "busy") != (KEEP, "busy")
    assert repr(Verdict(REMOVE, "created")) == "Verdict('remove', 'created', '')"


# --- classify ---------------------------------------------------------------------------

# (exit code, died of a signal, signals seen by the supervisor) -> outcome, per policy.
# A signal death has no exit code: the supervisor passes -1 then; 0/1/2 are listed for
# completeness (classify must not let an exit code hide a signal death).
CLASSIFY = [
    # exit died  seen   ANY_FAILURE   SIGNAL_DEATH  INTERRUPT_ONLY
    (0, False, False, FINISHED, FINISHED, FINISHED),
    (0, False, True, FINISHED, FINISHED, FINISHED),  # the tool shrugged the Ctrl-C off and finished
    (0, True, False, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (0, True, True, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (1, False, False, FAILED, FINISHED, FINISHED),  # tox: a test failed
    (1, False, True, INTERRUPTED, FINISHED, INTERRUPTED),  # pip, poetry: catch SIGINT, exit 1
    (1, True, False, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (1, True, True, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (2, False, False, FAILED, FINISHED, FINISHED),
    (2, False, True, INTERRUPTED, FINISHED, INTERRUPTED),
    (2, True, False, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (2, True, True, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    # -1: as the supervisor calls it for a signal
    (-1, True, False, INTERRUPTED, INTERRUPTED, INTERRUPTED),
    (-1, True, True, INTERRUPTED, INTERRUPTED, INTERRUPTED),
]


@pytest.mark.parametrize(
    ("exit_code", "died", "seen", "policy", "expected"),
    [
        pytest.param(code, died, seen, policy, expected,
                     id=f"exit{code}-died_{died}-seen_{seen}-{policy}")
        for code, died, seen, any_failure, signal_death, interrupt_only in CLASSIFY
        for policy, expected in ((ANY_FAILURE, any_failure), (SIGNAL_DEATH, signal_death),
                                 (INTERRUPT_ONLY, interrupt_only))
    ],
)
def test_classify_tells_how_the_run_ended(exit_code, died, seen, policy, expected):
    outcome = classify(exit_code=exit_code, died_of_signal=died, signals_seen=seen,
                       policy=policy)
    assert outcome == expected


def test_the_policies_are_any_failure_signal_death_and_interrupt_only():
    assert {ANY_FAILURE, SIGNAL_DEATH, INTERRUPT_ONLY} == decision.POLICIES


def test_a_tool_that_catches_ctrl_c_and_exits_1_counts_as_interrupted():
    assert classify(exit_code=1, died_of_signal=False, signals_seen=True,
                    policy=ANY_FAILURE) == INTERRUPTED


def test_a_plain_non_zero_exit_counts_as_failed_under_any_failure():
    assert classify(exit_code=3, died_of_signal=False, signals_seen=False,
                    policy=ANY_FAILURE) == FAILED


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


def test_protected_paths_hold_every_given_directory_and_its_parents():
    """The run's directory, the current one and $HOME are passed together."""
    assert protected_paths("/w/p", "/a/c/d", "/home/u") == {
        "/", "/w", "/w/p", "/a", "/a/c", "/a/c/d", "/home", "/home/u",
    }


def test_protected_paths_share_common_parents():
    assert protected_paths("/a/b", "/a/c") == {"/", "/a", "/a/b", "/a/c"}


def test_protected_paths_do_not_hold_children_or_siblings():
    protected = protected_paths("/a/b", "/home/u")
    for path in ("/a/b/.venv", "/a/c", "/a/bb", "/home/u/.venv", "/home/v"):
        assert path not in protected


def test_protected_paths_skip_missing_directories_and_always_hold_the_root():
    """A deleted current directory (None) or an unset $HOME adds nothing; / is
    protected even when nothing is given."""
    assert protected_paths() == {os.sep}
    assert protected_paths(None) == {os.sep}
    assert protected_paths("", None) == {os.sep}
    assert protected_paths(None, "/w") == {"/", "/w"}


def test_the_root_directory_is_protected_when_given():
    assert protected_paths("/") == {"/"}


# --- a conda prefix (conda, mamba, micromamba, pixi): path rules only -----------------

CONDA_PREFIX = ("conda-meta", "bin", "lib", "include", "share", "ssl", "etc")


def test_a_conda_prefix_the_run_made_is_removed():
    assert created("conda", env_dir(*CONDA_PREFIX, has_files=True)) == Verdict(REMOVE, "created")


def test_an_empty_conda_prefix_the_run_made_is_removed():
    assert created("conda", env_dir()) == Verdict(REMOVE, "created")


def test_a_conda_prefix_without_conda_meta_is_kept():
    assert created("conda", env_dir("bin", "lib", has_files=True)) == \
        Verdict(KEEP, "no-conda-meta")


@pytest.mark.parametrize("name", [".git", "pyproject.toml", "pyvenv.cfg", "src", "notes"])
def test_a_conda_prefix_holding_anything_but_the_prefix_layout_is_kept(name):
    assert created("conda", env_dir(*CONDA_PREFIX, name)) == Verdict(KEEP, "foreign", name)


@pytest.mark.parametrize("kind", [SYMLINK, FILE])
def test_a_conda_target_that_is_not_a_directory_is_kept(kind):
    verdict = created("conda", Disk(kind))
    assert verdict.action == KEEP


def test_a_conda_prefix_that_existed_before_is_never_removed():
    verdict = decide(existed=DIR, outcome=INTERRUPTED, shape="conda",
                     disk=env_dir(*CONDA_PREFIX, has_files=True))
    assert verdict.action != REMOVE
