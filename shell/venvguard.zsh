# venvguard for zsh: eval "$(venvguard init zsh)" in ~/.zshrc.
#
# Wraps the commands that create or change Python environments. A call that may
# create or change one runs under `venvguard exec`, which removes what an
# interrupted or failed run made; every other call runs the real command directly.
# Nothing here starts a process unless a call is guarded or a run was cut short.
# Every function sets its own options locally (emulate -L), so the user's options
# (ksh_arrays, sh_word_split, nounset, ...) neither matter here nor change.

if [[ -o interactive ]]; then

  # Route one call: $1 is the command, the rest its arguments.
  __venvguard_run() {
    if [[ ${VENVGUARD_DISABLE-} != 1 ]] && __venvguard_guarded "$@" &&
      [[ -x ${commands[venvguard]-} ]]; then
      command venvguard exec -- "$@"
    else
      command "$@"
    fi
  }

  # Could this call create or change an environment? A cheap over-approximation:
  # the supervisor reads the arguments exactly and execs the tool when it cannot.
  __venvguard_guarded() {
    emulate -L zsh
    local name=$1 arg
    shift
    case $name:${1-} in # tox and nox: every run but the ones that only print
      (tox:-h | tox:--help | tox:--version | tox:l | tox:list | tox:c | tox:config) return 1 ;;
      (nox:-h | nox:--help | nox:--version | nox:-l | nox:--list | nox:--list-sessions) return 1 ;;
      (tox:* | nox:* | virtualenv:*) return 0 ;;
    esac
    for arg in "$@"; do
      case $name:$arg in
        (uv:sync | uv:add | uv:remove | uv:venv | uv:run | uv:version) return 0 ;;
        (uv:install | uv:uninstall | uv:upgrade) return 0 ;; # uv pip, uv tool, uv python
        (python*:venv | python*:virtualenv | python*:-mvenv | python*:-mvirtualenv) return 0 ;;
        (python*:pip | python*:-mpip) return 0 ;;
        (pip:install | pip3:install | pip3.*:install) return 0 ;;
        (pip:uninstall | pip3:uninstall | pip3.*:uninstall) return 0 ;;
        (poetry:install | poetry:sync | poetry:add | poetry:remove | poetry:update) return 0 ;;
        (poetry:lock | poetry:use | poetry:run | poetry:shell) return 0 ;;
        (pdm:install | pdm:sync | pdm:add | pdm:remove | pdm:update | pdm:lock) return 0 ;;
        (pdm:create | pdm:use | pdm:run) return 0 ;;
        (hatch:create | hatch:run | hatch:shell | hatch:test) return 0 ;;
        (pipenv:install | pipenv:sync | pipenv:update | pipenv:upgrade | pipenv:lock) return 0 ;;
        (pipenv:uninstall | pipenv:run | pipenv:shell) return 0 ;;
        (pixi:install | pixi:add | pixi:remove | pixi:run | pixi:shell) return 0 ;;
      esac
    done
    return 1
  }

  # Before every prompt: settle runs whose supervisor is gone (kill -9, a closed
  # terminal), but only start Python when the journal holds such a run.
  __venvguard_hook() {
    local -i ret=$?
    emulate -L zsh
    [[ ${VENVGUARD_DISABLE-} == 1 ]] && return ret
    local entry pid
    for entry in ${XDG_STATE_HOME:-${HOME-}/.local/state}/venvguard/runs/${HOST-}/*.json(N); do
      pid=${${entry:t}%%.*}
      [[ -e /proc/$pid/cwd ]] && continue # alive: the common case, two stats
      # Gone, or a zombie nobody reaps (a container's pid 1), whose /proc entry has
      # no cwd any more; without /proc, kill -0 tells.
      if [[ -e /proc/self/cwd ]] || ! kill -0 $pid 2>/dev/null; then
        [[ -x ${commands[venvguard]-} ]] && command venvguard _settle
        break
      fi
    done
    if [[ $PWD != ${__venvguard_pwd-} ]]; then
      typeset -g __venvguard_pwd=$PWD
      __venvguard_remind
    fi
    return ret
  }

  # Once when you enter a directory whose environment venvguard found broken, say
  # so: its list (written by venvguard, one "directory<TAB>text" line each) is read
  # with builtins, only when the directory changed.
  __venvguard_remind() {
    emulate -L zsh
    local file=${XDG_STATE_HOME:-${HOME-}/.local/state}/venvguard/broken dir text
    if [[ -f $file ]]; then
      while IFS=$'\t' read -r dir text; do
        if [[ -n $dir && ($PWD == $dir || $PWD == $dir/*) ]]; then
          [[ ${__venvguard_told-} == $dir ]] || print -ru2 -- "venvguard: $text"
          typeset -g __venvguard_told=$dir
          return 0
        fi
      done <$file
    fi
    typeset -g __venvguard_told=
  }

  # `venvguard doctor` typed here is told what only this shell knows (a process
  # cannot look into its parent): the script `venvguard _shell-state` prints, run in
  # a subshell, says what this shell has loaded (shell/state.zsh), and the version
  # is this snippet's. Every other venvguard command goes straight on.
  function venvguard {
    if [[ ${1-} == doctor ]]; then
      VENVGUARD_SHELL_STATE="$(eval "$(command venvguard _shell-state zsh '@VERSION@')")" \
        command venvguard "$@"
    else
      command venvguard "$@"
    fi
  }

  # A wrapper for each name, but for a name the user has made a function of before
  # this line (autoloaded ones too): that function stays as it is, unguarded, and is
  # listed in the exported VENVGUARD_SKIPPED (names, space-separated) for `venvguard
  # doctor` to tell. A wrapper of ours from an earlier source of this file is told by
  # its body, and made again. An alias of the name needs nothing: it expands before
  # a function is looked up, so `alias uv='uv --color never'` reaches the wrapper
  # with its words (`function NAME {` is not alias-expanded, as `NAME() {` would be).
  () {
    emulate -L zsh
    local name body
    local -a skipped
    typeset -ga __venvguard_names=()
    for name in uv virtualenv pip pip3 poetry pdm hatch pipenv tox nox pixi python python3; do
      body="__venvguard_run $name \"\$@\""
      __venvguard_names+=($name)
      if (( ${+functions[$name]} )) && [[ ${functions[$name]} != *"$body"* ]]; then
        skipped+=($name)
      else
        eval "function $name { $body }"
      fi
    done
    if (( ${#skipped} )); then
      export VENVGUARD_SKIPPED="${(j: :)skipped}"
    else
      unset VENVGUARD_SKIPPED
    fi
  }

  autoload -Uz add-zsh-hook
  add-zsh-hook precmd __venvguard_hook

fi
