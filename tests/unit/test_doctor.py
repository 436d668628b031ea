"""venvguard doctor: one line per check, or one JSON object; exit 1 on a problem."""

import json
import os
import subprocess
import sys

import pytest
from unit_helpers import make_env


def doctor(tmp_path, *args, **environ):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"),
           "XDG_STATE_HOME": str(tmp_path / "state"), **environ}
    return subprocess.run([sys.executable, "-m", "venvguard", "doctor", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def checks_of(result) -> dict[str, dict]:
    return {check["check"]: check for check in json.loads(result.stdout)["checks"]}


def test_doctor_json_is_one_object_with_every_check(tmp_path):
    result = doctor(tmp_path, "--json")
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "checks"}
    names = {check["check"] for check in data["checks"]}
    assert {"path", "python", "state", "proc", "enabled", "tool:uv", "tool:poetry"} <= names
    assert all(set(check) == {"check", "status", "detail"} for check in data["checks"])


def test_an_unwritable_state_directory_is_a_problem_in_json_and_the_exit_status(tmp_path):
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    result = doctor(tmp_path, "--json")
    assert checks_of(result)["state"]["status"] == "warn"
    assert json.loads(result.stdout)["ok"] is False
    assert result.returncode == 1


@pytest.mark.parametrize("as_json", [False, True])
def test_venvguard_disable_is_reported_as_a_problem(tmp_path, as_json):
    result = doctor(tmp_path, *(["--json"] if as_json else []), VENVGUARD_DISABLE="1")
    assert result.returncode == 1
    if as_json:
        assert checks_of(result)["enabled"]["status"] == "warn"
    else:
        assert "WARN  VENVGUARD_DISABLE is not set to 1" in result.stdout.splitlines()


def test_the_text_form_has_one_line_per_check_of_the_json_form(tmp_path):
    text = doctor(tmp_path).stdout.splitlines()
    details = [check["detail"] for check in json.loads(doctor(tmp_path, "--json").stdout)
               ["checks"]]
    assert [line[6:] for line in text] == details


def test_doctor_warns_about_names_a_function_of_the_users_kept_unwrapped(monkeypatch):
    from venvguard import doctor

    monkeypatch.setenv("VENVGUARD_SKIPPED", "pip python3")
    found = {check["check"]: check for check in doctor.checks()}
    assert found["skipped"]["status"] == "warn"
    assert found["skipped"]["detail"].startswith("not wrapped in this shell: pip, python3: ")


def test_doctor_has_no_skipped_check_when_everything_is_wrapped(monkeypatch):
    from venvguard import doctor

    monkeypatch.delenv("VENVGUARD_SKIPPED", raising=False)
    assert "skipped" not in {check["check"] for check in doctor.checks()}


# --- the shell doctor is typed in (VENVGUARD_SHELL_STATE, from the snippet's function) --


def told(*lines: str, version: str | None = None, hook: str = "yes") -> str:
    from venvguard import __version__

    head = ["shell\tzsh 5.9", "pid\t4242", f"version\t{version or __version__}", f"hook\t{hook}"]
    return "\n".join([*head, *lines]) + "\n"


def shell_checks(monkeypatch, state: str) -> dict[str, dict]:
    from venvguard import doctor

    monkeypatch.setenv("VENVGUARD_SHELL_STATE", state)
    return {check["check"]: check for check in doctor.checks()}


def test_a_shell_with_this_versions_snippet_and_its_hook_is_ok(monkeypatch):
    found = shell_checks(monkeypatch, told("name\tuv\tvenvguard\t", "name\tpip\tvenvguard\t"))
    assert found["shell"]["status"] == found["hook"]["status"] == "ok"
    assert found["shell"]["detail"] == (
        "this shell (zsh 5.9, pid 4242) has venvguard's snippet loaded")
    assert found["wrapped"]["detail"] == "wrapped in this shell: uv, pip"
    assert not any(name.startswith("wrap:") for name in found)


def test_a_shell_running_another_versions_snippet_is_told_to_start_anew(monkeypatch):
    found = shell_checks(monkeypatch, told(version="0.0.1"))
    assert found["shell"]["status"] == "warn"
    assert "runs the snippet of venvguard 0.0.1" in found["shell"]["detail"]
    assert found["shell"]["detail"].endswith("start a new shell (exec zsh) to load this one")


def test_a_shell_whose_prompt_hook_was_reset_is_a_problem(monkeypatch):
    found = shell_checks(monkeypatch, told(hook="no"))
    assert found["hook"]["status"] == "warn"


def test_a_function_of_the_users_in_place_of_a_wrapper_names_where_it_was_defined(monkeypatch):
    found = shell_checks(monkeypatch, told("name\tpip\tfunction\t/home/me/.zshrc:12"))
    assert found["wrap:pip"]["status"] == "warn"
    assert found["wrap:pip"]["detail"].startswith(
        "pip: a function of yours (/home/me/.zshrc:12) stands in for venvguard's wrapper")


def test_an_alias_of_the_name_itself_still_reaches_the_wrapper(monkeypatch):
    found = shell_checks(monkeypatch, told("name\tuv\tvenvguard\t", "alias\tuv\tuv --color never"))
    assert "wrap:uv" not in found
    assert found["wrapped"]["detail"] == "wrapped in this shell: uv"


def test_an_alias_for_another_command_is_told_not_warned(monkeypatch):
    found = shell_checks(monkeypatch, told("name\tpip\tvenvguard\t", "alias\tpip\tpython3 -m pip"))
    assert found["wrap:pip"]["status"] == "info"
    assert found["wrap:pip"]["detail"] == ("pip: an alias for `python3 -m pip`: it runs that, "
                                           "guarded if that is")


def test_a_removed_wrapper_is_a_problem_only_where_the_command_is_installed(monkeypatch):
    found = shell_checks(monkeypatch, told("name\tuv\tnone\t/usr/bin/uv", "name\tpdm\tnone\t"))
    assert found["wrap:uv"]["status"] == "warn"
    assert found["wrap:uv"]["detail"].endswith("so /usr/bin/uv runs unguarded")
    assert found["wrap:pdm"]["status"] == "info"


def test_the_skipped_check_gives_way_to_what_the_shell_tells(monkeypatch):
    monkeypatch.setenv("VENVGUARD_SKIPPED", "pip")
    found = shell_checks(monkeypatch, told("name\tpip\tfunction\t/home/me/.zshrc:3"))
    assert "skipped" not in found
    assert found["wrap:pip"]["status"] == "warn"


def test_lines_the_doctor_does_not_know_are_passed_over():
    from venvguard import doctor

    state = doctor.parse_state("future\tthing\nname\tuv\tvenvguard\t\nname\tbad\n")
    assert state["names"] == [("uv", "venvguard", ""), ("bad", "", "")]


def test_typed_in_an_interactive_shell_without_the_snippet_is_a_problem():
    from venvguard import doctor

    check = doctor.no_shell_state(("bash", 77))
    assert check["status"] == "warn"
    assert check["detail"].startswith("this bash (pid 77) has no venvguard loaded")


def test_run_from_no_interactive_shell_says_how_to_check_one():
    from venvguard import doctor

    assert doctor.no_shell_state(None)["status"] == "info"


def test_doctor_from_a_script_has_an_info_shell_check_and_no_problem_from_it(tmp_path):
    result = doctor(tmp_path, "--json")
    assert checks_of(result)["shell"]["status"] == "info"


# --- the helper on PATH, cached snippets, leftovers -------------------------------------


def test_another_venvguard_before_this_one_on_path_is_a_problem(tmp_path, monkeypatch):
    from venvguard import doctor

    other = tmp_path / "bin" / "venvguard"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", f"{other.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "mine" / "venvguard"), "doctor"])
    found = {check["check"]: check for check in doctor.checks()}
    assert found["path"]["status"] == "warn"
    assert found["path"]["detail"].startswith(f"venvguard on PATH is {other}, not this one")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("path", ["/usr/bin:/bin", "/odd 'quoted' \\dir:/bin"])
