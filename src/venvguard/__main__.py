"""`python -m venvguard`: the same as the `venvguard` command."""

from venvguard.entry import main

main()
