# venvguard for zsh plugin managers: oh-my-zsh, zinit, antidote, zsh_unplugged and
# the like source <repo>/venvguard.plugin.zsh. Where venvguard is on PATH this
# sources the snippet `venvguard init zsh --cache` keeps in
# ${XDG_CACHE_HOME:-~/.cache}/venvguard/init.zsh, with no process started; when that
# file is missing, it runs `venvguard init zsh --cache` once, which writes it and
# prints the line that sources it. It also puts venvguard's completion on fpath
# (shell/completions beside this file, in the repository the manager cloned), and
# registers it at once when compinit already ran. Where venvguard is not installed
# it does nothing, silently, and leaves $? at 0.

if (( ${+commands[venvguard]} )); then
  typeset -g __venvguard_plugin=${XDG_CACHE_HOME:-}
  [[ $__venvguard_plugin == /* ]] || __venvguard_plugin=$HOME/.cache
  __venvguard_plugin=$__venvguard_plugin/venvguard/init.zsh
  if [[ -r $__venvguard_plugin ]]; then
    source "$__venvguard_plugin"
  else
    eval "$(command venvguard init zsh --cache)"
  fi
  __venvguard_plugin=${${(%):-%x}:A:h}/shell/completions # %x: this file, however sourced
  if [[ -r $__venvguard_plugin/_venvguard ]]; then
    (( ${fpath[(Ie)$__venvguard_plugin]} )) || fpath=("$__venvguard_plugin" "${fpath[@]}")
    if (( ${+functions[compdef]} )); then
      autoload -Uz _venvguard && compdef _venvguard venvguard
    fi
  fi
  unset __venvguard_plugin
fi
