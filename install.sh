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
Running it again changes nothing; --uninstall removes exactly that block (and the
package, with the tool that installed it).

options:
  --shell bash|zsh|fish  the shell whose rc file to edit (default: from $SHELL;
                         with --uninstall: every one that holds the block)
  --no-rc                leave rc files alone
  --no-install           leave the package alone (only edit rc files)
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
while [ $# -gt 0 ]; do
  case $1 in
    --uninstall) action=uninstall ;;
    --shell)
      [ $# -ge 2 ] || die "--shell needs a value: bash, zsh or fish"
      shell_name=$2
      shift
      ;;
    --shell=*) shell_name=${1#--shell=} ;;
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
STATE_DIR=${XDG_STATE_HOME:-$HOME/.local/state}/venvguard
RECORD=$STATE_DIR/installed-by # which tool installed the package: uv, pipx or pip

# --- rc files ------------------------------------------------------------------------

rc_path() { # rc_path SHELL
  case $1 in
    bash) printf '%s\n' "$HOME/.bashrc" ;;
    zsh)
      # ZDOTDIR is often set in ~/.zshenv rather than exported: ask zsh itself.
      zdot=${ZDOTDIR:-}
      if [ -z "$zdot" ] && have zsh; then zdot=$(zsh_zdotdir); fi
      printf '%s\n' "${zdot:-$HOME}/.zshrc"
      ;;
    fish) printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/fish/conf.d/venvguard.fish" ;;
  esac
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

block() { # block SHELL: the marked block, without its final newline
  case $1 in
    fish) line='if command -q venvguard; venvguard init fish | source; end' ;;
    *) line="if command -v venvguard >/dev/null 2>&1; then eval \"\$(venvguard init $1)\"; fi" ;;
  esac
  printf '%s\n%s\n%s' "$BEGIN_MARK" "$line" "$END_MARK"
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

marker_error() {
  die "$1 has a '$BEGIN_MARK' or '$END_MARK' line without its partner: fix it by hand, then run install.sh again"
}

rc_add() { # rc_add SHELL
  rc=$(rc_path "$1")
  target=$(resolve "$rc")
  source_file=/dev/null
  if [ -e "$target" ]; then source_file=$target; fi
  new_edit_temp
  out=$tmp_edit
  edit install "$source_file" "$(block "$1")" >"$out" || marker_error "$rc"
  if [ -e "$target" ] && cmp -s -- "$out" "$target"; then
    say "$rc: the venvguard block is already there"
    return 0
  fi
  replace_file "$target" "$out"
  say "$rc: added the venvguard block"
}

rc_remove() { # rc_remove SHELL: sets removed=1 when it took a block out
  rc=$(rc_path "$1")
  target=$(resolve "$rc")
  [ -e "$target" ] || return 0
  new_edit_temp
  out=$tmp_edit
  edit remove "$target" >"$out" || marker_error "$rc"
  if cmp -s -- "$out" "$target"; then return 0; fi
  removed=1
  if [ "$1" = fish ] && [ ! -s "$out" ] && [ ! -L "$rc" ]; then
    rm -f -- "$rc" # the whole file was ours
    say "$rc: removed"
  else
    replace_file "$target" "$out"
    say "$rc: took out the venvguard block"
  fi
}

