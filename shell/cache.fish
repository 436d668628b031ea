# venvguard for fish, cached by `venvguard init fish --cache` and sourced from
# config.fish with no process started. It rewrites itself (one venvguard run) when
# the venvguard on PATH is newer than this file (an upgrade) or the python3.N on
# PATH are no longer the ones it wraps. Do not edit: it is rewritten.

# Is this file out of date? $argv: the python3.N it wraps, the PATH it was made
# with (joined by :), this file. Builtins only, and a stat per PATH directory while
# neither PATH nor anything in it changed (installing into a directory touches it).
function __venvguard_cache_stale --argument-names cached made_with file
    for dir in $PATH
        string match -q "/*" -- $dir; and test "$dir" -nt "$file"; and return 0
    end
    set -l venvguard (command -s venvguard)
    if test -n "$venvguard"; and test "$venvguard" -nt "$file"
        return 0
    end
    test (string join : -- $PATH) = "$made_with"; and return 1
    set -l found
    for dir in $PATH
        for candidate in $dir/python3.*
            set -l name (path basename -- $candidate)
            if string match -qr '^python3\.([6-9]|[12][0-9])$' -- $name; and not contains -- $name $found
                set -a found $name
            end
        end
    end
    set -l want (string split -n ' ' -- $cached)
    test (count $found) -ne (count $want); and return 0
    for name in $found
        contains -- $name $want; or return 0
    end
    return 1
end

if not set -q __venvguard_regen; and __venvguard_cache_stale '@PYTHONS@' '@PATH@' (status filename); and command -q venvguard
    set -g __venvguard_regen 1
    if command venvguard init fish --cache >/dev/null
        functions -e __venvguard_cache_stale
        source (status filename)
        set -e __venvguard_regen
        return 0
    end
    set -e __venvguard_regen
end
functions -e __venvguard_cache_stale
