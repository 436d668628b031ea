#!/bin/sh
# Install venvguard for the current user from this checkout, and add its init line
# to your shell's rc file in one marked block. `./install.sh --uninstall` takes both
# back. Run ./install.sh --help for the options.
set -eu

BEGIN_MARK='# >>> venvguard >>>'
END_MARK='# <<< venvguard <<<'

usage() {
  cat <<'EOF'
usage: ./install.sh [options]            install venvguard and add the init line
       ./install.sh --uninstall [options] remove the init line and uninstall

Installs from this checkout with uv (uv tool install), else pipx, else pip, and
adds one marked block to your shell's rc file:
  bash  ~/.bashrc
  zsh   ${ZDOTDIR:-~}/.zshrc
  fish  ${XDG_CONFIG_HOME:-~/.config}/fish/conf.d/venvguard.fish
The block sources the cached snippet (`venvguard init SHELL --cache`: no process
at shell start) and, when the directory venvguard went into is not on your PATH
(~/.local/bin on a fresh machine), puts it there first. With the block goes
venvguard's completion, where the shell finds it (the zsh block puts its
directory on fpath; without bash-completion, the bash block loads it at the
first TAB):
  bash  ${XDG_DATA_HOME:-~/.local/share}/bash-completion/completions/venvguard
  zsh   ${XDG_DATA_HOME:-~/.local/share}/venvguard/zsh/_venvguard
  fish  ${XDG_CONFIG_HOME:-~/.config}/fish/completions/venvguard.fish
A file of yours by that name is left alone. An init line you wrote yourself is
left as it is, and no block is added beside it. Running it again changes
nothing; --uninstall removes exactly that block and that completion file, the
package (with the tool that installed it), venvguard's state
(~/.local/state/venvguard) and its cache (~/.cache/venvguard).

options:
  --shell bash|zsh|fish  the shell whose rc file to edit (default: from $SHELL;
                         with --uninstall: every one that holds the block)
  --dry-run              change nothing: say what would be done (and which
                         completion file would be written), and print the
                         change to each rc file as a diff
  --no-rc                leave rc files alone
  --no-install           leave the package alone (only edit rc files; with
                         --uninstall, the state and cache stay too)
  --no-demo              skip the short demonstration after installing
  -h, --help             show this help
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# Temporary files, removed however the script ends. Each has a variable of its own,
# never a list to split (paths may hold spaces), and holds only a path mktemp made.
tmp_edit=''  # the edited copy of an rc file, in $TMPDIR
tmp_new=''   # the rc file's replacement, next to it until mv puts it in place
tmp_demo=''  # the demonstration's directory
cleanup() {
  if [ -n "$tmp_edit" ]; then rm -f -- "$tmp_edit"; fi
  if [ -n "$tmp_new" ]; then rm -f -- "$tmp_new"; fi
  if [ -n "$tmp_demo" ]; then rm -rf -- "$tmp_demo"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
new_edit_temp() { # sets tmp_edit to a new empty file, removing the previous one
  if [ -n "$tmp_edit" ]; then rm -f -- "$tmp_edit"; fi
  tmp_edit=''
  tmp_edit=$(mktemp "${TMPDIR:-/tmp}/.venvguard-install.XXXXXX")
}

# --- options -------------------------------------------------------------------------

action=install
shell_name=''
do_rc=1
do_pkg=1
do_demo=1
dry_run=0
while [ $# -gt 0 ]; do
  case $1 in
    --uninstall) action=uninstall ;;
    --shell)
      [ $# -ge 2 ] || die "--shell needs a value: bash, zsh or fish"
      shell_name=$2
      shift
      ;;
    --shell=*) shell_name=${1#--shell=} ;;
    --dry-run) dry_run=1 ;;
    --no-rc) do_rc=0 ;;
    --no-install) do_pkg=0 ;;
    --no-demo) do_demo=0 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      warn "unknown option: $1"
      usage >&2
      exit 2
      ;;
  esac
  shift
done

: "${HOME:?HOME is not set}"
case $shell_name in
  '' | bash | zsh | fish) ;;
  *) die "--shell $shell_name: venvguard knows bash, zsh and fish" ;;
esac

checkout=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
if ! grep -q '^name = "venvguard"' "$checkout/pyproject.toml" 2>/dev/null; then
  die "$checkout is not a venvguard checkout: run install.sh from the one it came with"
fi

xdg_dir() { # xdg_dir VALUE DEFAULT: VALUE when absolute (the XDG rule), else DEFAULT
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$2" ;;
  esac
}
STATE_DIR=$(xdg_dir "${XDG_STATE_HOME:-}" "$HOME/.local/state")/venvguard
CACHE_DIR=$(xdg_dir "${XDG_CACHE_HOME:-}" "$HOME/.cache")/venvguard
RECORD=$STATE_DIR/installed-by # line 1: the tool (uv, pipx, pip PYTHON); line 2: bin dir
DATA_HOME=$(xdg_dir "${XDG_DATA_HOME:-}" "$HOME/.local/share")
ZSH_FUNCTIONS=$DATA_HOME/venvguard/zsh # venvguard's own directory on the zsh block's fpath
# The header line of venvguard's generated completion files (tests/unit/gen_completions.py):
# a file without it is the user's own, never written over or removed.
COMPLETION_MARK="Generated from venvguard's commands"

