# venvguard for zsh, cached by `venvguard init zsh --cache` and sourced from
# ~/.zshrc with no process started. It rewrites itself (one venvguard run) when
# the venvguard on PATH is newer than this file (an upgrade) or the python3.N on
# PATH are no longer the ones it wraps. Do not edit: it is rewritten.

# Is this file out of date? $1: the python3.N it wraps, $2: this file. Builtins only.
__venvguard_cache_stale() {
  emulate -L zsh
  local cached=$1 file=$2 name
  local -a found want
  found=(${(k)commands[(I)python3.<->]})
  want=(${=cached})
  (( ${#found} == ${#want} )) || return 0
  for name in $found; do
    (( ${want[(Ie)$name]} )) || return 0
  done
  [[ -n ${commands[venvguard]-} && ${commands[venvguard]} -nt $file ]]
}

if [[ -z ${__venvguard_regen-} ]] && __venvguard_cache_stale '@PYTHONS@' "${(%):-%x}" &&
  [[ -x ${commands[venvguard]-} ]]; then
  __venvguard_regen=1
  if command venvguard init zsh --cache >/dev/null; then
    unfunction __venvguard_cache_stale
    source "${(%):-%x}"
    unset __venvguard_regen
    return 0
  fi
  unset __venvguard_regen
fi
unfunction __venvguard_cache_stale

