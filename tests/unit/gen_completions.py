"""Generate shell/completions/: venvguard's own completion for bash, zsh and fish.

    python3 tests/unit/gen_completions.py

reads venvguard's typer app (every command but the private ones, the first
paragraph of its help, every option with its help) and writes venvguard.bash,
_venvguard (zsh) and venvguard.fish, and completions/venvguard.fish (the same, for
fisher). They are static files: nothing is generated at shell start, and
`venvguard completion SHELL` only prints one.
test_completions.py checks that the committed files are what this writes for the
current app.

What a positional argument takes is not in the app: VALUES says it, by command and
argument name. An argument missing from VALUES, an option that takes a value, or a
command that takes extra words stops the generator with the fix to make, so that
no command ships without completion.
"""

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "shell" / "completions"
FILES = {"bash": "venvguard.bash", "zsh": "_venvguard", "fish": "venvguard.fish"}
# fisher copies a plugin's completions/*.fish to ~/.config/fish/completions/: a real
# copy of the fish file (a symlink would put a link in the sdist).
FISHER_COPY = ROOT / "completions" / "venvguard.fish"
REGENERATE = "python3 tests/unit/gen_completions.py"
# install.sh removes only a file whose header holds this (never a user's own file).
MARK = "Generated from venvguard's commands"

SHELLS = ("bash", "zsh", "fish")  # words
DIRECTORY = "directory"  # a directory name
COMMAND = "command"  # a command name, then that command's own completion
# What each positional argument takes, by (command, argument name); ("exec", "...")
# is what follows `venvguard exec` (after `--`, or its first word that is no option).
VALUES = {
    ("init", "shell"): SHELLS,
    ("completion", "shell"): SHELLS,
    ("repair", "environment"): DIRECTORY,
    ("scan", "directory"): DIRECTORY,
    ("exec", "..."): COMMAND,
    ("run", "..."): COMMAND,
}


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]  # long names first, as --help shows them
    help: str


@dataclass(frozen=True)
class Command:
    name: str
    help: str  # the first paragraph of its help, on one line
    options: tuple[Option, ...]
    value: tuple[str, ...] | str | None  # what its positional argument takes, if any


def one_line(text: str) -> str:
    return " ".join(text.split())


def read_app():
    """(the top level's options, the commands), from venvguard's typer app."""
    import typer

    from venvguard.cli import app

    group = typer.main.get_command(app)
    top = group.context_class(group, info_name="venvguard", **group.context_settings)
    commands = []
    for name in group.list_commands(top):
        command = group.commands[name]
        if command.hidden or name.startswith("_"):  # `_settle`: the prompt hook's
            continue
        context = command.context_class(command, info_name=name, parent=top)
        options, arguments = [], []
        for param in command.get_params(context):
            if param.param_type_name == "argument":
                arguments.append(param.name)
            elif not param.is_flag:
                fail(f"`venvguard {name} {param.opts[0]}` takes a value: add what it takes "
                     "to the generator (VALUES and each shell's writer)")
            else:
                options.append(option(param))
        if command.context_settings.get("allow_extra_args"):
            arguments.append("...")
        if len(arguments) > 1:
            fail(f"`venvguard {name}` takes {len(arguments)} arguments: the generator "
                 "completes one")
        value = None
        for argument in arguments:
            if (name, argument) not in VALUES:
                fail(f"no kind for the argument {argument!r} of `venvguard {name}`: "
                     "say what it takes in VALUES")
            value = VALUES[(name, argument)]
        paragraph = (command.help or "").strip().split("\n\n")[0]
        commands.append(Command(name, one_line(paragraph), tuple(options), value))
    return tuple(option(p) for p in group.get_params(top)), tuple(commands)


def option(param) -> Option:
    names = sorted([*param.opts, *param.secondary_opts], key=lambda n: not n.startswith("--"))
    return Option(tuple(names), one_line(param.help or ""))


def fail(reason: str) -> None:
    raise SystemExit(f"gen_completions.py: {reason}")


def header(shell: str, where: str) -> str:
    """The comment the file starts with (after zsh's #compdef line)."""
    return (f"# venvguard's completion for {shell}. {MARK} by\n"
            f"# tests/unit/gen_completions.py: do not edit, regenerate with\n"
            f"# `{REGENERATE}`. `venvguard completion {shell}` prints it;\n"
            f"# {where}\n")


def words(names) -> str:
    return " ".join(names)


