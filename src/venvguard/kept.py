"""Environments venvguard kept although a run may have left them incomplete.

One small file per environment under `$XDG_STATE_HOME/venvguard/kept/`, so that
`venvguard status` can list them with the command that repairs each. A record
goes away when a later guarded run on the same path finishes, or when the path
is gone.
"""

import os
import time

from venvguard.journal import JournalError, kept_dir, read_private_json


def remember(path: str, *, reason: str, argv: list[str], repair: str | None,
             cwd: str | None = None) -> None:
    """Record (or refresh) one kept environment, with the directory its run ran in
    (where its repair runs); best effort, never raises."""
    import json

    record = {"path": path, "reason": reason, "argv": argv, "repair": repair, "cwd": cwd,
              "when": time.time()}
    directory = kept_dir()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        forget([path])
        name = os.path.join(directory, f"{os.getpid()}.{os.urandom(4).hex()}.json")
        tmp = os.path.join(directory, "." + os.path.basename(name) + ".tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, name)
    except OSError:
        pass


def records() -> list[tuple[str, dict]]:
    """(file, record) for each readable record; unreadable ones are skipped."""
    directory = kept_dir()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    out = []
    for name in names:
        if name.startswith(".") or not name.endswith(".json"):
            continue
        file = os.path.join(directory, name)
        try:
            record = read_private_json(file)
        except (OSError, JournalError):
            continue
        if _well_formed(record):
            out.append((file, record))
    return out


def _well_formed(record: object) -> bool:
    return (
        isinstance(record, dict) and isinstance(record.get("path"), str)
        and isinstance(record.get("argv"), list) and bool(record["argv"])
        and all(isinstance(w, str) for w in record["argv"])
        and (record.get("repair") is None or isinstance(record["repair"], str))
        and (record.get("reason") is None or isinstance(record["reason"], str))
        and (record.get("cwd") is None or isinstance(record["cwd"], str))
        and (record.get("when") is None or type(record["when"]) in (int, float))
    )


def forget(paths: list[str]) -> None:
    """Drop the records of these paths (a later run finished them)."""
    if not os.path.isdir(kept_dir()):
        return
    wanted = set(paths)
    for file, record in records():
        if record["path"] in wanted:
            try:
                os.unlink(file)
            except OSError:
                pass


def prune() -> list[dict]:
    """Drop records whose path is gone; return the ones that remain."""
    remaining = []
    for file, record in records():
        if os.path.lexists(record["path"]):
            remaining.append(record)
        else:
            try:
                os.unlink(file)
            except OSError:
                pass
    return remaining
