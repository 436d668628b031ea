"""verify.py: what an interrupted run touched in an environment that existed before
is checked against RECORD, and what it left that no tool cleans is swept; nothing
that was there before the run is looked at or touched."""

import os
import time

import pytest

from venvguard import tools, verify

SITE = "lib/python3.11/site-packages"


# --- RECORD ----------------------------------------------------------------------------


def test_parse_record_reads_paths_and_sizes():
    text = "six.py,sha256=abc,34549\nsix-1.16.0.dist-info/RECORD,,\n"
    assert verify.parse_record(text) == [("six.py", 34549), ("six-1.16.0.dist-info/RECORD", None)]


def test_parse_record_reads_quoted_paths_with_commas():
    assert verify.parse_record('"a,b/c.py",sha256=x,12\n') == [("a,b/c.py", 12)]


def test_parse_record_skips_blank_rows_and_takes_an_odd_size_for_none():
    assert verify.parse_record("\n,,\nx.py,,\ny.py,,-3\nz.py\n") == [
        ("x.py", None), ("y.py", None), ("z.py", None)
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pkg/mod.py", "pkg/mod.py"),
        ("./pkg//mod.py", "pkg/mod.py"),
        ("../../../bin/tool", "../../../bin/tool"),  # a console script, at the root's bin/
        ("pkg/../other.py", "other.py"),
        ("/etc/passwd", None),  # absolute: not the environment's
        ("../../../../etc/passwd", None),  # past the root: a RECORD that lies
        ("a/../../../../../x", None),
        (".", None),
        ("", None),
        ("a\0b", None),
    ],
)
def test_inside_keeps_a_record_path_within_the_environment(path, expected):
    assert verify.inside(path) == expected


# --- an environment to check ---------------------------------------------------------


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def install(env, name, version, files, *, record_extra=()):
    """A distribution as an installer leaves it: its files, then RECORD naming them."""
    site = env / SITE
    rows = []
    for rel, text in files.items():
        write(site / rel, text)
        rows.append(f"{rel},sha256=x,{len(text.encode())}")
    info = f"{name}-{version}.dist-info"
    write(site / info / "METADATA", f"Name: {name}\nVersion: {version}\n")
    rows += [*record_extra, f"{info}/METADATA,,", f"{info}/RECORD,,"]
    write(site / info / "RECORD", "\n".join(rows) + "\n")


@pytest.fixture
def env(tmp_path):
    root = tmp_path / "env"
    write(root / "pyvenv.cfg", "home = /usr/bin\n")
    write(root / "bin" / "python")
    (root / SITE).mkdir(parents=True)
    return root


@pytest.fixture
def check(env):
    """check(since, before=None): verify.check on `env` (with the note taken before
    the run, if given), its descriptors closed afterwards."""
    reports = []

    def run(since, before=None):
        fd = os.open(env, os.O_RDONLY | os.O_DIRECTORY)
        try:
            report = verify.check(fd, since, before=before)
        finally:
            os.close(fd)
        reports.append(report)
        return report

    yield run
    for report in reports:
        verify.close(report)


def the_run_starts(root) -> float:
    """A run starts now: the `since` settle would pass (its start less the slack),
    once the clock is far enough past the newest change under `root` for all of it to
    count as before the run (ctime cannot be set back)."""
    newest = max(os.lstat(os.path.join(top, n)).st_ctime
                 for top, dirs, files in os.walk(root) for n in [".", *dirs, *files])
    while time.time() <= newest + 2 * verify.SLACK:
        time.sleep(0.005)
    return time.time() - verify.SLACK


def summary(report):
    return [(d.name, d.version, d.total, d.missing, d.short) for d in report.dists]


def test_a_package_installed_whole_during_the_run_is_whole(env, check):
    since = the_run_starts(env.parent)
    install(env, "six", "1.16.0", {"six.py": "x = 1\n"})

    report = check(since)

    assert summary(report) == [("six", "1.16.0", 3, 0, 0)]
    assert report.broken == []


