# venvguard's completion for bash. Generated from venvguard's commands by
# tests/unit/gen_completions.py: do not edit, regenerate with
# `python3 tests/unit/gen_completions.py`. `venvguard completion bash` prints it;
# bash-completion loads it at the first TAB from
# ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/venvguard;
# without bash-completion, source it.

# The word at the cursor, by what comes before it: the command (the first word that
# is no option), then its options and its argument.
_venvguard() {
  local cur=${COMP_WORDS[COMP_CWORD]-} command='' at=0 args=0 i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]-} == -* ]]; then
      continue
    elif [[ -z $command ]]; then
      command=${COMP_WORDS[i]}
      at=$i
    else
      args=$((args + 1))
    fi
  done
  case $command in
    '')
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--version -V --help -h' -- "$cur"
      else
        __venvguard_reply -W 'init completion exec run status repair scan clean config doctor' -- "$cur"
      fi
      ;;
    init)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--cache --help -h' -- "$cur"
      elif ((args == 0)); then
        __venvguard_reply -W 'bash zsh fish' -- "$cur"
      fi
      ;;
    completion)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--help -h' -- "$cur"
      elif ((args == 0)); then
        __venvguard_reply -W 'bash zsh fish' -- "$cur"
      fi
      ;;
    exec | run)
      __venvguard_complete_exec '--help -h' "$at" "$cur"
      ;;
    status | config | doctor)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--json --help -h' -- "$cur"
      fi
      ;;
    repair)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--help -h' -- "$cur"
      elif ((args == 0)); then
        compopt -o filenames
        __venvguard_reply -d -- "$cur"
      fi
      ;;
    scan)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--fix --yes -y --json --help -h' -- "$cur"
      elif ((args == 0)); then
        compopt -o filenames
        __venvguard_reply -d -- "$cur"
      fi
      ;;
    clean)
      if [[ $cur == -* ]]; then
        __venvguard_reply -W '--dry-run -n --json --help -h' -- "$cur"
      fi
      ;;
  esac
  return 0
}

# COMPREPLY: what compgen ARGS prints, one word a line.
__venvguard_reply() {
  mapfile -t COMPREPLY < <(compgen "$@")
}

# exec and run: their own OPTIONS until `--` or the first other word, which is a
# command name; after it, that command's own completion (bash-completion's), else
# file names.
__venvguard_complete_exec() {
  local options=$1 cur=$3 i=$(($2 + 1))
  while ((i < COMP_CWORD)); do
    case ${COMP_WORDS[i]-} in
      --)
        i=$((i + 1))
        break
        ;;
      -*) i=$((i + 1)) ;;
      *) break ;;
    esac
  done
  if ((i == COMP_CWORD)) && [[ $cur == -* && ${COMP_WORDS[i - 1]-} != -- ]]; then
    __venvguard_reply -W "$options --" -- "$cur"
  elif declare -F _comp_command_offset >/dev/null; then
    _comp_command_offset "$i"
  elif declare -F _command_offset >/dev/null; then
    _command_offset "$i"
  elif ((i == COMP_CWORD)); then
    __venvguard_reply -c -- "$cur"
  else
    compopt -o filenames
    __venvguard_reply -f -- "$cur"
  fi
}

complete -F _venvguard venvguard
