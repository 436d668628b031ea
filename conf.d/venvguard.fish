# venvguard for fisher (`fisher install` copies this file to ~/.config/fish/conf.d/).
# Where venvguard is on PATH this sources the snippet `venvguard init fish --cache`
# keeps in ${XDG_CACHE_HOME:-~/.cache}/venvguard/init.fish, with no process started;
# when that file is missing, it runs `venvguard init fish --cache` once, which writes
# it and prints the line that sources it. Where venvguard is not installed it does
# nothing, silently, and leaves $status at 0.

if command -q venvguard
    set -l __venvguard_cache $XDG_CACHE_HOME
    string match -q '/*' -- "$__venvguard_cache"; or set __venvguard_cache $HOME/.cache
    if test -r $__venvguard_cache/venvguard/init.fish
        source $__venvguard_cache/venvguard/init.fish
    else
        command venvguard init fish --cache | source
    end
end