def test_a_package_with_files_missing_is_broken_and_counted(env, check):
    since = the_run_starts(env.parent)
    install(env, "numpy", "2.4.6", {f"numpy/m{i}.py": "y\n" for i in range(10)})
    for i in range(4):
        os.unlink(env / SITE / "numpy" / f"m{i}.py")

    [dist] = check(since).broken

    assert (dist.name, dist.missing, dist.total) == ("numpy", 4, 12)
    assert dist.damage() == "4 of 12 files missing"


def test_a_file_of_another_size_than_record_says_is_broken(env, check):
    since = the_run_starts(env.parent)
    install(env, "six", "1.16.0", {"six.py": "x = 1\n"})
    (env / SITE / "six.py").write_text("x")  # cut short mid-write

    [dist] = check(since).broken

    assert dist.damage() == "1 of 3 files of the wrong size"


def test_a_console_script_in_bin_is_checked_through_its_dotdot_path(env, check):
    since = the_run_starts(env.parent)
    install(env, "ruff", "0.9", {}, record_extra=["../../../bin/ruff,sha256=x,5"])

    [dist] = check(since).broken

    assert dist.missing == 1
    write(env / "bin" / "ruff", "12345")
    assert check(since).broken == []


def test_a_record_naming_files_outside_the_environment_is_not_believed(env, check, tmp_path):
    since = the_run_starts(env.parent)
    write(tmp_path / "outside.txt", "secret")
    install(env, "liar", "1", {"liar.py": ""},
            record_extra=["/etc/passwd,,1", "../../../../outside.txt,,1", "../../../../gone,,1"])

    report = check(since)

    assert summary(report) == [("liar", "1", 3, 0, 0)]


def test_a_package_not_touched_during_the_run_is_not_checked(env, check):
    install(env, "old", "1.0", {"old.py": "z\n"})
    os.unlink(env / SITE / "old.py")  # broken before the run: not this run's doing
    since = the_run_starts(env.parent)

    assert check(since).dists == []


def test_a_dist_info_without_record_is_not_counted(env, check):
    since = the_run_starts(env.parent)
    write(env / SITE / "half-1.0.dist-info" / "METADATA", "Name: half\n")

    assert check(since).dists == []


# --- leftovers ----------------------------------------------------------------------


def names(entries):
    return [shown for _fd, _name, shown in entries]


def test_uv_temp_files_made_during_the_run_are_leftovers(env, check):
    since = the_run_starts(env.parent)
    install(env, "numpy", "2", {"numpy/core/a.py": "a\n"})
    write(env / SITE / "numpy" / "core" / ".tmpAb12Cd")
    write(env / "bin" / ".tmpXy98Zw")
    write(env / SITE / ".tmpQq11Rr")

    assert names(check(since).leftovers) == [
        f"{SITE}/.tmpQq11Rr", f"{SITE}/numpy/core/.tmpAb12Cd", "bin/.tmpXy98Zw",
    ]


def test_a_uv_temp_beside_the_first_file_of_a_directory_is_a_leftover(env, check):
    """Cut short while writing the first file of a directory: none of its files is
    there yet, only the temp."""
    since = the_run_starts(env.parent)
    install(env, "numpy", "2", {"numpy/a.py": "a\n", "numpy/linalg/b.py": "b\n"})
    os.unlink(env / SITE / "numpy" / "linalg" / "b.py")
    write(env / SITE / "numpy" / "linalg" / ".tmpAb12Cd")

    assert names(check(since).leftovers) == [f"{SITE}/numpy/linalg/.tmpAb12Cd"]


def test_pip_temp_files_in_a_touched_dist_info_are_leftovers(env, check):
    since = the_run_starts(env.parent)
    install(env, "six", "1", {"six.py": ""})
    write(env / SITE / "six-1.dist-info" / "RECORDk3j2h1.tmp")

    assert names(check(since).leftovers) == [f"{SITE}/six-1.dist-info/RECORDk3j2h1.tmp"]


@pytest.mark.parametrize("name", [".tmpshort", ".tmpwaytoolong1", ".tmp-bad!!", "x.tmp"])
def test_names_that_are_not_uv_temps_are_not_leftovers(env, check, name):
    since = the_run_starts(env.parent)
    write(env / "bin" / name)

    assert check(since).leftovers == []