def test_a_cached_snippet_this_venvguard_wrote_is_current(shell, path):
    from venvguard import doctor, init

    text = init.cached_text(shell, ["python3.9", "python3.12"], path)
    assert doctor.cache_is_current(shell, text)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_cached_snippet_of_another_version_or_edited_is_not_current(shell):
    from venvguard import __version__, doctor, init

    text = init.cached_text(shell, ["python3.11"], "/usr/bin")
    assert not doctor.cache_is_current(shell, text.replace(f"'{__version__}'", "'0.0.1'"))
    assert not doctor.cache_is_current(shell, text + "# edited\n")
    assert not doctor.cache_is_current(shell, "not a cached snippet at all\n")


def test_doctor_reports_each_cached_snippet(tmp_path, monkeypatch):
    from venvguard import doctor, init

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    init.write_cache("zsh", [], "/usr/bin")
    (tmp_path / "cache" / "venvguard" / "init.fish").write_text("# from long ago\n")
    found = {check["check"]: check for check in doctor.checks()}
    assert found["cache:zsh"]["status"] == "ok"
    assert found["cache:fish"]["status"] == "info"
    assert "cache:bash" not in found


def test_a_run_cut_short_and_not_settled_is_a_problem(project, dead_pid):
    from test_settle import write_entry

    write_entry(dead_pid)
    result = doctor(project.parent, "--json", XDG_STATE_HOME=os.environ["XDG_STATE_HOME"])
    check = checks_of(result)["runs"]
    assert check["status"] == "warn"
    assert check["detail"].startswith("1 run cut short and not settled yet: `venvguard clean`")
    assert result.returncode == 1


