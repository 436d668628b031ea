# venvguard for bash: eval "$(venvguard init bash)" in ~/.bashrc.
#
# Wraps the commands that create or change Python environments. A call that may
# create or change one runs under `venvguard exec`, which removes what an
# interrupted or failed run made; every other call runs the real command directly.
# Nothing here starts a process unless a call is guarded or a run was cut short.

if [[ $- == *i* ]]; then

  # Route one call: $1 is the command, the rest its arguments.
  __venvguard_run() {
    if [[ ${VENVGUARD_DISABLE-} != 1 ]] && __venvguard_guarded "$@" &&
      type -P venvguard >/dev/null; then
      command venvguard exec -- "$@"
    else
      command "$@"
    fi
  }

  # Could this call create or change an environment? A cheap over-approximation:
  # the supervisor reads the arguments exactly and execs the tool when it cannot.
  __venvguard_guarded() {
    local name=$1 arg
    shift
    case $name:${1-} in # tox and nox: every run but the ones that only print
      tox:-h | tox:--help | tox:--version | tox:l | tox:list | tox:c | tox:config) return 1 ;;
      nox:-h | nox:--help | nox:--version | nox:-l | nox:--list | nox:--list-sessions) return 1 ;;
      tox:* | nox:* | virtualenv:*) return 0 ;;
    esac
    for arg in "$@"; do
      case $name:$arg in
        uv:sync | uv:add | uv:remove | uv:venv | uv:run | uv:version) return 0 ;;
        uv:install | uv:uninstall | uv:upgrade) return 0 ;; # uv pip, uv tool, uv python
        python*:venv | python*:virtualenv | python*:-mvenv | python*:-mvirtualenv) return 0 ;;
        python*:pip | python*:-mpip) return 0 ;;
        pip:install | pip3:install | pip3.*:install) return 0 ;;
        pip:uninstall | pip3:uninstall | pip3.*:uninstall) return 0 ;;
        poetry:install | poetry:sync | poetry:add | poetry:remove | poetry:update) return 0 ;;
        poetry:lock | poetry:use | poetry:run | poetry:shell) return 0 ;;
        pdm:install | pdm:sync | pdm:add | pdm:remove | pdm:update | pdm:lock) return 0 ;;
        pdm:create | pdm:use | pdm:run) return 0 ;;
        hatch:create | hatch:run | hatch:shell | hatch:test) return 0 ;;
        pipenv:install | pipenv:sync | pipenv:update | pipenv:upgrade | pipenv:lock) return 0 ;;
        pipenv:uninstall | pipenv:run | pipenv:shell) return 0 ;;
        pixi:install | pixi:add | pixi:remove | pixi:run | pixi:shell) return 0 ;;
      esac
    done
    return 1
  }

  # After every command: settle runs whose supervisor is gone (kill -9, a closed
  # terminal), but only start Python when the journal holds such a run.
  __venvguard_hook() {
    local status=$? entry pid failglob=''
    if [[ ${VENVGUARD_DISABLE-} != 1 ]]; then
      if shopt -q failglob; then # a glob without match would be an error
        shopt -u failglob
        failglob=1
      fi
      local -a entries=("${XDG_STATE_HOME:-${HOME-}/.local/state}/venvguard/runs/${HOSTNAME-}"/*.json)
      if [[ -n $failglob ]]; then
        shopt -s failglob
      fi
      for entry in "${entries[@]}"; do
        [[ -e $entry ]] || break # no match: the pattern itself
        pid=${entry##*/}
        pid=${pid%%.*}
        [[ -e /proc/$pid/cwd ]] && continue # alive: the common case, two stats
        # Gone, or a zombie nobody reaps (a container's pid 1), whose /proc entry has
        # no cwd any more; without /proc, kill -0 tells.
        if [[ -e /proc/self/cwd ]] || ! kill -0 "$pid" 2>/dev/null; then
          if type -P venvguard >/dev/null; then
            command venvguard _settle
          fi
          break
        fi
      done
      if [[ $PWD != "${__venvguard_pwd-}" ]]; then
        __venvguard_pwd=$PWD
        __venvguard_remind
      fi
    fi
    # Hand $? on to later PROMPT_COMMAND entries (a prompt theme may show it), but
    # not under set -e, where a non-zero return would end the shell.
    if [[ $- == *e* ]]; then
      return 0
    fi
    return "$status"
  }

  # Once when you enter a directory whose environment venvguard found broken, say
  # so: its list (written by venvguard, one "directory<TAB>text" line each) is read
  # with builtins, only when the directory changed.
  __venvguard_remind() {
    local file="${XDG_STATE_HOME:-${HOME-}/.local/state}/venvguard/broken" dir text
    if [[ -f $file ]]; then
      while IFS=$'\t' read -r dir text; do
        if [[ -n $dir && ($PWD == "$dir" || $PWD == "$dir"/*) ]]; then
          if [[ ${__venvguard_told-} != "$dir" ]]; then
            printf 'venvguard: %s\n' "$text" >&2
          fi
          __venvguard_told=$dir
          return 0
        fi
      done <"$file"
    fi
    __venvguard_told=''
  }

  # `venvguard doctor` typed here is told what only this shell knows (a process
  # cannot look into its parent): the script `venvguard _shell-state` prints, run in
  # a subshell, says what this shell has loaded (shell/state.bash), and the version
  # is this snippet's. Every other venvguard command goes straight on.
  function venvguard {
    if [[ ${1-} == doctor ]]; then
      VENVGUARD_SHELL_STATE=$(eval "$(command venvguard _shell-state bash '@VERSION@')") \
        command venvguard "$@"
    else
      command venvguard "$@"
    fi
  }

  # A wrapper for each name, but for a name the user has made a function of before
  # this line: that function stays as it is, unguarded, and is listed in the exported
  # VENVGUARD_SKIPPED (names, space-separated) for `venvguard doctor` to tell. When
  # this file is sourced again, a function of the name is our wrapper, made again,
  # unless the name was left to the user's function then (in __venvguard_kept). An
  # alias of the name needs nothing: it expands before a function is looked up, so
  # `alias uv='uv --color never'` reaches the wrapper with its words (and `function
  # NAME {` is not alias-expanded, as `NAME() {` would be). Builtins only.
  __venvguard_skipped=''
  __venvguard_names=''
  for __venvguard_name in uv virtualenv pip pip3 poetry pdm hatch pipenv tox nox pixi python python3; do
    __venvguard_names+=" $__venvguard_name" # every name, for doctor (shell/state.bash)
    if declare -F "$__venvguard_name" &&
      [[ -z ${__venvguard_kept+set} || " $__venvguard_kept " == *" $__venvguard_name "* ]]; then
      __venvguard_skipped+=" $__venvguard_name"
      continue
    fi
    eval "function $__venvguard_name { __venvguard_run $__venvguard_name \"\$@\"; }"
  done >/dev/null # what declare -F prints
  __venvguard_kept=${__venvguard_skipped# }
  if [[ -n $__venvguard_kept ]]; then
    export VENVGUARD_SKIPPED="$__venvguard_kept"
  else
    unset -v VENVGUARD_SKIPPED
  fi
  unset -v __venvguard_name __venvguard_skipped

  # PROMPT_COMMAND is a string, or an array since bash 5.1: the last branch is the string.
  # shellcheck disable=SC2128,SC2178
  if [[ -z ${PROMPT_COMMAND+set} ]]; then
    PROMPT_COMMAND=__venvguard_hook
  elif [[ ${PROMPT_COMMAND@a} == *a* ]]; then # an array, bash 5.1+
    if [[ " ${PROMPT_COMMAND[*]} " != *" __venvguard_hook "* ]]; then
      PROMPT_COMMAND=(__venvguard_hook "${PROMPT_COMMAND[@]}")
    fi
  elif [[ $PROMPT_COMMAND != *__venvguard_hook* ]]; then
    PROMPT_COMMAND="__venvguard_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
  fi

fi
