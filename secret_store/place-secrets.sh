# Places a device's secrets (secret_store/delivery.py runs it with sh, locally or through ssh; on the
# NixOS appliance the root helper thymis-deliver-secrets runs it after checking every word and the stream).
# $1: the secrets folder, $2 its mode; then 5 words per file: its allowed folder, its path below it, owner, group
# (empty: the delivering user's), mode.
# The tar stream on stdin holds the files' contents, named 0, 1, ... in that order. Every word was checked by
# the controller (secret_store.placement): plain names, no spaces or quotes.
set -euf
umask 077
base="$1"; folder_mode="$2"; shift 2
me=$(id -u)
fail() { echo "secrets: $*; nothing was placed" >&2; exit 3; }
if [ $# -eq 0 ] && [ ! -d "$base" ]; then cat >/dev/null; echo "secrets: none"; exit 0; fi
check_accounts() {
  while [ $# -gt 0 ]; do
    [ -z "$3" ] || id -u "$3" >/dev/null 2>&1 || fail "owner '$3' of $1/$2 does not exist on the device"
    [ -z "$4" ] || getent group "$4" >/dev/null 2>&1 || fail "group '$4' of $1/$2 does not exist on the device"
    [ -z "$3" ] || [ "$me" = 0 ] || [ "$3" = "$(id -un)" ] \
      || fail "$1/$2 is for owner '$3', which only root can give it (the secrets are placed as $(id -un))"
    shift 5
  done
}
safe() {
  if [ -L "$1" ]; then fail "$1 is a symbolic link: secrets are never placed through one"; fi
  if [ ! -e "$1" ]; then mkdir -m "$2" "$1"; fi
  [ -d "$1" ] || fail "$1 is not a folder"
  uid=$(stat -c %u "$1"); perm=$(stat -c %a "$1")
  [ "$uid" = "$me" ] || fail "$1 belongs to uid $uid, not to the user placing the secrets"
  [ $((0$perm & 022)) -eq 0 ] || fail "$1 can be changed by other users (mode $perm)"
}
folders() {  # $1 the allowed folder, $2 the path below it: every folder on the way, made safe
  [ -d "$1" ] || mkdir -p -m 0755 "$1"
  safe "$1" 0755
  dir="$1"; rest="${2%/*}"
  [ "$rest" = "$2" ] && return 0
  old="$IFS"; IFS=/
  for part in $rest; do dir="$dir/$part"; safe "$dir" 0755; done
  IFS="$old"
}
check_accounts "$@"
mkdir -p -m 0700 "$base"
safe "$base" 0700
chmod "$folder_mode" "$base"
incoming="$base/.incoming.$$"
rm -rf "$incoming"
mkdir -m 0700 "$incoming"
trap 'while read -r tmp; do rm -f "$tmp"; done < "$incoming/temporary" 2>/dev/null; rm -rf "$incoming"' EXIT
: > "$incoming/temporary"; : > "$incoming/paths"
tar -x -o -C "$incoming" -f -
i=0
prepare() {
  while [ $# -gt 0 ]; do
    folders "$1" "$2"
    target="$1/$2"
    if [ -d "$target" ] && [ ! -L "$target" ]; then fail "$target is a folder"; fi
    tmp=$(mktemp "${target%/*}/.thymis-secret.XXXXXX")
    echo "$tmp" >> "$incoming/temporary"
    [ -f "$incoming/$i" ] && [ ! -L "$incoming/$i" ] || fail "the stream's file $i is missing or not a plain file"
    cat "$incoming/$i" > "$tmp"
    [ -z "$3" ] || chown "$3" "$tmp"
    [ -z "$4" ] || chgrp "$4" "$tmp"
    chmod "$5" "$tmp"
    echo "$target" >> "$incoming/paths"
    echo "secrets: $target (${3:-$(id -un)}:${4:-$(id -gn)}, mode $5)"
    i=$((i + 1)); shift 5
  done
}
prepare "$@"
i=0
while read -r tmp; do
  target=$(sed -n "$((i + 1))p" "$incoming/paths")
  mv -f -T "$tmp" "$target"
  i=$((i + 1))
done < "$incoming/temporary"
: > "$incoming/temporary"
removed=0
{ cat "$base/.thymis-placed" 2>/dev/null || true; set +f; for p in "$base"/*; do echo "$p"; done; set -f; } \
  | sort -u > "$incoming/before"
while read -r path; do
  if [ -f "$path" ] || [ -L "$path" ]; then
    grep -Fxq -- "$path" "$incoming/paths" || { rm -f "$path"; removed=$((removed + 1)); }
  fi
done < "$incoming/before"
cp "$incoming/paths" "$base/.thymis-placed.new"
mv -f -T "$base/.thymis-placed.new" "$base/.thymis-placed"
echo "secrets: $i placed, $removed removed"
