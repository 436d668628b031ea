# venvguard for bash, cached by `venvguard init bash --cache` and sourced from
# ~/.bashrc with no process started. It rewrites itself (one venvguard run) when
# the venvguard on PATH is newer than this file (an upgrade) or the python3.N on
# PATH are no longer the ones it wraps. Do not edit: it is rewritten.

# Is this file out of date? $1: the python3.N it wraps, $2: the PATH it was made
# with, $3: this file. Builtins only, and a stat per PATH directory while neither
# PATH nor anything in it changed (installing into a directory touches it).
__venvguard_cache_stale() {
  local cached=$1 made_with=$2 file=$3 dir name count=0 found='' failglob=''
  local -a dirs want
  local -A seen=()
  IFS=: read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    dir=${dir:-.}
    [[ $dir == /* && $dir -nt $file ]] && return 0
    if [[ -z $found && -x $dir/venvguard ]]; then
      found=$dir/venvguard
    fi
  done
  [[ -n $found && $found -nt $file ]] && return 0
  [[ $PATH == "$made_with" ]] && return 1
  read -ra want <<<"$cached"
  if shopt -q failglob; then # a glob without match would be an error
    shopt -u failglob
    failglob=1
  fi
  for dir in "${dirs[@]}"; do
    for name in "${dir:-.}"/python3.*; do
      name=${name##*/}
      if [[ $name =~ ^python3\.([6-9]|[12][0-9])$ && -z ${seen[$name]-} ]]; then
        seen[$name]=1
        count=$((count + 1))
      fi
    done
  done
  if [[ -n $failglob ]]; then
    shopt -s failglob
  fi
  for name in "${!seen[@]}"; do
    [[ " $cached " == *" $name "* ]] || return 0
  done
  [[ $count -ne ${#want[@]} ]]
}

if [[ -z ${__venvguard_regen-} ]] && __venvguard_cache_stale '@PYTHONS@' '@PATH@' "${BASH_SOURCE[0]}" &&
  type -P venvguard >/dev/null; then
  __venvguard_regen=1
  if command venvguard init bash --cache >/dev/null; then
    unset -f __venvguard_cache_stale
    # shellcheck source=/dev/null
    . "${BASH_SOURCE[0]}"
    unset -v __venvguard_regen
    return 0
  fi
  unset -v __venvguard_regen
fi
unset -f __venvguard_cache_stale

