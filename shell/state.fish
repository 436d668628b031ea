# What `venvguard doctor`, typed in fish, is told: printed by `venvguard _shell-state
# fish VERSION` and sourced by the snippet's `venvguard` function (its variables are
# local to this file, and it defines nothing). One tab-separated line each;
# doctor.py reads them.
set -l hook no
functions -q __venvguard_hook; and set hook yes
printf 'shell\tfish %s\npid\t%s\nversion\t%s\nhook\t%s\n' $version $fish_pid '@VERSION@' $hook
for name in $__venvguard_names
    if not functions -q $name
        printf 'name\t%s\tnone\t%s\n' $name (command -s $name)
        continue
    end
    set -l details (functions -Dv $name)
    if string match -q -- '*__venvguard_run *' (functions $name)
        printf 'name\t%s\tvenvguard\t\n' $name
    else
        printf 'name\t%s\tfunction\t%s\n' $name $details[1]
    end
    string match -q -- 'alias *' $details[5]
    and printf 'alias\t%s\t%s\n' $name (string replace -r -- '^alias [^= ]+[= ]' '' $details[5])
end