# --- rc files ------------------------------------------------------------------------

rc_path() { # rc_path SHELL
  case $1 in
    bash) printf '%s\n' "$HOME/.bashrc" ;;
    zsh) printf '%s\n' "$(zsh_dir)/.zshrc" ;;
    fish) printf '%s\n' "$(fish_dir)/conf.d/venvguard.fish" ;;
  esac
}

fish_dir() { printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/fish"; }

zsh_dir() { # where zsh reads .zshrc from
  # ZDOTDIR is often set in ~/.zshenv rather than exported: ask zsh itself.
  zdot=${ZDOTDIR:-}
  if [ -z "$zdot" ] && have zsh; then zdot=$(zsh_zdotdir); fi
  printf '%s\n' "${zdot:-$HOME}"
}

zsh_zdotdir() { # ZDOTDIR as zsh's startup files set it, or nothing
  # ~/.zshenv may print (a greeting, a fortune): the value is what stands between the
  # last start marker and the end marker after it. A value that is not an absolute
  # path, or names something other than a directory, is ignored ($HOME it is then);
  # one that does not exist yet is kept: zsh reads $ZDOTDIR/.zshrc all the same.
  zstart='<<venvguard-zdotdir:'
  zend=':venvguard-zdotdir>>'
  zout=$(zsh -c 'printf "\n%s%s%s\n" "$1" "${ZDOTDIR-}" "$2"' zsh "$zstart" "$zend" \
    2>/dev/null </dev/null) || true
  case $zout in
    *"$zstart"*"$zend"*) ;;
    *) return 0 ;;
  esac
  zout=${zout##*"$zstart"}
  zout=${zout%%"$zend"*}
  case $zout in
    /*) ;;
    *) return 0 ;;
  esac
  if [ -e "$zout" ] && [ ! -d "$zout" ]; then return 0; fi
  printf '%s\n' "$zout"
}

# The rc lines printed here hold $HOME and $PATH for the shell to expand there.
# shellcheck disable=SC2016
# quote_dir SHELL DIR: DIR as a word for that shell: "$HOME/..." when it lies in
# $HOME and needs no escaping, else in single quotes.
quote_dir() {
  rest=''
  case $2 in
    "${HOME%/}"/?*) if [ "$HOME" != / ]; then rest=${2#"${HOME%/}"/}; fi ;;
  esac
  case $rest in
    '' | *[!A-Za-z0-9._/+@-]*) ;;
    *)
      printf '"$HOME/%s"\n' "$rest"
      return 0
      ;;
  esac
  if [ "$1" = fish ]; then # inside '...' fish knows \\ and \'
    printf "'%s'\n" "$(printf '%s' "$2" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"
  else
    printf "'%s'\n" "$(printf '%s' "$2" | sed -e "s/'/'\\\\''/g")"
  fi
}

# shellcheck disable=SC2016
# path_line SHELL DIR front|back: the line that puts DIR on PATH unless it is there
# already, checked with builtins at every shell start.
path_line() {
  q=$(quote_dir "$1" "$2")
  if [ "$1" = fish ]; then
    if [ "$3" = front ]; then
      printf 'contains -- %s $PATH; or set -gx PATH %s $PATH\n' "$q" "$q"
    else
      printf 'contains -- %s $PATH; or set -gx PATH $PATH %s\n' "$q" "$q"
    fi
    return 0
  fi
  case $q in
    \"*) inner=${q#\"} && inner=${inner%\"} ;;
    *) inner='' ;;
  esac
  if [ -n "$inner" ] && [ "$3" = front ]; then
    new="\"$inner:\$PATH\""
  elif [ -n "$inner" ]; then
    new="\"\$PATH:$inner\""
  elif [ "$3" = front ]; then
    new="$q:\"\$PATH\""
  else
    new="\"\$PATH\":$q"
  fi
  printf 'case ":$PATH:" in *:%s:*) ;; *) export PATH=%s ;; esac\n' "$q" "$new"
}

# init_line SHELL: the line that sources the cached snippet, as `venvguard init SHELL
# --cache` prints it. That command also writes the cache (with the PATH new shells
# will have); with nothing to be written (--dry-run) or no venvguard to run, the
# checkout's own code says what it would print. The guarded eval line is the last
# resort (no Python 3.10+ to ask).
init_line() {
  if [ "$dry_run" = 0 ] && [ -n "$vg" ] &&
    line=$(PATH=$new_path "$vg" init "$1" --cache 2>/dev/null) && [ -n "$line" ]; then
    printf '%s\n' "$line"
  elif line=$(python3 -B -c 'import os, sys
sys.path.insert(0, sys.argv[1])
from venvguard import init
print(init.rc_line(sys.argv[2], os.path.join(init.cache_dir(), "init." + sys.argv[2])))
' "$checkout/src" "$1" 2>/dev/null) && [ -n "$line" ]; then
    printf '%s\n' "$line"
  elif [ "$1" = fish ]; then
    printf '%s\n' 'if command -q venvguard; venvguard init fish | source; end'
  else
    printf '%s\n' "if command -v venvguard >/dev/null 2>&1; then eval \"\$(venvguard init $1)\"; fi"
  fi
}

# shellcheck disable=SC2016
# completion_line SHELL: the block's line that loads venvguard's completion, with
# builtins only. zsh: its directory on fpath (for compinit, before or after the block),
# and registered at once when compinit already ran. bash without bash-completion
# (which finds the file at the first TAB): a stub that sources it at the first TAB
# (sourcing it at every start would cost 0.2 ms; the stub is within noise). fish
# autoloads it: none.
completion_line() {
  case $1 in
    zsh)
      q=$(quote_dir zsh "$ZSH_FUNCTIONS")
      printf 'if (( ! ${fpath[(Ie)%s]} )); then fpath=(%s "${fpath[@]}"); fi; if (( ${+functions[compdef]} )); then autoload -Uz _venvguard && compdef _venvguard venvguard; fi\n' "$q" "$q"
      ;;
    bash)
      q=$(quote_dir bash "$(completion_path bash)")
      printf 'if [ -z "${BASH_COMPLETION_VERSINFO-}" ]; then __venvguard_complete() { [ -r %s ] && . %s && _venvguard "$@"; }; complete -F __venvguard_complete venvguard; fi\n' "$q" "$q"
      ;;
  esac
}

block() { # block SHELL: the marked block, without its final newline
  printf '%s\n' "$BEGIN_MARK"
  if [ -n "$path_where" ]; then path_line "$1" "$bindir" "$path_where"; fi
  init_line "$1"
  completion_line "$1"
  printf '%s' "$END_MARK"
}

# edit MODE FILE [BLOCK] > OUT: FILE with BLOCK put in place of its venvguard block or
# at the end (MODE install), or with the block taken out (MODE remove).
# Everything else is copied byte for byte, a missing final newline included.
# Exits 3 when the markers do not pair up.
edit() {
  if [ -s "$2" ] && [ -n "$(tail -c 1 <"$2")" ]; then nonl=1; else nonl=0; fi
  VG_BLOCK=${3-} awk -v mode="$1" -v nonl="$nonl" -v b="$BEGIN_MARK" -v e="$END_MARK" '
    function out(s) { printf "%s%s", sep, s; sep = "\n" }
    function put_block(  n, i, lines) {
      n = split(ENVIRON["VG_BLOCK"], lines, "\n")
      for (i = 1; i <= n; i++) out(lines[i])
      done = 1
    }
    $0 == b { if (inside) { bad = 1; exit 3 }
              inside = 1
              if (mode == "install" && !done) put_block()
              next }
    $0 == e { if (!inside) { bad = 1; exit 3 }
              inside = 0; next }
    !inside { out($0) }
    END {
      if (bad || inside) exit 3
      if (mode == "install" && !done) put_block()
      if (sep != "" && !nonl) printf "\n"
    }
  ' <"$2" # on stdin: awk would take an operand such as a=b/.bashrc for an assignment
}

block_of() { # block_of FILE: the lines inside its venvguard block, if any
  [ -f "$1" ] || return 0
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '
    $0 == b { inside = 1; next }
    $0 == e { inside = 0; next }
    inside { print }
  ' <"$1"
}

# own_line SHELL: "FILE:N: LINE" for the first venvguard line that the user (or a
# plugin manager) put in that shell's start-up files outside the marked block: an
# init line, a plugin manager's line that loads venvguard, or the plugin file itself.
own_line() {
  case $1 in
    bash) set -- "$(resolve "$(rc_path bash)")" ;;
    zsh)
      zdir=$(zsh_dir)
      set -- "$(resolve "$zdir/.zshrc")" "list:$zdir/.zsh_plugins.txt"
      ;;
    fish)
      fdir=$(fish_dir)
      set -- "$fdir/config.fish" "list:$fdir/fish_plugins"
      for f in "$fdir"/conf.d/*.fish; do
        if [ -f "$f" ]; then set -- "$@" "$f"; fi
      done
      ;;
  esac
  for f in "$@"; do
    list=0
    case $f in list:*) list=1 && f=${f#list:} ;; esac
    [ -f "$f" ] && [ -r "$f" ] || continue
    found=$(awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v list="$list" '
      $0 == b { inside = 1; next }
      $0 == e { inside = 0; next }
      inside { next }
      { line = $0; sub(/^[ \t]+/, "", line) }
      line ~ /^#/ { next }
      line ~ /venvguard[ \t]+init/ || line ~ /venvguard\.plugin\.zsh/ ||
      line ~ /^(zinit|zi|zplug|antigen|antidote|zgenom|zgen|znap|antibody|fisher)[ \t].*venvguard/ ||
      line ~ /^plugins=\(.*venvguard/ ||
      (list == 1 && line ~ /(^|\/)venvguard([ \t@#]|$)/) { print NR ": " line; exit }
    ' <"$f")
    if [ -n "$found" ]; then
      printf '%s:%s\n' "$f" "$found"
      return 0
    fi
  done
  return 0
}

resolve() { # the file a path names, through symlinks (dotfile managers)
  if [ -L "$1" ]; then
    readlink -f -- "$1" || die "cannot resolve the symlink $1"
  else
    printf '%s\n' "$1"
  fi
}

replace_file() { # replace_file TARGET NEWCONTENT: atomically, keeping TARGET's mode;
  # a new TARGET gets the mode touch would give it (from the umask), not mktemp's 600
  dir=$(dirname -- "$1")
  mkdir -p -- "$dir"
  tmp_new=$(mktemp "$dir/.venvguard-install.XXXXXX") # same file system: an atomic mv
  if [ -e "$1" ]; then cp -p -- "$1" "$tmp_new"; fi
  cat -- "$2" >"$tmp_new"
  if [ ! -e "$1" ]; then chmod -- "$(umask -S),a-x" "$tmp_new"; fi
  mv -f -- "$tmp_new" "$1"
  tmp_new=''
}

show_diff() { # show_diff NAME OLD NEW: what the edit would do, as a unified diff
  say "would change $1:"
  if have diff; then
    diff -u -- "$2" "$3" | NAME=$1 awk '
      NR == 1 { print "--- " ENVIRON["NAME"]; next }
      NR == 2 { print "+++ " ENVIRON["NAME"]; next }
      { print }' || true
  else
    say "(no diff on PATH) it would become:"
    cat -- "$3"
  fi
}

marker_error() {
  die "$1 has a '$BEGIN_MARK' or '$END_MARK' line without its partner: fix it by hand, then run install.sh again"
}

rc_add() { # rc_add SHELL: sets guard (block, own or none) and guard_file
  rc=$(rc_path "$1")
  target=$(resolve "$rc")
  source_file=/dev/null
  if [ -e "$target" ]; then source_file=$target; fi
  guard_file=$rc
  mine=$(own_line "$1")
  new_edit_temp
  out=$tmp_edit
  if [ -n "$mine" ]; then
    guard=own
    guard_file=${mine%%: *}
    guard_file=${guard_file%:*}
    say "$mine"
    say "  already loads venvguard: that line is yours and stays; no block is added beside it"
    [ -e "$target" ] || return 0
    edit remove "$target" >"$out" || marker_error "$rc"
    cmp -s -- "$out" "$target" && return 0
    if [ "$dry_run" = 1 ]; then
      show_diff "$rc" "$target" "$out"
      return 0
    fi
    replace_file "$target" "$out"
    say "$rc: took out the venvguard block (your line does its work)"
    return 0
  fi
  guard=block
  # Keep the PATH line of a block already there, though PATH now holds the directory
  # (most likely because that block put it there).
  if [ -z "$path_where" ] && [ -n "$bindir" ]; then
    for where in front back; do
      wanted=$(path_line "$1" "$bindir" "$where")
      if block_of "$target" | grep -Fqx -- "$wanted"; then path_where=$where; fi
    done
  fi
  edit install "$source_file" "$(block "$1")" >"$out" || marker_error "$rc"
  if [ -e "$target" ] && cmp -s -- "$out" "$target"; then
    say "$rc: the venvguard block is already there"
    return 0
  fi
  if [ "$dry_run" = 1 ]; then
    show_diff "$rc" "$source_file" "$out"
    return 0
  fi
  replace_file "$target" "$out"
  say "$rc: added the venvguard block"
}

rc_remove() { # rc_remove SHELL: sets took_out=1 (and removed=1) when it took a block out
  took_out=0
  rc=$(rc_path "$1")
  target=$(resolve "$rc")
  [ -e "$target" ] || return 0
  new_edit_temp
  out=$tmp_edit
  edit remove "$target" >"$out" || marker_error "$rc"
  if cmp -s -- "$out" "$target"; then return 0; fi
  removed=1
  took_out=1
  if [ "$1" = fish ] && [ ! -s "$out" ] && [ ! -L "$rc" ]; then
    if [ "$dry_run" = 1 ]; then
      show_diff "$rc" "$target" /dev/null
      say "(the file would be removed: it held only the block)"
      return 0
    fi
    rm -f -- "$rc" # the whole file was ours
    say "$rc: removed"
  elif [ "$dry_run" = 1 ]; then
    show_diff "$rc" "$target" "$out"
  else
    replace_file "$target" "$out"
    say "$rc: took out the venvguard block"
  fi
}

bash_login_note() {
  for f in "$HOME/.bash_profile" "$HOME/.bash_login"; do
    if [ -f "$f" ]; then
      if ! grep -q 'bashrc' "$f"; then
        warn "note: login shells read $f, which does not source ~/.bashrc; add"
        warn "  [ -f ~/.bashrc ] && . ~/.bashrc    to $f if your terminal starts login shells"
      fi
      return 0 # bash reads the first of these that exists, and only that one
    fi
  done
}

# --- venvguard's completion ----------------------------------------------------------

completion_path() { # completion_path SHELL: where that shell finds venvguard's completion
  case $1 in
    bash) printf '%s\n' "${BASH_COMPLETION_USER_DIR:-$DATA_HOME/bash-completion}/completions/venvguard" ;;
    zsh) printf '%s\n' "$ZSH_FUNCTIONS/_venvguard" ;;
    fish) printf '%s\n' "$(fish_dir)/completions/venvguard.fish" ;;
  esac
}

generated() { # generated FILE: whether FILE is venvguard's generated completion
  sed -n '1,3p' <"$1" | grep -Fq -- "$COMPLETION_MARK"
}

# completion_add SHELL: put venvguard's completion where SHELL finds it: what the
# installed venvguard prints (`venvguard completion SHELL`), else the checkout's file.
completion_add() {
  file=$(completion_path "$1")
  if [ -e "$file" ] && ! generated "$file"; then
    say "$file is not venvguard's generated completion: left as it is"
    return 0
  fi
  new_edit_temp
  if [ -z "$vg" ] || ! "$vg" completion "$1" >"$tmp_edit" 2>/dev/null || ! generated "$tmp_edit"; then
    case $1 in
      zsh) cp -- "$checkout/shell/completions/_venvguard" "$tmp_edit" ;;
      *) cp -- "$checkout/shell/completions/venvguard.$1" "$tmp_edit" ;;
    esac
  fi
  if [ -e "$file" ] && cmp -s -- "$tmp_edit" "$file"; then return 0; fi
  if [ "$dry_run" = 1 ]; then
    say "would write $file (venvguard's completion for $1)"
    return 0
  fi
  replace_file "$file" "$tmp_edit"
  say "$file: wrote venvguard's completion for $1"
}

completion_remove() { # completion_remove SHELL: the file completion_add wrote, if it is still that
  file=$(completion_path "$1")
  [ -f "$file" ] || return 0
  if ! generated "$file"; then
    say "note: $file is not venvguard's generated completion: left as it is"
    return 0
  fi
  if [ "$dry_run" = 1 ]; then
    say "would remove $file (venvguard's completion for $1)"
    return 0
  fi
  rm -f -- "$file"
  say "$file: removed"
  if [ "$1" = zsh ]; then rmdir -- "$ZSH_FUNCTIONS" "${ZSH_FUNCTIONS%/*}" 2>/dev/null || true; fi
}

# --- the package ---------------------------------------------------------------------

pip_python() {
  have python3 || die "found none of uv, pipx, python3: install uv (https://docs.astral.sh/uv/) or pipx, then run ./install.sh again"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "venvguard needs Python 3.11 or newer and python3 is $(python3 -V 2>&1): install uv (it fetches a suitable Python) or pipx, then run ./install.sh again"
  python3 -m pip --version >/dev/null 2>&1 ||
    die "python3 has no pip: install uv or pipx (e.g. apt install pipx), then run ./install.sh again"
  python3 -c 'import sys; print(sys.executable)'
}

# choose_installer: sets how (uv, pipx, pip), bindir (where the venvguard command
# goes) and, for pip, py and pip_args. Changes nothing.
choose_installer() {
  pip_args=''
  if have uv; then
    how=uv
    bindir=$(uv tool dir --bin 2>/dev/null) || bindir=${XDG_BIN_HOME:-$HOME/.local/bin}
  elif have pipx; then
    how=pipx
    bindir=$(pipx environment --value PIPX_BIN_DIR 2>/dev/null) || bindir=$HOME/.local/bin
  else
    py=$(pip_python)
    facts=$("$py" -c 'import os, sys, sysconfig
venv = sys.prefix != sys.base_prefix
managed = os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
writable = os.access(sysconfig.get_path("purelib"), os.W_OK)
print(int(managed and not venv), int(venv or writable), sysconfig.get_path("scripts"),
      sysconfig.get_path("scripts", os.name + "_user"), sep="\n")')
    fact() { printf '%s\n' "$facts" | sed -n "$1p"; }
    if [ "$(fact 1)" = 1 ] && [ -z "${PIP_BREAK_SYSTEM_PACKAGES:-}" ]; then
      die "$py is managed by your system (PEP 668, externally-managed-environment): pip will not install into it. Install uv (curl -LsSf https://astral.sh/uv/install.sh | sh) or pipx (e.g. apt install pipx), then run ./install.sh again"
    fi
    how="pip $py"
    if [ "$(fact 2)" = 1 ]; then # a venv, pyenv, conda, root: its own site-packages
      bindir=$(fact 3)
    else
      pip_args=--user
      bindir=$(fact 4)
    fi
  fi
}

install_package() {
  choose_installer
  case $how in
    uv) what="uv tool install" ;;
    pipx) what="pipx install" ;;
    *) what="pip${pip_args:+ $pip_args} (${how#pip }'s)" ;;
  esac
  if [ "$dry_run" = 1 ]; then
    say "would install venvguard from $checkout with $what, its command into $bindir"
    return 0
  fi
  say "installing venvguard from $checkout with $what"
  case $how in
    # uv writes no bytecode unless asked: then every venvguard command compiles
    # what it imports, at every start (--help: about 110 ms instead of 70)
    uv) uv tool install --force --compile-bytecode --reinstall-package venvguard "$checkout" ;;
    pipx) pipx install --force "$checkout" ;;
    # the block (or the advice at the end) sees to PATH: no warning from pip about it
    *) "$py" -m pip install --no-warn-script-location ${pip_args:+"$pip_args"} "$checkout" ;;
  esac
  mkdir -p -- "$STATE_DIR"
  printf '%s\n%s\n' "$how" "$bindir" >"$RECORD"
}

recorded() { # recorded N: line N of the record of what install.sh installed
  if [ -f "$RECORD" ]; then sed -n "$1p" <"$RECORD"; fi
}

# live_run: "PID" of a guarded run under way on this machine (its journal entry is
# named after its supervisor's pid), or nothing.
live_run() {
  for entry in "$STATE_DIR"/runs/*/*.json; do
    [ -e "$entry" ] || continue
    pid=${entry##*/}
    pid=${pid%%.*}
    case $pid in '' | *[!0-9]*) continue ;; esac
    if [ -d "/proc/$pid" ] || kill -0 "$pid" 2>/dev/null; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 0
}

