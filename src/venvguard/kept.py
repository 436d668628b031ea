"""Environments venvguard kept although a run may have left them incomplete.

One small file per environment under `$XDG_STATE_HOME/venvguard/kept/`, so that
`venvguard status` can list them with the command that repairs each. A record
goes away when a later guarded run on the same path finishes, or when the path
is gone. The broken ones are also listed in `$XDG_STATE_HOME/venvguard/broken`,
one line each (the environment's directory, a tab, what to say), which the prompt
hook reads with shell builtins when you enter a directory, to say it once there.
"""

import os
import time

from venvguard.journal import JournalError, kept_dir, read_private_json, state_dir
from venvguard.messages import printable

BROKEN = "broken: "  # a record's reason for a broken environment, then what is broken


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
    write_index()


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
    dropped = False
    for file, record in records():
        if record["path"] in wanted:
            try:
                os.unlink(file)
                dropped = True
            except OSError:
                pass
    if dropped:
        write_index()


def finished_on(paths: list[str], argv: list[str]) -> None:
    """A guarded run on these paths finished: drop their records, except a broken
    environment's that does not check whole yet (a finished `uv sync` does not
    reinstall a package whose metadata says it is there): that one stays, said."""
    wanted = set(paths)
    still = []
    for file, record in records():
        if record["path"] not in wanted:
            continue
        if is_broken(record):
            damage = broken_now(record["path"])
            if damage:
                still.append((record, damage))
                continue
        try:
            os.unlink(file)
        except OSError:
            pass
    for record, damage in still:
        from venvguard.messages import say, show_command, show_path

        say(f"{show_path(record['path'])} is still broken after "
            f"`{show_command(argv)}`: {damage}; repair: `{record.get('repair')}`")
    write_index()


def is_broken(record: dict) -> bool:
    """Is this the record of an environment found broken (not one merely kept)?"""
    return (record.get("reason") or "").startswith(BROKEN)


def broken_now(path: str) -> str | None:
    """What is broken in the environment at `path`, checked whole against RECORD;
    None if nothing (or it cannot be read)."""
    from venvguard import removal, verify

    try:
        fd = os.open(path, removal.DIR_FLAGS)
    except OSError:
        return None
    try:
        report = verify.check(fd, since=0.0)
        verify.close(report)
    finally:
        os.close(fd)
    broken = report.broken
    return verify.damage(broken) or None


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
    write_index(remaining)
    return remaining


def index_path() -> str:
    return os.path.join(state_dir(), "broken")


def write_index(current: list[dict] | None = None) -> None:
    """Rewrite the prompt hook's list of broken environments (atomically; best
    effort). A path with a tab or a line break in it cannot be listed, and is not."""
    if current is None:
        current = [record for _file, record in records()]
    lines = []
    for record in current:
        reason, path = record.get("reason") or "", record["path"]
        if is_broken(record) and not any(c in path for c in "\t\n\r"):
            text = printable(f"{os.path.basename(path)} here: {reason[len(BROKEN):]}; "
                             "`venvguard repair` repairs it")
            lines.append(f"{os.path.dirname(path)}\t{text}\n")
    path = index_path()
    try:
        if not lines:
            if os.path.lexists(path):
                os.unlink(path)
            return
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.replace(tmp, path)
    except OSError:
        pass
