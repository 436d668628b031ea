"""`venvguard status`: the runs under way or cut short, and the environments kept
incomplete or broken, one line each or one JSON object.

Standard library only: entry.py runs it without typer, whose import (pydantic
with it) costs a quarter of a second where no bytecode is written, as under
`uv tool install`. cli.py declares the command, for --help, and calls run().
"""

import os
import sys
import time

from venvguard import journal, kept
from venvguard.messages import show_command, show_path

FLAGS = ("--json",)  # exactly the options cli.status declares (a test holds them equal)
NOTHING = "nothing under way, nothing cut short, no environment kept incomplete"


def main(args: list[str]) -> int:
    """`venvguard status [--json]`; entry.py passes only FLAGS, typer gets the rest."""
    return run(as_json="--json" in args)


def run(*, as_json: bool = False) -> int:
    runs = [entry_state(path) for path in journal.listing()]
    records = [record_state(record) for record in kept.prune()]
    if as_json:
        import json

        sys.stdout.write(json.dumps({"runs": runs, "kept": records}, indent=2) + "\n")
        return 0
    lines = [describe_run(run) for run in runs]
    for record in records:
        command = show_command(record["argv"] or ["?"])
        repair = record["repair"] or show_command(record["argv"] or ["?"], limit=200)
        if record["state"] == "broken":
            what = f"broken   {show_path(record['path'])}: {record['reason']}"
        else:
            what = f"kept     {show_path(record['path'])}: may be incomplete"
        lines.append(f"{what} after `{command}` ({ago(record['when'])}); repair: {repair}")
    sys.stdout.write("\n".join(lines or [NOTHING]) + "\n")
    return 0


def record_state(record: dict) -> dict:
    """A kept record as `status` shows it: broken (checked, with what is wrong) or
    incomplete (kept unchecked)."""
    broken = kept.is_broken(record)
    reason = record.get("reason") or ""
    return {
        "path": record["path"],
        "state": "broken" if broken else "incomplete",
        "reason": reason[len(kept.BROKEN):] if broken else reason,
        "argv": record.get("argv") or [],
        "repair": record.get("repair"),
        "cwd": record.get("cwd"),
        "when": record.get("when"),
    }


def entry_state(path: str) -> dict:
    """One journal entry: running (its supervisor holds it), cut short (nobody does),
    elsewhere (another host's), or unreadable."""
    try:
        held = journal.claim(path)
        if held is None:
            data, state = journal.read(path), "running"
        else:
            data = held.data
            held.release()
            state = "cut-short" if data["host"] == os.uname().nodename else "elsewhere"
    except journal.JournalError as e:
        return {"entry": path, "state": "unreadable", "error": str(e)}
    return {
        "entry": path, "state": state, "argv": data["argv"], "cwd": data["cwd"],
        "started": data.get("started"),
        "targets": [{"path": t["path"], "existed": t["existed"] != "absent"}
                    for t in data["targets"]],
    }


def describe_run(run: dict) -> str:
    if run["state"] == "unreadable":
        return f"broken   {show_path(run['entry'])}: {run['error']}"
    label = {"running": "running ", "cut-short": "cut short"}.get(run["state"], run["state"])
    targets = ", ".join(
        f"{show_path(t['path'])} ({'existed' if t['existed'] else 'new'})" for t in run["targets"]
    )
    return (
        f"{label} `{show_command(run['argv'])}` in {show_path(run['cwd'])} "
        f"({ago(run['started'])}): {targets}"
    )


def ago(when: object) -> str:
    if not isinstance(when, int | float):
        return "time unknown"
    seconds = max(0, int(time.time() - when))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"
