# What `venvguard doctor`, typed in zsh, is told: printed by `venvguard _shell-state
# zsh VERSION` and run by the snippet's `venvguard` function in a subshell. One
# tab-separated line each; doctor.py reads them.
() {
  emulate -L zsh
  local name hook=no
  (( ${precmd_functions[(Ie)__venvguard_hook]} )) && hook=yes
  printf 'shell\tzsh %s\npid\t%s\nversion\t%s\nhook\t%s\n' $ZSH_VERSION $$ '@VERSION@' $hook
  for name in $__venvguard_names; do
    if (( ! ${+functions[$name]} )); then
      printf 'name\t%s\tnone\t%s\n' $name "${commands[$name]-}"
    elif [[ ${functions[$name]} == *"__venvguard_run $name \"\$@\""* ]]; then
      printf 'name\t%s\tvenvguard\t\n' $name
    else
      printf 'name\t%s\tfunction\t%s\n' $name "${functions_source[$name]-}"
    fi
    if (( ${+aliases[$name]} )); then
      printf 'alias\t%s\t%s\n' $name "${aliases[$name]}"
    fi
  done
}
