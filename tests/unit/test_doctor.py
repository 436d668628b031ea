"""venvguard doctor: one line per check, or one JSON object; exit 1 on a problem."""

import json
import os
import subprocess
import sys

import pytest


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
