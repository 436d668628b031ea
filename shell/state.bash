# What `venvguard doctor`, typed in bash, is told: printed by `venvguard _shell-state
# bash VERSION` and run by the snippet's `venvguard` function in a subshell (so
# extdebug goes no further). One tab-separated line each; doctor.py reads them.
__venvguard_state() {
  local name where hook=no
  local -a names
  shopt -s extdebug # declare -F then tells where a function was defined
  # shellcheck disable=SC2128
  [[ " ${PROMPT_COMMAND[*]-} " == *__venvguard_hook* ]] && hook=yes
  printf 'shell\tbash %s\npid\t%s\nversion\t%s\nhook\t%s\n' \
    "$BASH_VERSION" "$$" '@VERSION@' "$hook"
  IFS=' ' read -ra names <<<"${__venvguard_names-}"
  for name in "${names[@]}"; do
    where=$(declare -F "$name")
    if [[ -z $where ]]; then
      printf 'name\t%s\tnone\t%s\n' "$name" "$(type -P "$name")"
    elif [[ $(declare -f "$name") == *"__venvguard_run $name \"\$@\""* ]]; then
      printf 'name\t%s\tvenvguard\t\n' "$name"
    else # "NAME LINE FILE"
      where=${where#"$name "}
      printf 'name\t%s\tfunction\t%s:%s\n' "$name" "${where#* }" "${where%% *}"
    fi
    if [[ -n ${BASH_ALIASES[$name]+set} ]]; then
      printf 'alias\t%s\t%s\n' "$name" "${BASH_ALIASES[$name]}"
    fi
  done
}
__venvguard_state
