"""pdm: not guarded yet (stub)."""


def plan(program, args, cwd, environ):
    return None