def test_an_environment_kept_broken_is_a_problem(project):
    from venvguard import kept

    env = make_env(project / ".venv")
    kept.remember(str(env), reason=kept.BROKEN + "requests: 2 files missing",
                  argv=["uv", "sync"], repair="uv sync", cwd=str(project))
    result = doctor(project.parent, "--json", XDG_STATE_HOME=os.environ["XDG_STATE_HOME"])
    check = checks_of(result)["kept"]
    assert check["status"] == "warn"
    assert "`venvguard status` says how to repair each" in check["detail"]


def test_nothing_left_over_is_ok(tmp_path):
    found = checks_of(doctor(tmp_path, "--json"))
    assert found["runs"]["status"] == found["kept"]["status"] == "ok"


# --- the state script the snippet's function runs: `venvguard _shell-state` -------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_state_script_is_the_shipped_file_with_the_snippets_version(shell):
    from venvguard import init

    result = subprocess.run([sys.executable, "-m", "venvguard", "_shell-state", shell, "1.2.3"],
                            capture_output=True, text=True, timeout=30)
    with open(os.path.join(init.SHELL_DIR, f"state.{shell}")) as f:
        assert result.stdout == f.read().replace(init.VERSION, "1.2.3")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_version_that_could_break_out_of_its_quotes_is_replaced():
    result = subprocess.run([sys.executable, "-m", "venvguard", "_shell-state", "bash",
                             "1'; rm -rf ~; '"], capture_output=True, text=True, timeout=30)
    assert "'?'" in result.stdout
    assert "rm -rf" not in result.stdout


@pytest.mark.parametrize("args", [[], ["bash"], ["tcsh", "1.0"], ["bash", "1.0", "more"]])
def test_the_state_script_command_wants_a_shell_and_a_version(args):
    result = subprocess.run([sys.executable, "-m", "venvguard", "_shell-state", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == "venvguard: usage: venvguard _shell-state bash|zsh|fish VERSION\n"
    assert result.stdout == ""
