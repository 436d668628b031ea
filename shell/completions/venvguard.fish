# venvguard's completion for fish. Generated from venvguard's commands by
# tests/unit/gen_completions.py: do not edit, regenerate with
# `python3 tests/unit/gen_completions.py`. `venvguard completion fish` prints it;
# fish loads it from
# ${XDG_CONFIG_HOME:-~/.config}/fish/completions/venvguard.fish.

# __venvguard_after COMMAND [N]: true when the word at the cursor comes after
# `venvguard COMMAND` (with N: after exactly N arguments of it, options not counted).
function __venvguard_after
    set -l typed (commandline -opc)
    set -e typed[1]
    set -l arguments (string match -v -- '-*' $typed)
    test "$arguments[1]" = $argv[1]; or return
    set -q argv[2]; or return 0
    test (count $arguments) -eq (math $argv[2] + 1)
end

complete -c venvguard -f
complete -c venvguard -n __fish_use_subcommand -l version -s V -d 'Show the version.'
complete -c venvguard -n __fish_use_subcommand -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n __fish_use_subcommand -a init -d 'Print the shell integration for your rc file.'
complete -c venvguard -n __fish_use_subcommand -a completion -d 'Print venvguard\'s completion script for a shell (install.sh puts it in place).'
complete -c venvguard -n __fish_use_subcommand -a exec -d 'Run a command under watch. For scripts, Makefiles and CI.'
complete -c venvguard -n __fish_use_subcommand -a run -d 'The same as exec.'
complete -c venvguard -n __fish_use_subcommand -a status -d 'List runs that are under way or were cut short, and environments kept incomplete.'
complete -c venvguard -n __fish_use_subcommand -a repair -d 'Run the command that repairs a broken environment, then check it whole again.'
complete -c venvguard -n __fish_use_subcommand -a scan -d 'Find every environment below DIRECTORY: whole, half-made or broken. Exit 1 if any is not whole.'
complete -c venvguard -n __fish_use_subcommand -a clean -d 'Settle runs that were cut short (kill -9, a crash, a reboot), as the prompt hook does.'
complete -c venvguard -n __fish_use_subcommand -a config -d 'Show the effective settings and where each came from (the default, config.toml, or a VENVGUARD_* variable); exit 1 if one could not be used.'
complete -c venvguard -n __fish_use_subcommand -a doctor -d 'Check the installation: PATH, state directory, tools and shells; exit 1 on a problem.'

# venvguard init
complete -c venvguard -n '__venvguard_after init' -l cache -d 'Write the snippet to ~/.cache/venvguard/init.SHELL and print the line that sources it: shell start-up then starts no process.'
complete -c venvguard -n '__venvguard_after init' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after init 0' -a 'bash zsh fish'

# venvguard completion
complete -c venvguard -n '__venvguard_after completion' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after completion 0' -a 'bash zsh fish'

# venvguard exec
complete -c venvguard -n '__venvguard_after exec 0; and not contains -- -- (commandline -opc)' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after exec' -a '(__fish_complete_subcommand --fcs-skip=2)'

# venvguard run
complete -c venvguard -n '__venvguard_after run 0; and not contains -- -- (commandline -opc)' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after run' -a '(__fish_complete_subcommand --fcs-skip=2)'

# venvguard status
complete -c venvguard -n '__venvguard_after status' -l json -d 'One JSON object, for scripts.'
complete -c venvguard -n '__venvguard_after status' -l help -s h -d 'Show this message and exit.'

# venvguard repair
complete -c venvguard -n '__venvguard_after repair' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after repair 0' -a '(__fish_complete_directories)'

# venvguard scan
complete -c venvguard -n '__venvguard_after scan' -l fix -d 'Sweep leftovers, run repairs, remove half-made environments (asking first on a terminal).'
complete -c venvguard -n '__venvguard_after scan' -l yes -s y -d 'With --fix: do not ask.'
complete -c venvguard -n '__venvguard_after scan' -l json -d 'A JSON list, one object per environment, for scripts (with --fix: after fixing).'
complete -c venvguard -n '__venvguard_after scan' -l help -s h -d 'Show this message and exit.'
complete -c venvguard -n '__venvguard_after scan 0' -a '(__fish_complete_directories)'

# venvguard clean
complete -c venvguard -n '__venvguard_after clean' -l dry-run -s n -d 'Say what would be done.'
complete -c venvguard -n '__venvguard_after clean' -l json -d 'One JSON object, for scripts: what was (would be) done to each environment, and why.'
complete -c venvguard -n '__venvguard_after clean' -l help -s h -d 'Show this message and exit.'

# venvguard config
complete -c venvguard -n '__venvguard_after config' -l json -d 'One JSON object, for scripts.'
complete -c venvguard -n '__venvguard_after config' -l help -s h -d 'Show this message and exit.'

# venvguard doctor
complete -c venvguard -n '__venvguard_after doctor' -l json -d 'One JSON object, for scripts.'
complete -c venvguard -n '__venvguard_after doctor' -l help -s h -d 'Show this message and exit.'