def test_temp_files_from_before_the_run_are_not_leftovers(env, check):
    write(env / "bin" / ".tmpAb12Cd")
    write(env / SITE / "~ld")
    since = the_run_starts(env.parent)

    report = check(since)

    assert report.leftovers == [] and report.stashes == []


def test_a_pip_stash_made_during_the_run_is_a_stash(env, check):
    write(env / SITE / "numpy" / "a.py")
    since = the_run_starts(env.parent)
    os.rename(env / SITE / "numpy", env / SITE / "~umpy")  # pip's stash: a rename

    assert names(check(since).stashes) == [f"{SITE}/~umpy"]


# --- the sweep ------------------------------------------------------------------------


def test_the_sweep_removes_the_leftovers_and_says_which(env, check):
    since = the_run_starts(env.parent)
    install(env, "six", "1", {"six.py": ""})
    write(env / "bin" / ".tmpAb12Cd")
    write(env / SITE / "~ix.py")  # pip's stash of the six.py it replaced

    report = check(since)
    swept = verify.sweep(report)

    assert swept == ["bin/.tmpAb12Cd", f"{SITE}/~ix.py"]
    assert not (env / "bin" / ".tmpAb12Cd").exists()
    assert not (env / SITE / "~ix.py").exists()
    assert (env / SITE / "six.py").exists()
    assert report.unswept == []


def test_the_sweep_removes_the_stashed_dist_info_of_a_version_replaced_whole(env, check):
    since = the_run_starts(env.parent)
    install(env, "numpy", "2.4.0", {"numpy/a.py": "a\n"})
    write(env / SITE / "~umpy" / "a.py")
    write(env / SITE / "~umpy-2.3.5.dist-info" / "RECORD")

    assert verify.sweep(check(since)) == [f"{SITE}/~umpy", f"{SITE}/~umpy-2.3.5.dist-info"]


def test_the_sweep_keeps_a_stash_while_a_touched_package_is_broken(env, check):
    """The stash may hold the only whole copy of that package: the repair first."""
    write(env / SITE / "numpy" / "old.py")
    since = the_run_starts(env.parent)
    os.rename(env / SITE / "numpy", env / SITE / "~umpy")
    install(env, "numpy", "2", {"numpy/new.py": "n\n"})
    os.unlink(env / SITE / "numpy" / "new.py")

    report = check(since)
    swept = verify.sweep(report)

    assert swept == []
    assert (env / SITE / "~umpy" / "old.py").exists()
    assert report.unswept == ["~umpy"]


def test_the_sweep_keeps_a_stash_no_whole_package_replaces(env, check):
    """pip cut short after moving the old version aside, before writing any of the
    new one (or while uninstalling): the stash is the only copy there is."""
    write(env / SITE / "numpy" / "old.py")
    write(env / SITE / "numpy-1.0.dist-info" / "RECORD", "numpy/old.py,,0\n")
    since = the_run_starts(env.parent)
    os.rename(env / SITE / "numpy", env / SITE / "~umpy")
    os.rename(env / SITE / "numpy-1.0.dist-info", env / SITE / "~umpy-1.0.dist-info")

    report = check(since)

    assert verify.sweep(report) == []
    assert report.unswept == ["~umpy", "~umpy-1.0.dist-info"]
    assert (env / SITE / "~umpy" / "old.py").exists()


def test_the_sweep_removes_a_linked_stash_not_what_it_points_to(env, check, tmp_path):
    victim = tmp_path / "victim"
    write(victim / "precious.txt", "keep me")
    since = the_run_starts(env.parent)
    install(env, "evil", "1", {"evil/__init__.py": ""})
    os.symlink(victim, env / SITE / "~vil")

    assert verify.sweep(check(since)) == [f"{SITE}/~vil"]

    assert not os.path.lexists(env / SITE / "~vil")
    assert (victim / "precious.txt").read_text() == "keep me"