bash_login_note() {
  for f in "$HOME/.bash_profile" "$HOME/.bash_login"; do
    if [ -f "$f" ] && ! grep -q 'bashrc' "$f"; then
      warn "note: login shells read $f, which does not source ~/.bashrc; add"
      warn "  [ -f ~/.bashrc ] && . ~/.bashrc    to $f if your terminal starts login shells"
      return 0
    fi
  done
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

install_package() {
  if have uv; then
    say "installing venvguard from $checkout with uv"
    uv tool install --force --reinstall-package venvguard "$checkout"
    record uv
    bindir=$(uv tool dir --bin 2>/dev/null) || bindir=${XDG_BIN_HOME:-$HOME/.local/bin}
    path_fix="run \`uv tool update-shell\`, or add"
  elif have pipx; then
    say "installing venvguard from $checkout with pipx"
    pipx install --force "$checkout"
    record pipx
    bindir=$(pipx environment --value PIPX_BIN_DIR 2>/dev/null) || bindir=$HOME/.local/bin
    path_fix="run \`pipx ensurepath\`, or add"
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
    if [ "$(fact 2)" = 1 ]; then # a venv, pyenv, conda, root: its own site-packages
      say "installing venvguard from $checkout with pip into $py's environment"
      "$py" -m pip install "$checkout"
      bindir=$(fact 3)
    else
      say "installing venvguard from $checkout with pip --user"
      "$py" -m pip install --user "$checkout"
      bindir=$(fact 4)
    fi
    record "pip $py"
  fi
}

record() {
  mkdir -p -- "$STATE_DIR"
  printf '%s\n' "$1" >"$RECORD"
}

uninstall_package() {
  how=''
  if [ -f "$RECORD" ]; then
    how=$(cat -- "$RECORD")
  elif have uv && uv tool list 2>/dev/null | grep -q '^venvguard '; then
    how=uv
  elif have pipx && pipx list --short 2>/dev/null | grep -q '^venvguard '; then
    how=pipx
  fi
  case $how in
    uv) set -- uv tool uninstall venvguard ;;
    pipx) set -- pipx uninstall venvguard ;;
    # PEP 668 guards uninstalls too; this removes only what install.sh put there.
    pip\ *) set -- env PIP_BREAK_SYSTEM_PACKAGES=1 "${how#pip }" -m pip uninstall -y venvguard ;;
    *)
      say "venvguard was not installed by install.sh (no $RECORD, nothing in uv tool list or pipx list): the package is left alone"
      return 0
      ;;
  esac
  say "uninstalling the venvguard package: $*"
  if ! "$@"; then
    warn "could not uninstall the package; $RECORD stays, so install.sh --uninstall can try again"
    return 0
  fi
  rm -f -- "$RECORD"
  rmdir -- "$STATE_DIR/runs" "$STATE_DIR" 2>/dev/null || true
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
    "$vg" doctor || warn "venvguard doctor reported a problem (above)"
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

# --- main ----------------------------------------------------------------------------

if [ "$action" = uninstall ]; then
  if [ "$do_rc" = 1 ]; then
    removed=0
    for s in bash zsh fish; do
      if [ -z "$shell_name" ] || [ "$s" = "$shell_name" ]; then rc_remove "$s"; fi
    done
    [ "$removed" = 1 ] || say "no rc file holds the venvguard block"
  fi
  if [ "$do_pkg" = 1 ]; then uninstall_package; fi
  if [ "$do_rc" = 1 ]; then
    say "done. Shells already open keep venvguard's functions until you start a new one (exec \$SHELL)."
  fi
  exit 0
fi

if [ "$do_rc" = 1 ] && [ -z "$shell_name" ]; then
  shell_name=$(basename -- "${SHELL:-unknown}")
  case $shell_name in
    bash | zsh | fish) ;;
    *) die "cannot tell your shell from \$SHELL (${SHELL:-unset}): name it with --shell bash|zsh|fish, or pass --no-rc" ;;
  esac
fi

bindir=''
path_fix=''
if [ "$do_pkg" = 1 ]; then install_package; fi
if [ "$do_rc" = 1 ]; then
  rc_add "$shell_name"
  if [ "$shell_name" = bash ]; then bash_login_note; fi
fi

vg=''
if [ -n "$bindir" ] && [ -x "$bindir/venvguard" ]; then
  vg=$bindir/venvguard
  case ":$PATH:" in
    *":$bindir:"*)
      first=$(command -v venvguard || true)
      if [ "$first" != "$vg" ]; then
        warn "note: \`venvguard\` on your PATH is $first, which comes before $vg"
      fi
      ;;
    *)
      warn "$bindir is not on your PATH, so the init line does nothing until it is:"
      warn "  ${path_fix:-add}  export PATH=\"$bindir:\$PATH\"  to your rc file (before the venvguard block)"
      ;;
  esac
elif have venvguard; then
  vg=$(command -v venvguard)
fi
if [ -n "$vg" ]; then
  show "$vg"
elif [ "$do_pkg" = 1 ]; then
  die "installed, but the venvguard command is nowhere to be found (looked in ${bindir:-PATH})"
fi

say ''
if [ "$do_rc" = 1 ]; then
  say "done. New $shell_name shells guard uv, python -m venv and virtualenv; to start in this one:  exec $shell_name"
else
  case ${shell_name:-$(basename -- "${SHELL:-bash}")} in
    fish) line='venvguard init fish | source' ;;
    zsh) line="eval \"\$(venvguard init zsh)\"" ;;
    *) line="eval \"\$(venvguard init bash)\"" ;;
  esac
  say "done. To guard your shell, add its init line to its rc file yourself:  $line"
fi
