"""tools/conda.py: which conda, mamba and micromamba calls are guarded, and the one
environment prefix each changes, by conda's own rules (conda/base/context.py,
conda/base/constants.py SEARCH_PATH) and mamba's documentation (path rules only: none
of these tools is installable here).

Every test builds its own conda install in tmp_path: a root with conda-meta/history
and bin/python, and a bin/conda script whose shebang names that python, on a PATH
given in the environment; HOME and XDG_CONFIG_HOME point into tmp_path, and the
system condarc locations (/etc/conda, /var/lib/conda) are moved there too, so no
real configuration can ever matter."""

import os

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE
from venvguard.tools import conda


@pytest.fixture(autouse=True)
def system_dirs(tmp_path, monkeypatch):
    """/etc/conda and /var/lib/conda, moved under tmp_path/sys."""
    base = tmp_path / "sys"

    def moved(locations):
        return tuple(f"{base}{x}" if x.startswith(("/etc/", "/var/")) else x
                     for x in locations)

    monkeypatch.setattr(conda, "SEARCH_PATH", moved(conda.SEARCH_PATH))
    monkeypatch.setattr(conda, "MAMBA_EXTRA", moved(conda.MAMBA_EXTRA))
    return base


def make_root(path, *, history=True, envs=True):
    """A conda install's root prefix: conda-meta (with a history file: the root is
    writable), bin/python and an envs directory."""
    (path / "conda-meta").mkdir(parents=True)
    if history:
        (path / "conda-meta" / "history").write_text("")
    (path / "bin").mkdir()
    (path / "bin" / "python").write_text("")
    if envs:
        (path / "envs").mkdir()
    return path


