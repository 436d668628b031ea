# venvguard for fish: venvguard init fish | source   in ~/.config/fish/config.fish
#
# Wraps the commands that create or change Python environments. A call that may
# create or change one runs under `venvguard exec`, which removes what an
# interrupted or failed run made; every other call runs the real command directly.
# Nothing here starts a process unless a call is guarded or a run was cut short.

if status is-interactive

    # Route one call: $argv[1] is the command, the rest its arguments.
    function __venvguard_run
        if test "$VENVGUARD_DISABLE" != 1; and __venvguard_guarded $argv; and command -q venvguard
            set argv venvguard exec -- $argv
        end
        # fish runs a function in the foreground even when its line ends with `&`:
        # when the typed line sends this call to the background, do it from here,
        # through eval so that `jobs` shows the command, not this line.
        if string match -qr -- '&\s*$' (status current-commandline)
            eval (string escape -- command $argv) '&'
        else
            command $argv
        end
    end

    # Could this call create or change an environment? A cheap over-approximation:
    # the supervisor reads the arguments exactly and execs the tool when it cannot.
    function __venvguard_guarded
        set -l name $argv[1]
        # tox and nox: every run but the ones that only print
        switch "$name:$argv[2]"
            case tox:-h tox:--help tox:--version tox:l tox:list tox:c tox:config
                return 1
            case nox:-h nox:--help nox:--version nox:-l nox:--list nox:--list-sessions
                return 1
            case 'tox:*' 'nox:*' 'virtualenv:*'
                return 0
        end
        for arg in $argv[2..-1]
            switch $name:$arg
                case uv:sync uv:add uv:remove uv:venv uv:run uv:version
                    return 0
                case uv:install uv:uninstall uv:upgrade # uv pip, uv tool, uv python
                    return 0
                case 'python*:venv' 'python*:virtualenv' 'python*:-mvenv' 'python*:-mvirtualenv' 'python*:pip' 'python*:-mpip'
                    return 0
                case pip:install pip3:install 'pip3.*:install' pip:uninstall pip3:uninstall 'pip3.*:uninstall'
                    return 0
                case poetry:install poetry:sync poetry:add poetry:remove poetry:update poetry:lock poetry:use poetry:run poetry:shell
                    return 0
                case pdm:install pdm:sync pdm:add pdm:remove pdm:update pdm:lock pdm:create pdm:use pdm:run
                    return 0
                case hatch:create hatch:run hatch:shell hatch:test
                    return 0
                case pipenv:install pipenv:sync pipenv:update pipenv:upgrade pipenv:lock pipenv:uninstall pipenv:run pipenv:shell
                    return 0
                case pixi:install pixi:add pixi:remove pixi:run pixi:shell
                    return 0
            end
        end
        return 1
    end

    # Before every prompt: settle runs whose supervisor is gone (kill -9, a closed
    # terminal), but only start Python when the journal holds such a run. fish has
    # no kill builtin: a live pid is one with a /proc entry (elsewhere: settle).
    function __venvguard_hook --on-event fish_prompt
        test "$VENVGUARD_DISABLE" = 1; and return
        set -l state $XDG_STATE_HOME
        test -n "$state"; or set state $HOME/.local/state
        set -l entries $state/venvguard/runs/$hostname/*.json
        test -n "$entries"; or return
        # The pid each entry is named after: alive if /proc has it (a zombie nobody
        # reaps, as under a container's pid 1, has lost its cwd there).
        for entry in $entries
            # A named capture sets $pid with no command substitution (it is cheaper).
            string match -qr -- '/(?<pid>[0-9]+)\.[^/]*$' $entry; or continue
            if not test -e /proc/$pid/cwd
                command -q venvguard; and command venvguard _settle
                break
            end
        end
    end

    # Once when you enter a directory whose environment venvguard found broken, say
    # so: its list (written by venvguard, one "directory<TAB>text" line each) is read
    # with builtins, only when the directory changed.
    function __venvguard_remind --on-event fish_prompt
        test "$VENVGUARD_DISABLE" = 1; and return
        test "$PWD" = "$__venvguard_pwd"; and return
        set -g __venvguard_pwd $PWD
        set -l state $XDG_STATE_HOME
        test -n "$state"; or set state $HOME/.local/state
        set -l file $state/venvguard/broken
        if test -f $file
            while read -l line
                set -l dir_text (string split -m 1 \t -- $line)
                set -l dir $dir_text[1]
                if test -n "$dir"; and begin
                        test "$PWD" = "$dir"; or string match -q -- "$dir/*" "$PWD"
                    end
                    test "$__venvguard_told" = "$dir"; or printf 'venvguard: %s\n' $dir_text[2] >&2
                    set -g __venvguard_told $dir
                    return
                end
            end <$file
        end
        set -g __venvguard_told
    end

    # `venvguard doctor` typed here is told what only this shell knows (a process
    # cannot look into its parent): the script `venvguard _shell-state` prints says
    # what this shell has loaded (shell/state.fish), and the version is this
    # snippet's. Every other venvguard command goes straight on (to the background
    # too, as __venvguard_run does it).
    function venvguard
        if test "$argv[1]" = doctor
            set -l state (command venvguard _shell-state fish '@VERSION@' | source | string collect)
            VENVGUARD_SHELL_STATE=$state command venvguard $argv
        else if string match -qr -- '&\s*$' (status current-commandline)
            eval (string escape -- command venvguard $argv) '&'
        else
            command venvguard $argv
        end
    end

    # A wrapper for each name, but for a name the user has made a function of before
    # this line (or, for the python ones, before the first prompt; autoloaded ones
    # too): that function stays as it is, unguarded, and is listed in the exported
    # VENVGUARD_SKIPPED (names, space-separated) for `venvguard doctor` to tell. An
    # alias of the name itself (`alias uv='uv --color never'`, which fish makes a
    # function running `command uv --color never $argv`) is wrapped with its words
    # and keeps its description, so that sourcing this again wraps it again; an alias
    # of another command (`alias pip='python3 -m pip'`) is left to run that, as in
    # bash and zsh; a wrapper of ours from an earlier source is made again.
    function __venvguard_wrap
        set -ga __venvguard_names $argv
        # The status of `functions -q` is how many of the names are not functions;
        # with one name that never is, it is past the last of $argv when none is (a
        # shell start: then no name needs a look of its own).
        functions -q $argv __venvguard_never_a_function
        if set -q argv[$status]
            set -l plain
            for name in $argv
                if not functions -q $name
                    set -a plain $name
                    continue
                end
                # Line 5 of the details is the description, `alias NAME=VALUE` for
                # an alias; its first word is found as alias itself finds it.
                set -l details (functions -Dv $name)
                set -l words
                set -l value (string replace -rf -- '^alias '(string escape --style=regex -- $name)'[= ]' '' "$details[5]")
                and printf '%s\n' $value | read --list words
                if test "$words[1]" = $name
                    echo "function $name --wraps $name --description "(string escape -- "$details[5]")"
                        __venvguard_run $value \$argv
                    end" | source
                else if set -q value[1]
                    # an alias of another command: it runs that, as in bash and zsh
                else if string match -q -- '*__venvguard_run $name $argv*' (functions $name)
                    set -a plain $name # ours
                else
                    set -gx VENVGUARD_SKIPPED $VENVGUARD_SKIPPED $name # exported joined by spaces
                end
            end
            set argv $plain
        end
        for name in $argv
            function $name --wraps $name --inherit-variable name
                __venvguard_run $name $argv
            end
        end
    end

    set -e VENVGUARD_SKIPPED # what an outer shell said, or an earlier source
    set -g __venvguard_names
    __venvguard_wrap uv virtualenv pip pip3 poetry pdm hatch pipenv tox nox pixi

    # The python wrappers come at the first prompt: fish's own first-start work runs
    # `python3 ... &` (its completion generator) from a handler of that event that
    # fires before this one, and it must find the real python3, not a function.
    function __venvguard_wrap_pythons --on-event fish_prompt
        functions -e __venvguard_wrap_pythons
        __venvguard_wrap python python3
    end

end
