"""Install the environment tools the end-to-end tests drive (tests/tools.txt) into
one virtual environment of their own, tests/.tools, from PyPI.

Run it once before the tests (the README's test command does); the tests
themselves use no network. Does nothing when tests/.tools already holds exactly
what tests/tools.txt asks for.
"""

import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, ".tools")
REQUIREMENTS = os.path.join(HERE, "tools.txt")
STAMP = os.path.join(TOOLS, "installed-from.txt")


def main() -> int:
    with open(REQUIREMENTS, encoding="utf-8") as f:
        wanted = f.read()
    try:
        with open(STAMP, encoding="utf-8") as f:
            if f.read() == wanted:
                return 0
    except FileNotFoundError:
        pass
    venv.create(TOOLS, with_pip=True, clear=True)
    pip = [os.path.join(TOOLS, "bin", "python"), "-m", "pip"]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([*pip, "install", "-q", "-r", REQUIREMENTS], check=True, env=env)
    with open(STAMP, "w", encoding="utf-8") as f:
        f.write(wanted)
    print(f"installed the tools of {os.path.relpath(REQUIREMENTS)} into {os.path.relpath(TOOLS)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
