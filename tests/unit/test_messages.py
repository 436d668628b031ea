"""messages: one line on stderr, `venvguard:` first, paths as a person would type
them, coloured only on a terminal without NO_COLOR."""

import io

import pytest

from venvguard import messages
from venvguard.messages import printable, say, show_command, show_path


@pytest.fixture
def home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/u")
    return "/home/u"


# --- show_path -----------------------------------------------------------------------


def test_a_path_below_the_current_directory_is_shown_relative(home):
    assert show_path("/work/project/.venv", "/work/project") == ".venv"
    assert show_path("/work/project/a/b/.venv", "/work/project/") == "a/b/.venv"


def test_a_path_below_home_is_shown_with_a_tilde(home):
    assert show_path("/home/u/envs/x", "/work") == "~/envs/x"


def test_the_current_directory_wins_over_home(home):
    assert show_path("/home/u/p/.venv", "/home/u/p") == ".venv"


def test_a_path_elsewhere_is_shown_absolute(home):
    assert show_path("/opt/envs/x", "/work") == "/opt/envs/x"


def test_a_sibling_with_a_common_prefix_is_not_shown_relative(home):
    assert show_path("/work/project-2/.venv", "/work/project") == "/work/project-2/.venv"
    assert show_path("/home/user2/.venv", "/work") == "/home/user2/.venv"


def test_the_current_directory_itself_is_shown_absolute(home):
    assert show_path("/work/project", "/work/project") == "/work/project"


def test_home_slash_is_never_abbreviated(monkeypatch):
    monkeypatch.setenv("HOME", "/")
    assert show_path("/opt/x", "/work") == "/opt/x"


def test_show_path_uses_the_process_working_directory_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert show_path(str(tmp_path / ".venv")) == ".venv"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/opt/a\nb", "/opt/a\\nb"),
        ("/opt/a\rb", "/opt/a\\rb"),
        ("/opt/\x1b[31mred", "/opt/\\x1b[31mred"),
        ("/opt/tab\there", "/opt/tab\\there"),
        ("/opt/\udcffbytes", "/opt/\\udcffbytes"),
    ],
)
def test_control_characters_in_a_path_are_escaped(home, path, shown):
    assert show_path(path, "/work") == shown


def test_printable_text_is_left_as_it_is():
    assert printable("/opt/ünïcode env") == "/opt/ünïcode env"


# --- show_command --------------------------------------------------------------------


def test_a_command_is_shown_by_program_name_and_arguments():
    assert show_command(["/usr/bin/uv", "sync", "--frozen"]) == "uv sync --frozen"


def test_arguments_with_spaces_or_empty_are_quoted():
    assert show_command(["python3", "-m", "venv", "my env", ""]) == (
        "python3 -m venv 'my env' ''"
    )


def test_a_long_command_is_shortened_to_the_limit_with_an_ellipsis():
    shown = show_command(["uv", "add", *[f"package{i}" for i in range(20)]])
    assert len(shown) == 60
    assert shown.startswith("uv add package0 package1")
    assert shown.endswith("\N{HORIZONTAL ELLIPSIS}")


def test_a_command_at_the_limit_is_not_shortened():
    argv = ["uv", "x" * 57]  # "uv " + 57 = 60
    assert show_command(argv) == "uv " + "x" * 57


def test_the_limit_can_be_raised():
    argv = ["uv", "add", *[f"package{i}" for i in range(20)]]
    assert show_command(argv, limit=200) == " ".join(["uv", *argv[1:]])


def test_control_characters_in_a_command_are_escaped():
    assert show_command(["uv", "add", "a\nb"]) == "uv add 'a\\nb'"


def test_arguments_the_shell_would_read_otherwise_are_quoted_as_you_would_type_them():
    assert show_command(["uv", "run", "python", "-c", "print(1)"]) == (
        "uv run python -c 'print(1)'")
    assert show_command(["pip", "install", "pkg>=1", "it's"]) == (
        "pip install 'pkg>=1' 'it'\\''s'")


def test_plain_words_are_left_unquoted():
    assert show_command(["uv", "add", "requests==2.31", "--index=https://x.org/simple"]) == (
        "uv add requests==2.31 --index=https://x.org/simple")


def test_an_empty_command_is_shown_empty():
    assert show_command([]) == ""


# --- say ---------------------------------------------------------------------------------


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_say_writes_one_prefixed_line_on_stderr(capsys):
    say("removed .venv")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "venvguard: removed .venv\n"


def test_say_is_plain_when_stderr_is_not_a_terminal(monkeypatch):
    stream = Stream(tty=False)
    monkeypatch.setattr("sys.stderr", stream)
    say("hello")
    assert stream.getvalue() == "venvguard: hello\n"


def test_say_colours_the_prefix_on_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    stream = Stream(tty=True)
    monkeypatch.setattr("sys.stderr", stream)
    say("hello")
    assert stream.getvalue() == "\033[1;33mvenvguard:\033[0m hello\n"


def test_say_is_plain_on_a_terminal_with_no_color(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Stream(tty=True)
    monkeypatch.setattr("sys.stderr", stream)
    say("hello")
    assert "\033" not in stream.getvalue()
    assert stream.getvalue() == "venvguard: hello\n"


def test_say_is_plain_on_a_dumb_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    stream = Stream(tty=True)
    monkeypatch.setattr("sys.stderr", stream)
    say("hello")
    assert stream.getvalue() == "venvguard: hello\n"


class Broken:
    def __init__(self, error):
        self.error = error

    def isatty(self):
        raise self.error

    def write(self, text):
        raise self.error

    def flush(self):
        raise self.error


@pytest.mark.parametrize("error", [OSError(5, "Input/output error"), ValueError("closed")])
def test_say_never_raises_when_stderr_is_gone(monkeypatch, error):
    monkeypatch.setattr("sys.stderr", Broken(error))
    say("after a hang-up the terminal answers EIO")


def test_say_never_raises_on_a_path_that_cannot_be_encoded(monkeypatch):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stderr", stream)
    say("caf\N{LATIN SMALL LETTER E WITH ACUTE}")


def test_the_prefix_is_the_program_name():
    assert messages._prefix().startswith("venvguard:")
