"""tools.uv_options: the generated table of uv's options that take a value, checked
against the installed uv, and the parser cases it exists for.

Without uv the check against it skips with its reason, but fails when CI is set."""

import os

import pytest
from gen_uv_options import FLAG, VALUE, find_uv, help_options, uv_version, value_options

from venvguard.tools import uv
from venvguard.tools.uv_options import VALUE_OPTIONS

REGENERATE = "python3 tests/unit/gen_uv_options.py"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


@pytest.fixture(scope="module")
def real_uv():
    found = find_uv()
    if found is None:
        if in_ci():
            pytest.fail("uv is not installed, and CI is set: the uv option table must be checked")
        pytest.skip("uv is not installed (pip install uv)")
    return found


# --- the table against the installed uv -------------------------------------------------


def test_the_committed_table_matches_the_installed_uv(real_uv):
    generated = value_options(real_uv)
    if generated != VALUE_OPTIONS:
        changes = []
        for sub in sorted(set(generated) | set(VALUE_OPTIONS)):
            now, committed = generated.get(sub, frozenset()), VALUE_OPTIONS.get(sub, frozenset())
            if now != committed:
                changes.append(
                    f"  uv {sub or '(top level)'}: new {sorted(now - committed)}, "
                    f"gone {sorted(committed - now)}"
                )
        pytest.fail(
            f"src/venvguard/tools/uv_options.py does not match uv {uv_version(real_uv)}:\n"
            + "\n".join(changes)
            + f"\nregenerate it with: {REGENERATE}",
            pytrace=False,
        )


def test_every_subcommand_table_holds_the_global_options():
    for sub, options in VALUE_OPTIONS.items():
        assert VALUE_OPTIONS[""] <= options, f"uv {sub}: global options missing"


# --- reading clap's help ------------------------------------------------------------------


def test_help_option_with_a_value_takes_the_next_word():
    assert help_options("  -p, --python <PYTHON>  The Python") == {"-p": VALUE, "--python": VALUE}


def test_help_option_with_a_repeatable_value_takes_one_word():
    assert help_options("      --with <WITH>...\n          Run with") == {"--with": VALUE}


def test_help_option_with_an_optional_attached_value_does_not_take_the_next_word():
    assert help_options("      --color[=<WHEN>]  Colours") == {"--color": FLAG}


def test_help_repeatable_flag_takes_no_value():
    assert help_options("  -q, --quiet...\n          Use quiet output") == {
        "-q": FLAG,
        "--quiet": FLAG,
    }


# --- the parser cases the table is for ----------------------------------------------------


@pytest.mark.parametrize("option", ["--allow-insecure-host", "--trusted-host"])
def test_uv_venv_insecure_host_value_is_not_taken_for_the_path(option):
    # --trusted-host is uv's hidden alias of --allow-insecure-host: no help text shows
    # it. plan() makes the first positional the path.
    parsed = uv.parse(["venv", option, "example.com", "env"])
    assert parsed.options == {option: "example.com"}
    assert parsed.positionals == ["env"]


def test_uv_venv_hidden_option_value_is_not_taken_for_the_path():
    parsed = uv.parse(["venv", "--python-preference", "only-system", "env"])
    assert parsed.positionals == ["env"]


def test_dash_c_takes_a_file_in_uv_add():
    parsed = uv.parse(["add", "-c", "constraints.txt", "requests"])
    assert parsed.options == {"-c": "constraints.txt"}
    assert parsed.positionals == ["requests"]


def test_dash_c_is_the_clear_flag_in_uv_venv():
    parsed = uv.parse(["venv", "-c", "env"])
    assert parsed.options == {"-c": None}
    assert parsed.positionals == ["env"]


def test_dash_m_takes_a_marker_in_uv_add():
    assert uv.parse(["add", "-m", "sys_platform == 'linux'", "x"]).positionals == ["x"]


def test_dash_m_is_the_module_flag_in_uv_run():
    assert uv.parse(["run", "-m", "pytest", "-x"]).positionals == ["pytest"]


def test_uv_run_script_is_a_flag_so_the_script_is_the_command():
    parsed = uv.parse(["run", "--script", "s.py"])
    assert parsed.options == {"--script": None}
    assert parsed.positionals == ["s.py"]


def test_an_attached_value_does_not_take_the_next_word():
    parsed = uv.parse(["venv", "--trusted-host=example.com", "env"])
    assert parsed.options == {"--trusted-host": "example.com"}
    assert parsed.positionals == ["env"]


def test_options_before_the_subcommand_use_the_global_table():
    parsed = uv.parse(["--trusted-host", "example.com", "--color", "never", "venv", "env"])
    assert parsed.command == "venv"
    assert parsed.positionals == ["env"]


def test_other_subcommands_use_the_global_table():
    parsed = uv.parse(["tree", "--color", "never", "--depth", "x"])
    assert parsed.command == "tree"
    assert parsed.positionals == ["x"]


def test_a_group_and_its_subcommand_are_one_command_read_by_its_table():
    parsed = uv.parse(["pip", "--color", "never", "install", "-e", "dir", "x"])
    assert parsed.command == "pip install"
    assert parsed.options == {"--color": "never", "-e": "dir"}
    assert parsed.positionals == ["x"]
