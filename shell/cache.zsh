# venvguard for zsh, cached by `venvguard init zsh --cache` and sourced from
# ~/.zshrc with no process started. It rewrites itself (one venvguard run) when
# the venvguard on PATH is newer than this file (an upgrade) or the python3.N on
# PATH are no longer the ones it wraps. Do not edit: it is rewritten.

# Is this file out of date? $1: the python3.N it wraps, $2: the PATH it was made
# with, $3: this file. Builtins only, and a stat per PATH directory while neither
# PATH nor anything in it changed (installing into a directory touches it).
__venvguard_cache_stale() {
  emulate -L zsh
  local cached=$1 made_with=$2 file=$3 dir name
  local -a found want
  for dir in $path; do
    [[ $dir == /* && $dir -nt $file ]] && return 0
  done
  [[ -n ${commands[venvguard]-} && ${commands[venvguard]} -nt $file ]] && return 0
  [[ $PATH == "$made_with" ]] && return 1
  found=(${(k)commands[(I)python3.([6-9]|[12][0-9])]})
  want=(${=cached})
  (( ${#found} == ${#want} )) || return 0
  for name in $found; do
    (( ${want[(Ie)$name]} )) || return 0
  done
  return 1
}

if [[ -z ${__venvguard_regen-} ]] && __venvguard_cache_stale '@PYTHONS@' '@PATH@' "${(%):-%x}" &&
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

