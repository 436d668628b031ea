"""`venvguard completion [SHELL]`: print venvguard's own completion script.

The scripts are static files (shell/completions/, generated from the typer app by
tests/unit/gen_completions.py when a command changes): this prints one byte for
byte, with the standard library only. install.sh puts them where each shell finds
them, so nothing is generated at shell start.
"""

import os
import sys

from venvguard import init

USAGE = "usage: venvguard completion [bash|zsh|fish]"
FILES = {"bash": "venvguard.bash", "zsh": "_venvguard", "fish": "venvguard.fish"}
DIRECTORY = os.path.join(init.SHELL_DIR, "completions")


def main(args: list[str]) -> int:
    shell = init.named_shell(args, "completion", USAGE)
    if shell is None:
        return 2
    with open(os.path.join(DIRECTORY, FILES[shell]), "rb") as f:
        sys.stdout.buffer.write(f.read())
    return 0