# uninstall_package: sets pkg_gone=1 when venvguard is no longer installed after it
uninstall_package() {
  pkg_gone=0
  how=$(recorded 1)
  if [ -z "$how" ]; then
    if have uv && uv tool list 2>/dev/null | grep -q '^venvguard '; then
      how=uv
    elif have pipx && pipx list --short 2>/dev/null | grep -q '^venvguard '; then
      how=pipx
    fi
  fi
  case $how in
    uv) set -- uv tool uninstall venvguard ;;
    pipx) set -- pipx uninstall venvguard ;;
    # PEP 668 guards uninstalls too; this removes only what install.sh put there.
    pip\ *) set -- env PIP_BREAK_SYSTEM_PACKAGES=1 "${how#pip }" -m pip uninstall -y venvguard ;;
    *)
      if have venvguard; then
        say "venvguard ($(command -v venvguard)) was not installed by install.sh (no $RECORD, nothing in uv tool list or pipx list): the package is left alone, and so are its state and cache"
      else
        pkg_gone=1
      fi
      return 0
      ;;
  esac
  if [ "$dry_run" = 1 ]; then
    say "would uninstall the venvguard package: $*"
    pkg_gone=1
    return 0
  fi
  # Runs that were cut short and never settled: settle them (remove what they left
  # half-made) while venvguard is still there to do it.
  vg=$(recorded 2)/venvguard
  [ -x "$vg" ] || vg=$(command -v venvguard || true)
  for entry in "$STATE_DIR"/runs/*/*.json; do
    if [ -e "$entry" ] && [ -n "$vg" ]; then
      say "settling the runs that were cut short first: $vg clean"
      "$vg" clean || true
    fi
    break
  done
  say "uninstalling the venvguard package: $*"
  if ! "$@"; then
    warn "could not uninstall the package; $RECORD stays, so install.sh --uninstall can try again"
    return 0
  fi
  rm -f -- "$RECORD"
  pkg_gone=1
}

remove_state_and_cache() {
  if [ -d "$STATE_DIR" ]; then
    kept=''
    if [ -f "$STATE_DIR/broken" ]; then
      kept=$(cut -f 1 <"$STATE_DIR/broken" | sed '/^$/d' | tr '\n' ' ')
    fi
    if [ "$dry_run" = 1 ]; then
      say "would remove $STATE_DIR (venvguard's journal and records)"
    else
      rm -rf -- "$STATE_DIR"
      say "removed $STATE_DIR (venvguard's journal and records)"
    fi
    if [ -n "$kept" ]; then
      say "  it noted environments kept broken, which stay as they are: ${kept% }"
    fi
  fi
  if [ -d "$CACHE_DIR" ]; then
    if [ "$dry_run" = 1 ]; then
      say "would remove $CACHE_DIR (the cached init snippets)"
    else
      rm -rf -- "$CACHE_DIR"
      say "removed $CACHE_DIR (the cached init snippets)"
    fi
  fi
}

# --- showing it at work --------------------------------------------------------------

show() { # show VENVGUARD
  vg=$1
  what=found
  if [ "$do_pkg" = 1 ]; then what=installed; fi
  if version=$("$vg" --version 2>/dev/null); then
    say "$what: $version ($vg)"
  else
    say "$what: $vg (\`venvguard --version\` did not answer)"
  fi
  if "$vg" --help 2>/dev/null | grep -q 'doctor'; then
    PATH=$new_path "$vg" doctor || warn "venvguard doctor reported a problem (above)"
  fi
  [ "$do_demo" = 1 ] || return 0
  if ! have python3; then
    say "(no python3 on PATH: skipping the demonstration)"
    return 0
  fi
  tmp_demo=$(mktemp -d "${TMPDIR:-/tmp}/venvguard-demo.XXXXXX")
  demo=$tmp_demo
  say ''
  say "demo: \`python3 -m venv .venv\` under venvguard, interrupted (Ctrl-C) as soon as .venv appears:"
  python3 - "$vg" "$demo" <<'EOF' || warn "the demonstration did not go as expected (above)"
import os, signal, subprocess, sys, time

vg, where = sys.argv[1], sys.argv[2]
target = os.path.join(where, ".venv")
with open(os.path.join(where, "output"), "w+") as log:
    run = subprocess.Popen(
        [vg, "exec", "--", "python3", "-m", "venv", ".venv"], cwd=where,
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while run.poll() is None and time.monotonic() < deadline:
        if os.path.exists(os.path.join(target, "pyvenv.cfg")):
            time.sleep(0.3)  # well into the run: pip is being installed
            break
        time.sleep(0.02)
    interrupted = run.poll() is None
    if interrupted:
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground job
    try:
        code = run.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        code = run.wait()
    log.seek(0)
    lines = log.read().splitlines()
# venvguard deletes a removed environment in the background: let it finish before
# this demo directory goes.
deadline = time.monotonic() + 15
while set(os.listdir(where)) - {"output"} and time.monotonic() < deadline:
    time.sleep(0.05)
for line in lines:
    if line.startswith("venvguard:"):
        print("  " + line)
left = os.path.exists(target)
if interrupted and not left:
    print("demo: .venv is gone: venvguard removed the half-made environment.")
elif interrupted:
    print("demo: .venv is still there after the interrupt: venvguard should have removed it.")
    sys.exit(1)
elif code != 0 and not left:
    last = [l for l in lines if l.strip() and not l.startswith("venvguard:")][-1:]
    print(f"demo: python3 -m venv failed by itself (exit {code}{': ' + last[0] if last else ''});")
    print("      venvguard removed the half-made .venv it left.")
elif code == 0:
    print("demo: python3 -m venv finished before it could be interrupted; a finished run is left alone.")
else:
    print(f"demo: python3 -m venv failed (exit {code}) and .venv is still there.")
    sys.exit(1)
EOF
}

# --- uninstall -----------------------------------------------------------------------

if [ "$action" = uninstall ]; then
  if [ "$do_pkg" = 1 ] && pid=$(live_run) && [ -n "$pid" ]; then
    die "a guarded run is under way (venvguard's supervisor, pid $pid): let it finish, then run install.sh --uninstall again (nothing was changed)"
  fi
  if [ "$do_rc" = 1 ]; then
    removed=0
    for s in bash zsh fish; do
      if [ -z "$shell_name" ] || [ "$s" = "$shell_name" ]; then
        rc_remove "$s"
        # the completion file went in with the block (a plugin manager's copy stays)
        if [ "$took_out" = 1 ]; then completion_remove "$s"; fi
        mine=$(own_line "$s")
        if [ -n "$mine" ]; then
          say "note: $mine"
          say "  loads venvguard too; that line is yours: take it out by hand if you wish"
        fi
      fi
    done
    [ "$removed" = 1 ] || say "no rc file holds the venvguard block"
  fi
  if [ "$do_pkg" = 1 ]; then
    uninstall_package
    if [ "$pkg_gone" = 1 ]; then remove_state_and_cache; fi
  fi
  if [ "$dry_run" = 1 ]; then
    say "dry run: nothing was changed."
  elif [ "$do_rc" = 1 ]; then
    say "done. Shells already open keep venvguard's functions until you start a new one (exec \$SHELL)."
  fi
  exit 0
fi

# --- install -------------------------------------------------------------------------

if [ "$do_rc" = 1 ] && [ -z "$shell_name" ]; then
  shell_name=$(basename -- "${SHELL:-unknown}")
  case $shell_name in
    bash | zsh | fish) ;;
    *) die "cannot tell your shell from \$SHELL (${SHELL:-unset}): name it with --shell bash|zsh|fish, or pass --no-rc" ;;
  esac
fi

bindir=''
how=''
if [ "$do_pkg" = 1 ]; then
  install_package
else
  recorded_bin=$(recorded 2)
  if [ -n "$recorded_bin" ] && [ -x "$recorded_bin/venvguard" ]; then bindir=$recorded_bin; fi
fi

# The venvguard new shells will run, and whether the block must put its directory on
# PATH: only when it is not there yet and no other venvguard (a pyenv shim, say)
# stands for it. At the front, as uv and pipx would put it; at the back when the
# directory also holds a python3 (a virtual environment's, pyenv's), which must not
# hide the one you use.
vg=''
path_where=''
on_path=$(command -v venvguard 2>/dev/null || true)
if [ -n "$bindir" ] && { [ -x "$bindir/venvguard" ] || [ "$dry_run" = 1 ]; }; then
  vg=$bindir/venvguard
  [ -x "$vg" ] || vg=''
  case ":$PATH:" in
    *":$bindir:"*)
      if [ -n "$on_path" ] && [ -n "$vg" ] && [ "$on_path" != "$vg" ]; then
        warn "note: \`venvguard\` on your PATH is $on_path, which comes before $vg"
      fi
      ;;
    *)
      shims_root=''
      case $on_path in
        */shims/venvguard) shims_root=${on_path%/shims/venvguard} ;;
      esac
      case $bindir in
        "$shims_root"/versions/*) ;; # pip into a pyenv Python: its shim runs this one
        *)
          if [ -x "$bindir/python3" ] || [ -x "$bindir/python" ]; then
            path_where=back
          else
            path_where=front
          fi
          if [ -n "$on_path" ] && [ "$on_path" != "$bindir/venvguard" ]; then
            warn "note: another \`venvguard\` is on your PATH ($on_path); the block puts $bindir $path_where of PATH"
          fi
          ;;
      esac
      ;;
  esac
elif [ -n "$on_path" ]; then
  vg=$on_path
fi
case $path_where in
  front) new_path=$bindir:$PATH ;;
  back) new_path=$PATH:$bindir ;;
  *) new_path=$PATH ;;
esac

guard=none
guard_file=''
if [ "$do_rc" = 1 ]; then
  case $how in
    uv | pipx)
      if [ -n "$path_where" ] && [ "$dry_run" = 0 ]; then
        say "(if $how warned that $bindir is not on your PATH: nothing to do, the venvguard block puts it there in new shells, before its init line)"
      fi
      ;;
  esac
  rc_add "$shell_name"
  if [ "$guard" = block ]; then completion_add "$shell_name"; fi
  if [ "$shell_name" = bash ]; then bash_login_note; fi
fi

if [ "$dry_run" = 1 ]; then
  say "dry run: nothing was changed."
  exit 0
fi

if [ -n "$vg" ]; then
  show "$vg"
elif [ "$do_pkg" = 1 ]; then
  die "installed, but the venvguard command is nowhere to be found (looked in ${bindir:-PATH})"
fi

# Will a new shell be guarded? Only if something loads venvguard at its start, and
# venvguard is on the PATH it will have there.
say ''
if [ "$do_rc" = 0 ]; then
  s=${shell_name:-$(basename -- "${SHELL:-bash}")}
  case $s in
    fish) line='venvguard init fish | source' ;;
    zsh) line="eval \"\$(venvguard init zsh)\"" ;;
    *) line="eval \"\$(venvguard init bash)\"" ;;
  esac
  say "done. To guard your shell, add its init line to its rc file yourself:  $line"
  if [ -n "$path_where" ]; then
    say "  and before it, as $bindir is not on your PATH:  $(path_line "$s" "$bindir" "$path_where")"
  fi
elif [ -z "$vg" ]; then
  say "not guarded yet: $guard_file loads venvguard, but no venvguard command was found (install it, or run ./install.sh without --no-install); until then new $shell_name shells start as before"
elif [ "$guard" = own ] && [ -n "$path_where" ]; then
  warn "$bindir is not on your PATH, so your own line in $guard_file finds no venvguard: put"
  warn "  $(path_line "$shell_name" "$bindir" "$path_where")"
  warn "  before that line (or run ./install.sh again after taking it out, and let the block do both)"
  say "not guarded yet: new $shell_name shells will not find venvguard (see above)"
else
  say "done. New $shell_name shells guard uv, pip, python -m venv, virtualenv, poetry, pdm, hatch, pipenv, tox and nox ($guard_file loads venvguard); to start in this one:  exec $shell_name"
fi