def script(path, first_line: bytes):
    """An executable file whose first line is FIRST_LINE."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(first_line + b"\n")
    path.chmod(0o755)
    return path


def shebang(root) -> bytes:
    return f"#!{root}/bin/python".encode()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"  # made by conftest's isolated_state


@pytest.fixture
def root(tmp_path):
    """The conda install on PATH: tmp_path/miniconda with bin/conda."""
    root = make_root(tmp_path / "miniconda")
    script(root / "bin" / "conda", shebang(root))
    return root


@pytest.fixture
def cwd(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.fixture
def environ(tmp_path, home, root):
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "PATH": str(root / "bin")}


@pytest.fixture
def plan(cwd, environ):
    """plan(*argv, program="conda", **environ): the Plan the dispatcher makes; an
    environment variable given as None is unset."""
    def make(*argv, program="conda", at=None, **extra):
        env = {k: v for k, v in {**environ, **extra}.items() if v is not None}
        return tools.plan([program, *argv], str(at or cwd), env)
    return make


@pytest.fixture
def target(plan):
    """target(*argv, ...): the one environment the call guards, or None."""
    def make(*argv, **kwargs):
        p = plan(*argv, **kwargs)
        if p is None:
            return None
        assert len(p.targets) == 1
        return p.paths[0]
    return make


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


ENVS = "envs_dirs:\n  - {}\n"


# --- which calls are guarded ----------------------------------------------------------


def test_a_guarded_call_has_one_conda_target_judged_on_any_failure(plan, cwd):
    p = plan("create", "-p", "x", "python")
    assert p.targets == [(str(cwd / "x"), "conda")]
    assert (p.policy, p.create_only, p.repair) == (ANY_FAILURE, False, None)


@pytest.mark.parametrize("command", [
    ["create"], ["install"], ["update"], ["upgrade"], ["remove"], ["uninstall"],
    ["env", "create"], ["env", "update"],
])
def test_every_subcommand_that_changes_an_environment_is_guarded(target, cwd, command):
    assert target(*command, "-p", "x", "numpy") == str(cwd / "x")


@pytest.mark.parametrize("args", [
    ["list", "-p", "x"], ["info"], ["run", "-p", "x", "python"], ["env", "list"],
    ["env", "export", "-p", "x"], ["env", "remove", "-p", "x"], ["env"],
    ["search", "numpy"], ["clean", "--all"], ["config", "--show"], ["--version"], ["-V"],
    ["--help"], ["-h"], [],
])
def test_subcommands_that_change_no_environment_are_not_guarded(plan, args):
    assert plan(*args) is None


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_after_the_subcommand_is_not_guarded(plan, flag):
    assert plan("install", "-p", "x", flag) is None


@pytest.mark.parametrize("flag", ["-d", "--dry-run"])
def test_dry_run_is_not_guarded(plan, flag):
    assert plan("create", "-p", "x", flag, "python") is None
    assert plan("env", "create", flag, "-p", "x") is None


def test_dry_run_given_a_value_is_not_guarded(plan):
    # argparse refuses a value for a flag: the tool stops before changing anything
    assert plan("install", "-p", "x", "--dry-run=yes") is None


def test_harmless_flags_before_the_subcommand_are_passed_over(target, cwd):
    assert target("--json", "-v", "--no-plugins", "install", "-p", "x") == str(cwd / "x")


def test_an_unknown_option_before_the_subcommand_is_not_guarded(plan):
    assert plan("--offline", "install", "-p", "x") is None


def test_options_that_read_no_environment_are_passed_over(target, cwd):
    assert target("install", "-y", "--override-channels", "-c", "conda-forge", "-p", "x",
                  "numpy") == str(cwd / "x")


# --- the -p/--prefix option -----------------------------------------------------------


def test_create_with_a_prefix_targets_that_prefix(target, tmp_path):
    assert target("create", "-p", str(tmp_path / "abs" / "env")) == str(tmp_path / "abs/env")


@pytest.mark.parametrize("option", [["-p", "x"], ["--prefix", "x"], ["--prefix=x"], ["-px"]])
def test_every_spelling_of_the_prefix_option_is_read(target, cwd, option):
    assert target("install", *option, "numpy") == str(cwd / "x")


def test_a_relative_prefix_is_relative_to_the_working_directory(target, cwd):
    assert target("create", "-p", "../envs/./e") == str(cwd.parent / "envs" / "e")


def test_a_prefix_under_the_home_directory_is_expanded(target, home):
    assert target("create", "-p", "~/envs/e") == str(home / "envs" / "e")


def test_a_prefix_under_another_users_home_is_not_guarded(target):
    assert target("create", "-p", "~root/envs/e") is None


def test_a_prefix_with_a_variable_is_not_guarded(target):
    # conda expands variables itself
    assert target("create", "-p", "$HOME/e") is None


def test_a_prefix_needs_no_conda_install_to_be_found(target, cwd):
    assert target("create", "-p", "x", PATH=None) == str(cwd / "x")


# --- the -n/--name option (conda) -----------------------------------------------------


@pytest.mark.parametrize("option", [["-n", "sci"], ["--name", "sci"], ["--name=sci"],
                                    ["-nsci"]])
def test_a_new_name_is_made_in_the_first_writable_envs_dir(target, root, option):
    assert target("create", *option, "python") == str(root / "envs" / "sci")


def test_a_name_that_exists_in_a_later_envs_dir_is_that_environment(target, root, home):
    (home / ".conda" / "envs" / "sci").mkdir(parents=True)
    assert target("install", "-n", "sci", "numpy") == str(home / ".conda" / "envs" / "sci")


def test_a_name_that_exists_in_the_first_envs_dir_wins_over_a_later_one(target, root, home):
    (home / ".conda" / "envs" / "sci").mkdir(parents=True)
    (root / "envs" / "sci").mkdir()
    assert target("install", "-n", "sci") == str(root / "envs" / "sci")


def test_a_file_in_place_of_an_envs_dir_is_passed_over(target, root, home):
    (root / "envs").rmdir()
    (root / "envs").write_text("")
    (home / ".conda" / "envs").mkdir(parents=True)
    assert target("create", "-n", "sci") == str(home / ".conda" / "envs" / "sci")


def test_a_missing_first_envs_dir_is_not_guarded(target, root, home):
    # conda would try to make it, and fall back to the next one if it cannot
    (root / "envs").rmdir()
    (home / ".conda" / "envs").mkdir(parents=True)
    assert target("create", "-n", "sci") is None


def test_a_missing_envs_dir_is_no_matter_when_the_name_exists_in_another(target, root, home):
    (root / "envs").rmdir()
    (home / ".conda" / "envs" / "sci").mkdir(parents=True)
    assert target("install", "-n", "sci") == str(home / ".conda" / "envs" / "sci")


def denied(monkeypatch, path, mode_bits=os.W_OK):
    """os.access answers as for a user without `mode_bits` on `path` (the suite may
    run as root, whom the permission bits do not stop)."""
    real = os.access

    def access(where, mode, *args, **kwargs):
        if os.fspath(where) == str(path) and mode & mode_bits:
            return False
        return real(where, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_an_envs_dir_that_is_not_writable_is_passed_over(target, root, home, monkeypatch):
    (home / ".conda" / "envs").mkdir(parents=True)
    denied(monkeypatch, root / "envs")
    assert target("create", "-n", "sci") == str(home / ".conda" / "envs" / "sci")


@pytest.mark.parametrize("name", ["base", "root"])
def test_the_reserved_names_are_the_root_prefix(target, root, name):
    assert target("install", "-n", name, "numpy") == str(root)


@pytest.mark.parametrize("command", [["create"], ["env", "create"]])
def test_creating_base_is_not_guarded(target, command):
    # conda refuses it
    assert target(*command, "-n", "base") is None


@pytest.mark.parametrize("name", ["a/b", "a b", "a:b", "a#b"])
def test_a_name_with_a_character_conda_refuses_is_not_guarded(target, name):
    assert target("create", "-n", name) is None


def test_both_a_name_and_a_prefix_are_not_guarded(target):
    assert target("create", "-n", "sci", "-p", "x") is None


@pytest.mark.parametrize("option", ["--pre", "--na", "--dry", "--he"])
def test_an_abbreviated_long_option_is_not_guarded(target, option):
    # argparse expands it: it may be --prefix, --name, --dry-run or --help
    assert target("install", "-p", "x", option, "y") is None


@pytest.mark.parametrize("cluster", ["-yn", "-yp", "-yd", "-qh"])
def test_a_cluster_of_short_options_that_may_hide_one_read_here_is_not_guarded(target,
                                                                             cluster):
    assert target("install", "-p", "x", cluster, "y") is None


def test_a_cluster_of_harmless_short_options_is_passed_over(target, cwd):
    assert target("install", "-yq", "-p", "x") == str(cwd / "x")


@pytest.mark.parametrize("args", [["-n"], ["-n", "-y"], ["--name="], ["-p"], ["--prefix"],
                                  ["-p", "--yes"]])
def test_an_option_missing_its_value_is_not_guarded(target, args):
    assert target("install", *args) is None


def test_words_after_a_double_dash_are_not_options(target, cwd):
    assert target("install", "-p", "x", "--", "-d") == str(cwd / "x")


# --- neither -n nor -p ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["install", "update", "remove"])
def test_without_a_name_or_prefix_the_active_environment_is_changed(target, tmp_path,
                                                                    command):
    active = str(tmp_path / "active")
    assert target(command, "numpy", CONDA_PREFIX=active) == active


def test_a_relative_active_environment_is_not_guarded(target):
    assert target("install", "numpy", CONDA_PREFIX="active") is None


def test_without_an_active_environment_install_is_not_guarded(target):
    # conda then falls back on $CONDA_DEFAULT_ENV or the root: not followed
    assert target("install", "numpy") is None


@pytest.mark.parametrize("command", [["create"], ["env", "create"], ["env", "update"]])
def test_a_create_without_a_name_is_not_guarded(target, tmp_path, command):
    # the name comes from an environment file, or conda refuses
    assert target(*command, "python", CONDA_PREFIX=str(tmp_path / "active")) is None


# --- the root prefix ------------------------------------------------------------------


def test_the_root_is_the_prefix_of_the_python_named_by_the_shebang(target, tmp_path,
                                                                   environ):
    other = make_root(tmp_path / "other")
    bin_dir = tmp_path / "elsewhere"
    script(bin_dir / "conda", shebang(other))
    assert target("create", "-n", "e", PATH=f"{tmp_path / 'none'}:{bin_dir}") == \
        str(other / "envs" / "e")


def test_a_program_given_as_a_path_is_that_file(target, tmp_path, root):
    assert target("create", "-n", "e", program=str(root / "bin" / "conda"), PATH=None) == \
        str(root / "envs" / "e")


def test_no_conda_on_the_path_is_not_guarded_by_name(target, tmp_path):
    assert target("create", "-n", "e", PATH=str(tmp_path / "none")) is None


@pytest.mark.parametrize("first_line", [b"#!/usr/bin/env python", b"#!/bin/sh",
                                        b"\x7fELF\x02\x01"])
def test_a_conda_whose_root_is_not_in_its_shebang_is_not_guarded_by_name(target, root,
                                                                        first_line):
    script(root / "bin" / "conda", first_line)
    assert target("create", "-n", "e") is None


def test_a_shebang_python_outside_a_conda_prefix_is_not_guarded_by_name(target, root):
    (root / "conda-meta" / "history").unlink()
    (root / "conda-meta").rmdir()
    assert target("create", "-n", "e") is None


def test_the_root_prefix_variable_names_the_root(target, tmp_path):
    other = make_root(tmp_path / "other")
    assert target("create", "-n", "e", CONDA_ROOT_PREFIX=str(other)) == \
        str(other / "envs" / "e")
    assert target("install", "-n", "base", CONDA_ROOT_DIR=str(other)) == str(other)


def test_both_root_prefix_variables_are_not_guarded(target, root):
    assert target("install", "-n", "e", CONDA_ROOT_PREFIX=str(root),
                  CONDA_ROOT_DIR=str(root)) is None


def test_a_root_prefix_option_is_refused_by_conda_and_not_guarded(target, tmp_path):
    assert target("install", "-r", str(tmp_path), "-n", "e") is None
    assert target("install", "--root-prefix", str(tmp_path), "-p", "x") is None


def test_a_root_without_a_history_file_is_not_writable(target, root, home):
    # then ~/.conda/envs comes before <root>/envs
    (root / "conda-meta" / "history").unlink()
    (home / ".conda" / "envs").mkdir(parents=True)
    assert target("create", "-n", "e") == str(home / ".conda" / "envs" / "e")


def test_a_root_whose_history_is_not_writable_puts_the_home_envs_dir_first(target, root,
                                                                           home, monkeypatch):
    denied(monkeypatch, root / "conda-meta" / "history")
    (home / ".conda" / "envs").mkdir(parents=True)
    assert target("create", "-n", "e") == str(home / ".conda" / "envs" / "e")


def test_a_read_only_root_still_finds_an_existing_environment_in_it(target, root, home):
    (root / "conda-meta" / "history").unlink()
    (root / "envs" / "e").mkdir()
    (home / ".conda" / "envs").mkdir(parents=True)
    assert target("install", "-n", "e") == str(root / "envs" / "e")


# --- envs dirs from the environment ---------------------------------------------------


@pytest.mark.parametrize("variable", ["CONDA_ENVS_DIRS", "CONDA_ENVS_PATH"])
def test_the_envs_dirs_variable_comes_first(target, tmp_path, variable):
    (tmp_path / "a").mkdir()
    assert target("create", "-n", "e", **{variable: f"{tmp_path / 'a'}:{tmp_path / 'b'}"}) \
        == str(tmp_path / "a" / "e")


def test_every_dir_of_the_envs_dirs_variable_is_searched_for_the_name(target, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "e").mkdir(parents=True)
    assert target("install", "-n", "e", CONDA_ENVS_DIRS=f"{tmp_path / 'a'}:{tmp_path / 'b'}") \
        == str(tmp_path / "b" / "e")


def test_the_envs_dirs_variable_is_expanded_like_a_path(target, home, cwd):
    (home / "mine").mkdir()
    assert target("create", "-n", "e", CONDA_ENVS_DIRS="~/mine") == str(home / "mine" / "e")
    (cwd / "rel").mkdir()
    assert target("create", "-n", "e", CONDA_ENVS_DIRS="rel") == str(cwd / "rel" / "e")


@pytest.mark.parametrize("value", ["$HOME/mine", "", "a::b"])
def test_an_envs_dirs_variable_not_followed_is_not_guarded(target, value):
    assert target("create", "-n", "e", CONDA_ENVS_DIRS=value) is None


def test_both_envs_dirs_variables_are_not_guarded(target, tmp_path):
    (tmp_path / "a").mkdir()
    assert target("create", "-n", "e", CONDA_ENVS_DIRS=str(tmp_path / "a"),
                  CONDA_ENVS_PATH=str(tmp_path / "a")) is None


def test_the_envs_dirs_variable_comes_before_a_condarc(target, tmp_path, home):
    (tmp_path / "a").mkdir()
    (tmp_path / "c").mkdir()
    write(home / ".condarc", ENVS.format(tmp_path / "c"))
    assert target("create", "-n", "e", CONDA_ENVS_DIRS=str(tmp_path / "a")) == \
        str(tmp_path / "a" / "e")
    (tmp_path / "c" / "e").mkdir()
    assert target("install", "-n", "e", CONDA_ENVS_DIRS=str(tmp_path / "a")) == \
        str(tmp_path / "c" / "e")


# --- envs dirs from condarc files -----------------------------------------------------


@pytest.mark.parametrize("where", [
    "~/.condarc", "~/.conda/condarc", "~/.config/conda/.condarc",
    "$XDG_CONFIG_HOME/conda/condarc", "<root>/.condarc", "<sys>/etc/conda/condarc",
    "<sys>/var/lib/conda/.condarc", "$CONDARC",
])
def test_the_envs_dirs_of_a_condarc_come_first(target, tmp_path, home, root, system_dirs,
                                              where):
    path = (where.replace("~", str(home)).replace("$XDG_CONFIG_HOME", str(tmp_path / "xdg"))
            .replace("<root>", str(root)).replace("<sys>", str(system_dirs))
            .replace("$CONDARC", str(tmp_path / "rc" / "my.yml")))
    (tmp_path / "mine").mkdir()
    write(tmp_path / path, ENVS.format(tmp_path / "mine"))
    assert target("create", "-n", "e", CONDARC=str(tmp_path / "rc" / "my.yml")) == \
        str(tmp_path / "mine" / "e")


def test_a_condarc_of_the_named_root_variable_counts(target, tmp_path):
    rc_root = tmp_path / "rcroot"
    (tmp_path / "mine").mkdir()
    write(rc_root / "condarc", ENVS.format(tmp_path / "mine"))
    assert target("create", "-n", "e", CONDA_ROOT=str(rc_root)) == str(tmp_path / "mine" / "e")


def test_condarc_items_may_be_quoted_and_commented(target, tmp_path, home):
    (tmp_path / "a b").mkdir()
    write(home / ".condarc", "# my settings\nchannels:\n  - conda-forge\n"
          f"envs_dirs:  # where\n  # the first one\n  - '{tmp_path / 'a b'}'  # mine\n"
          f'  - "{tmp_path / "c"}"\nauto_activate_base: false\n')
    assert target("create", "-n", "e") == str(tmp_path / "a b" / "e")


def test_a_condarc_item_under_home_is_expanded(target, home):
    (home / "mine").mkdir()
    write(home / ".condarc", "envs_dirs:\n- ~/mine\n")
    assert target("create", "-n", "e") == str(home / "mine" / "e")


def test_a_condarc_without_envs_dirs_changes_nothing(target, root, home):
    write(home / ".condarc", "channels:\n  - conda-forge\nenvs_dirs_note: x\n")
    assert target("create", "-n", "e") == str(root / "envs" / "e")


@pytest.mark.parametrize("text", [
    "envs_dirs: [/a, /b]\n", "envs_dirs: /a\n", "envs_dirs: #!final\n  - /a\n",
    "channels: #!final\n  - x\n", "root_prefix: /opt/other\n", "root_dir: /opt/other\n",
    "envs_dirs:\n  - $HOME/envs\n", "envs_dirs:\n  - /a\nenvs_path:\n  - /b\n",
])
def test_a_condarc_form_not_followed_is_not_guarded(target, home, text):
    write(home / ".condarc", text)
    assert target("create", "-n", "e") is None


def test_two_condarc_files_setting_envs_dirs_are_not_guarded(target, tmp_path, home, root):
    # conda merges them in its own order
    (tmp_path / "a").mkdir()
    write(home / ".condarc", ENVS.format(tmp_path / "a"))
    write(root / ".condarc", ENVS.format(tmp_path / "a"))
    assert target("create", "-n", "e") is None


@pytest.mark.parametrize("where", ["home", "root", "sys"])
def test_a_condarc_d_directory_is_not_guarded(target, home, root, system_dirs, where):
    base = {"home": home / ".conda", "root": root, "sys": system_dirs / "etc/conda"}[where]
    (base / "condarc.d").mkdir(parents=True)
    assert target("create", "-n", "e") is None


def test_condarc_files_are_no_matter_for_a_prefix(target, home, cwd):
    write(home / ".condarc", "envs_dirs: [/a]\n")
    assert target("create", "-p", "x") == str(cwd / "x")


def test_a_condarc_of_condas_own_prefix_counts_when_the_root_is_elsewhere(target, tmp_path,
                                                                         root):
    # conda reads $CONDA_ROOT/.condarc, CONDA_ROOT being its sys.prefix
    other = make_root(tmp_path / "other")
    write(root / ".condarc", "envs_dirs: [/a]\n")
    assert target("create", "-n", "e", CONDA_ROOT_PREFIX=str(other)) is None


def test_a_condarc_of_a_root_that_is_not_condas_own_prefix_is_not_read(target, tmp_path):
    other = make_root(tmp_path / "other")
    write(other / ".condarc", "envs_dirs: [/a]\n")
    assert target("create", "-n", "e", CONDA_ROOT_PREFIX=str(other)) == \
        str(other / "envs" / "e")


# --- what cannot be read --------------------------------------------------------------


def test_an_undecodable_condarc_is_not_guarded(target, home):
    (home / ".condarc").write_bytes(b"envs_dirs:\n  - /\xff\xfe\n")
    assert target("create", "-n", "e") is None


def test_a_condarc_that_cannot_be_read_is_not_guarded(target, home):
    (home / ".condarc").mkdir()
    assert target("create", "-n", "e") is None


def test_a_condarc_without_read_permission_is_not_guarded(target, home, monkeypatch):
    condarc = write(home / ".condarc", "channels: []\n")
    real = open

    def guarded_open(file, *args, **kwargs):
        if os.fspath(file) == str(condarc):
            raise PermissionError(13, "Permission denied", str(condarc))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(conda, "open", guarded_open, raising=False)
    assert target("create", "-n", "e") is None


def test_an_undecodable_shebang_is_not_guarded(target, root):
    script(root / "bin" / "conda", b"#!/opt/\xff/bin/python")
    assert target("create", "-n", "e") is None


@pytest.mark.parametrize("home_value", [None, "", "relative/home"])
def test_a_name_without_an_absolute_home_is_not_guarded(target, home_value):
    assert target("create", "-n", "e", HOME=home_value) is None


# --- micromamba -----------------------------------------------------------------------


@pytest.mark.parametrize("option", [["-r", "{}"], ["--root-prefix", "{}"],
                                    ["--root-prefix={}"]])
def test_micromamba_makes_a_name_in_the_envs_of_its_root_option(target, tmp_path, option):
    mm = tmp_path / "mm"
    args = [a.format(mm) for a in option]
    assert target("create", *args, "-n", "e", program="micromamba") == str(mm / "envs" / "e")


def test_micromamba_makes_a_name_in_the_envs_of_the_root_variable(target, tmp_path):
    mm = tmp_path / "mm"
    assert target("install", "-n", "e", program="micromamba", MAMBA_ROOT_PREFIX=str(mm)) \
        == str(mm / "envs" / "e")


def test_the_micromamba_root_option_wins_over_the_variable(target, tmp_path):
    assert target("install", "-r", str(tmp_path / "opt"), "-n", "e", program="micromamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "var")) == str(tmp_path / "opt/envs/e")


def test_micromamba_base_is_its_root(target, tmp_path):
    assert target("install", "-n", "base", program="micromamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm")) == str(tmp_path / "mm")


def test_micromamba_without_a_root_is_not_guarded_by_name(target):
    # its default root changed in 2.0, and 2.x looks next to its executable
    assert target("create", "-n", "e", program="micromamba") is None


def test_micromamba_with_a_prefix_needs_no_root(target, cwd):
    assert target("create", "-p", "x", program="micromamba") == str(cwd / "x")


@pytest.mark.parametrize("rc", ["~/.condarc", "~/.mambarc", "~/.config/mamba/mambarc",
                                "<root>/.mambarc", "<root>/condarc.d", "<sys>/etc/conda/.mambarc"])
def test_micromamba_with_a_config_file_is_not_guarded_by_name(target, tmp_path, home,
                                                              system_dirs, rc):
    mm = tmp_path / "mm"
    write(tmp_path / (rc.replace("~", str(home)).replace("<root>", str(mm))
                      .replace("<sys>", str(system_dirs))), "channels: []\n")
    assert target("create", "-n", "e", program="micromamba", MAMBA_ROOT_PREFIX=str(mm)) \
        is None


@pytest.mark.parametrize("variable", ["MAMBA_ENVS_DIRS", "MAMBA_ENVS_PATH",
                                      "CONDA_ENVS_DIRS", "CONDA_ENVS_PATH"])
def test_micromamba_with_an_envs_dirs_variable_is_not_guarded_by_name(target, tmp_path,
                                                                     variable):
    assert target("create", "-n", "e", program="micromamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm"), **{variable: str(tmp_path)}) is None


def test_micromamba_install_changes_the_active_environment(target, tmp_path):
    active = str(tmp_path / "active")
    assert target("install", "numpy", program="micromamba", CONDA_PREFIX=active) == active


def test_micromamba_with_a_target_prefix_variable_is_not_guarded(target, tmp_path):
    assert target("install", "numpy", program="micromamba",
                  CONDA_PREFIX=str(tmp_path / "active"),
                  MAMBA_TARGET_PREFIX=str(tmp_path / "t")) is None


def test_micromamba_given_as_a_path_is_micromamba(target, tmp_path):
    assert target("create", "-n", "e", program="/opt/bin/micromamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm")) == str(tmp_path / "mm" / "envs/e")


# --- mamba ----------------------------------------------------------------------------


def test_mamba_run_by_a_conda_python_follows_condas_rules(target, root, tmp_path):
    script(root / "bin" / "mamba", shebang(root))
    assert target("create", "-n", "e", program="mamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm")) == str(root / "envs" / "e")


def test_mamba_run_by_a_conda_python_refuses_a_root_option(target, root, tmp_path):
    script(root / "bin" / "mamba", shebang(root))
    assert target("create", "-r", str(tmp_path / "mm"), "-n", "e", program="mamba") is None


def test_a_mamba_binary_follows_micromambas_rules(target, root, tmp_path):
    script(root / "bin" / "mamba", b"\x7fELF\x02\x01\x01")
    assert target("create", "-n", "e", program="mamba",
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm")) == str(tmp_path / "mm/envs/e")
    assert target("create", "-n", "e", program="mamba") is None


def test_a_mamba_not_found_follows_micromambas_rules(target, tmp_path):
    assert target("install", "-n", "e", program="mamba", PATH=None,
                  MAMBA_ROOT_PREFIX=str(tmp_path / "mm")) == str(tmp_path / "mm/envs/e")


# --- the dispatcher -------------------------------------------------------------------


@pytest.mark.parametrize("program", ["conda", "mamba", "micromamba"])
def test_the_dispatcher_sends_each_conda_program_here(program):
    assert tools.family(program) is conda


@pytest.mark.parametrize("program", ["/opt/conda/bin/conda", "mamba", "micromamba"])
def test_the_dispatcher_plans_conda_programs_by_their_base_name(cwd, program):
    assert tools.plan([program, "install", "-p", "x"], str(cwd), {}).paths == [str(cwd / "x")]


def test_a_recorded_environment_is_enough(plan, cwd, root, environ):
    recorder = tools.Recorder(environ)
    p = tools.plan(["conda", "create", "-n", "e"], str(cwd), recorder)
    assert p.paths == [str(root / "envs" / "e")]
    assert {"HOME", "PATH"} <= set(recorder.read)


# --- parse_condarc --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# nothing\n", "channels:\n  - x\n",
                                  "other:\n  envs_dirs:\n    - /a\n"])
def test_parse_condarc_of_a_file_without_envs_dirs_is_none(text):
    assert conda.parse_condarc(text) is None


@pytest.mark.parametrize("text", [
    "envs_dirs:\n  - /a\n  - ~/b\n", "envs_dirs:\n- /a\n- ~/b\n",
    "envs_path:\n  - /a\n  - ~/b\n", "'envs_dirs':\n  - '/a'\n  - \"~/b\"\n",
    "envs_dirs: # mine\n\n  # first\n  - /a # here\n  - ~/b\nchannels: []\n",
    "envs_dirs :\r\n  - /a\r\n  - ~/b\r\n",
])
def test_parse_condarc_reads_a_block_list(text):
    assert conda.parse_condarc(text) == ["/a", "~/b"]


def test_parse_condarc_of_an_empty_block_is_an_empty_list():
    assert conda.parse_condarc("envs_dirs:\nchannels: []\n") == []


@pytest.mark.parametrize("text", [
    "envs_dirs: [/a]\n", "envs_dirs: []\n", "envs_dirs: /a\n", "envs_dirs: #!final\n - /a\n",
    "#!final\n", "channels: #!top\n  - x\n", "root_prefix: /r\n", "'root_dir': /r\n",
    "envs_dirs:\n  - /a\nenvs_dirs:\n  - /b\n", "envs_dirs:\n  - /a\nenvs_path:\n  - /b\n",
    "envs_dirs:\n  /a\n", "envs_dirs:\n  - '/a\n", "envs_dirs:\n  - \"/a'\n",
    "envs_dirs:\n  - *anchor\n", "envs_dirs:\n  - !!str /a\n", "envs_dirs:\n  - [/a]\n",
    "envs_dirs:\n  - {a: b}\n", "envs_dirs:\n  - |\n    /a\n", "envs_dirs:\n  - ''\n",
    "envs_dirs:\n  - /it's\n", "envs_dirs:\n  -/a\n", "envs_dirs:\n  - a: b\n",
])
def test_parse_condarc_of_a_form_not_followed_is_unsure(text):
    assert conda.parse_condarc(text) is conda.UNSURE