# --- bash --------------------------------------------------------------------------


def bash(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    """One function: find the command, then complete what its word at the cursor is."""
    cases = {}  # the body of a case, to the commands that share it
    for command in commands:
        options = words(n for o in command.options for n in o.names)
        if command.value == COMMAND:
            body = f"__venvguard_complete_exec '{options}' \"$at\" \"$cur\""
        else:
            values = ""
            if isinstance(command.value, tuple):
                values = ("\n      elif ((args == 0)); then\n        __venvguard_reply "
                          f"-W '{words(command.value)}' -- \"$cur\"")
            elif command.value == DIRECTORY:
                values = ("\n      elif ((args == 0)); then\n        compopt -o filenames\n"
                          "        __venvguard_reply -d -- \"$cur\"")
            body = (f"if [[ $cur == -* ]]; then\n        __venvguard_reply -W '{options}' -- "
                    f"\"$cur\"{values}\n      fi")
        cases.setdefault(body, []).append(command.name)
    arms = "".join(f"    {' | '.join(names)})\n      {body}\n      ;;\n"
                   for body, names in cases.items())
    top_options = words(n for o in top for n in o.names)
    return header("bash", "bash-completion loads it at the first TAB from\n"
                  "# ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/venvguard;\n"
                  "# without bash-completion, source it.") + f"""
# The word at the cursor, by what comes before it: the command (the first word that
# is no option), then its options and its argument.
_venvguard() {{
  local cur=${{COMP_WORDS[COMP_CWORD]-}} command='' at=0 args=0 i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${{COMP_WORDS[i]-}} == -* ]]; then
      continue
    elif [[ -z $command ]]; then
      command=${{COMP_WORDS[i]}}
      at=$i
    else
      args=$((args + 1))
    fi
  done
  case $command in
    '')
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '{top_options}' -- "$cur"
      else
        __venvguard_reply -W '{words(c.name for c in commands)}' -- "$cur"
      fi
      ;;
{arms}  esac
  return 0
}}

# COMPREPLY: what compgen ARGS prints, one word a line.
__venvguard_reply() {{
  mapfile -t COMPREPLY < <(compgen "$@")
}}

# exec and run: their own OPTIONS until `--` or the first other word, which is a
# command name; after it, that command's own completion (bash-completion's), else
# file names.
__venvguard_complete_exec() {{
  local options=$1 cur=$3 i=$(($2 + 1))
  while ((i < COMP_CWORD)); do
    case ${{COMP_WORDS[i]-}} in
      --)
        i=$((i + 1))
        break
        ;;
      -*) i=$((i + 1)) ;;
      *) break ;;
    esac
  done
  if ((i == COMP_CWORD)) && [[ $cur == -* && ${{COMP_WORDS[i - 1]-}} != -- ]]; then
    __venvguard_reply -W "$options --" -- "$cur"
  elif declare -F _comp_command_offset >/dev/null; then
    _comp_command_offset "$i"
  elif declare -F _command_offset >/dev/null; then
    _command_offset "$i"
  elif ((i == COMP_CWORD)); then
    __venvguard_reply -c -- "$cur"
  else
    compopt -o filenames
    __venvguard_reply -f -- "$cur"
  fi
}}

complete -F _venvguard venvguard
"""


# --- zsh ---------------------------------------------------------------------------


def zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def zsh_specs(options: tuple[Option, ...], indent: str) -> str:
    """_arguments specs, one name a line: --help and --version end the line (`- *`),
    the names of one option exclude each other."""
    specs = []
    for opt in options:
        ends = opt.names[0] in ("--help", "--version")
        exclusive = "(- *)" if ends else (f"({' '.join(opt.names)})" if len(opt.names) > 1
                                          else "")
        explanation = re.sub(r"([\\\[\]])", r"\\\1", opt.help)
        specs.extend(zsh_quote(f"{exclusive}{name}[{explanation}]") for name in opt.names)
    return "".join(f" \\\n{indent}{spec}" for spec in specs)


def zsh(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    """_arguments for the top level, then for the command (`*::` leaves its words)."""
    cases = {}
    for command in commands:
        specs = zsh_specs(command.options, " " * 8)
        if command.value == COMMAND:  # after `--`, or after its options: a command line
            body = ("if [[ $words[2] == -- ]] && ((CURRENT > 2)); then\n"
                    "        shift 2 words\n        ((CURRENT -= 2))\n        _normal\n"
                    f"      else\n        _arguments -S{zsh_specs(command.options, ' ' * 10)}"
                    " \\\n          '*::command:_normal'\n      fi")
        elif isinstance(command.value, tuple):
            body = f"_arguments{specs} \\\n        ':shell:({words(command.value)})'"
        elif command.value == DIRECTORY:
            body = f"_arguments{specs} \\\n        ':directory:_directories'"
        else:
            body = f"_arguments{specs}"
        cases.setdefault(body, []).append(command.name)
    arms = "".join(f"    ({'|'.join(names)})\n      {body} && ret=0\n      ;;\n"
                   for body, names in cases.items())
    described = "".join(f"\n    {zsh_quote(c.name + ':' + c.help)}" for c in commands)
    return "#compdef venvguard\n" + header(
        "zsh", "compinit finds it on $fpath as _venvguard; sourced after\n"
               "# compinit, it registers itself.") + f"""
_venvguard() {{
  local curcontext=$curcontext state line ret=1
  local -A opt_args
  _arguments -C{zsh_specs(top, "    ")} \\
    ':command:__venvguard_complete_commands' \\
    '*:: :->command' && ret=0
  [[ $state == command ]] || return ret
  curcontext=${{curcontext%:*:*}}:venvguard-$words[1]:
  case $words[1] in
{arms}  esac
  return ret
}}

__venvguard_complete_commands() {{
  local -a commands=({described}
  )
  _describe -t commands 'venvguard command' commands
}}

if [[ ${{funcstack[1]-}} == _venvguard ]]; then
  _venvguard "$@" # autoloaded: this file is the function's body
else
  compdef _venvguard venvguard
fi
"""


# --- fish --------------------------------------------------------------------------


def fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_options(options: tuple[Option, ...], condition: str) -> str:
    lines = []
    for opt in options:
        flags = " ".join(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}"
                         for n in opt.names)
        lines.append(f"complete -c venvguard -n {condition} {flags} -d {fish_quote(opt.help)}")
    return "".join(line + "\n" for line in lines)


def fish(top: tuple[Option, ...], commands: tuple[Command, ...]) -> str:
    """One `complete` line per command, option and argument, each with its condition."""
    out = [fish_options(top, "__fish_use_subcommand")]
    out += [f"complete -c venvguard -n __fish_use_subcommand -a {c.name} -d {fish_quote(c.help)}\n"
            for c in commands]
    for command in commands:
        out.append(f"\n# venvguard {command.name}\n")
        if command.value == COMMAND:
            before = fish_quote(f"__venvguard_after {command.name} 0; "
                                "and not contains -- -- (commandline -opc)")
            out.append(fish_options(command.options, before))
            out.append(f"complete -c venvguard -n {fish_quote('__venvguard_after ' + command.name)}"
                       " -a '(__fish_complete_subcommand --fcs-skip=2)'\n")
            continue
        out.append(fish_options(command.options,
                                fish_quote(f"__venvguard_after {command.name}")))
        first = fish_quote(f"__venvguard_after {command.name} 0")
        if isinstance(command.value, tuple):
            out.append(f"complete -c venvguard -n {first} -a {fish_quote(words(command.value))}\n")
        elif command.value == DIRECTORY:
            out.append(f"complete -c venvguard -n {first} -a '(__fish_complete_directories)'\n")
    return header("fish", "fish loads it from\n"
                  "# ${XDG_CONFIG_HOME:-~/.config}/fish/completions/venvguard.fish.") + """
# __venvguard_after COMMAND [N]: true when the word at the cursor comes after
# `venvguard COMMAND` (with N: after exactly N arguments of it, options not counted).
function __venvguard_after
    set -l typed (commandline -opc)
    set -e typed[1]
    set -l arguments (string match -v -- '-*' $typed)
    test "$arguments[1]" = $argv[1]; or return
    set -q argv[2]; or return 0
    test (count $arguments) -eq (math $argv[2] + 1)
end

complete -c venvguard -f
""" + "".join(out)


WRITERS = {"bash": bash, "zsh": zsh, "fish": fish}


def generate() -> dict[str, str]:
    """{file name: its text} for the current app."""
    top, commands = read_app()
    return {FILES[shell]: WRITERS[shell](top, commands) for shell in FILES}


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    files = {OUTPUT / name: text for name, text in generate().items()}
    files[FISHER_COPY] = files[OUTPUT / FILES["fish"]]
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
