"""`venvguard clean`: settle the runs that were cut short (kill -9 of supervisor and
watchdog, a crash, a reboot) as the prompt hook does; with --dry-run say what would
be done; with --json, one JSON object on stdout naming, for each run, what was
(would be) done to each of its environments and why.

Standard library only: entry.py runs it without typer, whose import (pydantic
with it) costs a quarter of a second where no bytecode is written, as under
`uv tool install`. cli.py declares the command, for --help, and calls run().
"""

import sys

from venvguard import settle
from venvguard.messages import say

FLAGS = ("--dry-run", "-n", "--json")  # exactly cli.clean's options (a test holds them equal)


def main(args: list[str]) -> int:
    """`venvguard clean [--dry-run|-n] [--json]`; entry.py passes only FLAGS, typer
    gets the rest."""
    return run(dry_run="--dry-run" in args or "-n" in args, as_json="--json" in args)


def run(*, dry_run: bool = False, as_json: bool = False) -> int:
    """Settle (or, dry, look at) every orphaned run. The one-line messages go to
    stderr as ever; under --json stdout holds the JSON object and nothing else:

        {"dry_run": false,
         "settled": [{"entry", "argv", "cwd", "started", "outcome",
                      "targets": [{"path", "existed", "action", "reason", "message",
                                   ...}]}],
         "unreadable": [{"entry", "error", "set_aside"}]}

    action: removed, kept, restored or nothing (dry: would-remove, would-keep,
    would-restore, nothing); reason: the policy's word for why (created, existed,
    busy, protected, unplanned, ...); message: the line said (or that would be)."""
    if not as_json:
        if settle.orphans(dry_run=dry_run) == 0:
            say("nothing to settle")
        return 0
    report: list[dict] = []
    settle.orphans(dry_run=dry_run, report=report)
    import json

    result = {
        "dry_run": dry_run,
        "settled": [r for r in report if r["outcome"] != "unreadable"],
        "unreadable": [{k: r[k] for k in ("entry", "error", "set_aside")}
                       for r in report if r["outcome"] == "unreadable"],
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0