def test_a_linked_bin_is_not_looked_into(env, check, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    since = the_run_starts(env.parent)
    write(elsewhere / ".tmpAb12Cd")
    os.rename(env / "bin", tmp_path / "real-bin")
    os.symlink(elsewhere, env / "bin")

    assert check(since).leftovers == []
    assert (elsewhere / ".tmpAb12Cd").exists()


# --- the repair command ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "shape", "expected"),
    [
        (["uv", "sync"], "uv",
         "uv sync --reinstall-package numpy --reinstall-package six"),
        (["/usr/bin/uv", "--project", "venv", "add", "x"], "uv",
         "uv sync --reinstall-package numpy --reinstall-package six"),
        (["uv", "venv", "my env"], "uv",
         "uv pip install --reinstall --no-deps --python 'my env' numpy==2.4.6 six==1.16"),
        (["python3", "-m", "venv", ".venv"], "venv",
         ".venv/bin/python -m pip install --force-reinstall --no-deps numpy==2.4.6 six==1.16"),
    ],
)
def test_the_repair_reinstalls_only_the_broken_packages_the_way_of_the_tool(
    argv, shape, expected
):
    env = "my env" if "my env" in argv else ".venv"
    assert tools.reinstall(argv, shape, env, [("numpy", "2.4.6"), ("six", "1.16")]) == expected


# --- what appeared: the note taken before the run -------------------------------------


def test_the_note_lists_the_top_of_each_site_packages(env):
    write(env / SITE / "six.py")
    write(env / "lib" / "python3.12" / "site-packages" / "attr" / "__init__.py")

    assert verify.note(str(env)) == {
        SITE: frozenset({"six.py"}),
        "lib/python3.12/site-packages": frozenset({"attr"}),
    }


def test_the_note_of_a_linked_environment_is_none(env, tmp_path):
    os.symlink(env, tmp_path / "link")
    assert verify.note(str(tmp_path / "link")) is None


def test_a_package_that_appeared_without_a_dist_info_is_unclaimed(env, check):
    """pip cut short writing a new package before its .dist-info: it shadows imports."""
    before = verify.note(str(env))
    since = the_run_starts(env.parent)
    write(env / SITE / "halfpkg" / "__init__.py")

    assert names(check(since, before=before).unclaimed) == [f"{SITE}/halfpkg"]


def test_a_package_that_was_there_before_is_not_unclaimed(env, check):
    write(env / SITE / "oldpkg" / "__init__.py")
    before = verify.note(str(env))
    since = the_run_starts(env.parent)
    write(env / SITE / "oldpkg" / "new.py")  # changed during the run, but not new

    assert check(since, before=before).unclaimed == []


def test_a_new_package_its_distribution_claims_is_not_unclaimed(env, check):
    before = verify.note(str(env))
    since = the_run_starts(env.parent)
    install(env, "newpkg", "1", {"newpkg/__init__.py": ""})

    assert check(since, before=before).unclaimed == []


@pytest.mark.parametrize("name", ["__pycache__", "not-a-package", "mod.py"])
def test_what_appeared_but_is_no_package_directory_is_not_unclaimed(env, check, name):
    before = verify.note(str(env))
    since = the_run_starts(env.parent)
    if name.endswith(".py"):
        write(env / SITE / name)
    else:
        write(env / SITE / name / "x.pyc")

    assert check(since, before=before).unclaimed == []


def test_without_a_note_nothing_is_taken_for_appeared(env, check):
    """An orphan settled later has no note: a new package directory is left."""
    since = the_run_starts(env.parent)
    write(env / SITE / "halfpkg" / "__init__.py")

    assert check(since).unclaimed == []


def test_the_sweep_removes_an_unclaimed_package_only_when_asked(env, check):
    before = verify.note(str(env))
    since = the_run_starts(env.parent)
    write(env / SITE / "halfpkg" / "__init__.py")

    assert verify.sweep(check(since, before=before), unclaimed=False) == []
    assert (env / SITE / "halfpkg").is_dir()
    assert verify.sweep(check(since, before=before)) == [f"{SITE}/halfpkg"]
    assert not (env / SITE / "halfpkg").exists()
