# thymis-deliver-secrets ID
#
# Runs as root (the unit thymis-deliver-secrets@ID.service) and places the
# secrets the controller's user staged for this machine: ID.args (the words of
# secret_store/place-secrets.sh, one a line) and ID.tar (its stream) in
# $THYMIS_SECRETS_INCOMING, written by `thymis-controller-activate
# deliver-secrets`. The controller's user is not trusted here, so everything is
# checked again before the placement script runs, as root:
#   - the staged files are copied without following symbolic links (dd
#     iflag=nofollow) into root's own folder, and are limited in size;
#   - the secrets folder must be $THYMIS_SECRETS_DIR, its mode 0700 or 0711;
#   - every file must go strictly below $THYMIS_SECRETS_DIR or a folder of
#     $THYMIS_SECRET_PATHS (':'-separated), as plain names (letters, digits,
#     _ . + -, never starting with a dot or a dash: no '..', no options);
#   - the folders above it must be root's and not changeable by others;
#   - owners and groups are account names, modes give others nothing and the
#     group no write, no special bits;
#   - the stream holds exactly the plain files 0, 1, ... (no links, folders or
#     other names).
# The placement script itself refuses folders on the way that are symbolic
# links or writable by others. Output goes to the journal and, when
# THYMIS_ACTIVATE_LOG_DIR is set, to secrets-ID.log there (paths and owners
# only, never a value), which thymis-controller-activate prints.

if [ "$#" -ne 1 ] || ! [[ "$1" =~ ^[A-Za-z0-9]{1,64}$ ]]; then
  echo "usage: thymis-deliver-secrets ID (letters and digits)" >&2
  exit 2
fi
id=$1
incoming=${THYMIS_SECRETS_INCOMING:?}
base=${THYMIS_SECRETS_DIR:?}
script=${THYMIS_PLACE_SECRETS:?}
max_bytes=${THYMIS_SECRETS_MAX_BYTES:-67108864}
log_dir=${THYMIS_ACTIVATE_LOG_DIR:-}
segment='[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}'
account='^[a-z_][a-z0-9_-]{0,30}[$]?$'

refuse() {
  echo "thymis-deliver-secrets: refusing to place the secrets: $*" >&2
  exit 3
}

allowed=("$base")
IFS=: read -r -a more <<<"${THYMIS_SECRET_PATHS:-}"
allowed+=("${more[@]}")

is_allowed() {
  local folder
  for folder in "${allowed[@]}"; do [ "$folder" = "$1" ] && return 0; done
  return 1
}

take() { # $1 the staged file, $2 root's copy
  dd if="$1" iflag=nofollow bs=65536 status=none 2>/dev/null | head -c "$((max_bytes + 1))" >"$2" \
    || refuse "$1 is missing, a symbolic link or not readable"
  rm -f -- "$1"
  [ "$(stat -c %s -- "$2")" -le "$max_bytes" ] || refuse "$1 is larger than $max_bytes bytes"
}

check_ancestors() { # every folder above an allowed folder: root's, not changeable by others (sticky /tmp is)
  local dir=$1 uid perm
  while dir=${dir%/*} && [ -n "$dir" ]; do
    [ ! -L "$dir" ] || refuse "$dir (above $1) is a symbolic link"
    [ -d "$dir" ] || continue
    uid=$(stat -c %u -- "$dir")
    perm=$(stat -c %a -- "$dir")
    [ "$uid" = 0 ] || refuse "$dir (above $1) belongs to uid $uid, not root"
    if [ $((8#$perm & 8#022)) -ne 0 ] && [ $((8#$perm & 8#1000)) -eq 0 ]; then
      refuse "$dir (above $1) can be changed by other users (mode $perm)"
    fi
  done
}

check_words() {
  [ "$#" -ge 2 ] || refuse "no secrets folder given"
  [ "$1" = "$base" ] || refuse "the secrets folder must be $base"
  check_ancestors "$base"
  [[ "$2" =~ ^07(00|11)$ ]] || refuse "the secrets folder's mode must be 0700 or 0711"
  shift 2
  [ $(($# % 5)) -eq 0 ] || refuse "every file needs 5 words (folder, path, owner, group, mode)"
  while [ "$#" -gt 0 ]; do
    is_allowed "$1" || refuse "$1 is not a folder secrets may be placed in"
    check_ancestors "$1"
    [[ "$2" =~ ^$segment(/$segment)*$ ]] || refuse "the path '$2' below $1 is not plain names"
    local folder
    for folder in "${allowed[@]}"; do
      case "$folder/" in "$1/$2/"*) refuse "$1/$2 is a folder secrets are placed in" ;; esac
    done
    [ -z "$3" ] || [[ "$3" =~ $account ]] || refuse "the owner of $1/$2 is not an account name"
    [ -z "$4" ] || [[ "$4" =~ $account ]] || refuse "the group of $1/$2 is not a group name"
    if ! [[ "$5" =~ ^0?[0-7]{3}$ ]] || [ $((8#$5 & 8#027)) -ne 0 ]; then
      refuse "the mode $5 of $1/$2 is not allowed (others get nothing, the group no write)"
    fi
    shift 5
  done
}

check_stream() { # $1 the archive, $2 how many files it must hold
  local names kinds expected=""
  names=$(tar -t -f "$1") || refuse "the stream is not a tar archive"
  [ "$2" -eq 0 ] || expected=$(seq 0 "$(($2 - 1))")
  [ "$names" = "$expected" ] || refuse "the stream must hold exactly the files 0 to $(($2 - 1))"
  kinds=$(tar -t -v -f "$1" | cut -c1 | tr -d '\n')
  [[ "$kinds" =~ ^-*$ ]] || refuse "the stream holds something other than plain files"
}

deliver() {
  work=$(mktemp -d)
  trap 'rm -rf -- "$work"' EXIT
  take "$incoming/$id.args" "$work/args"
  take "$incoming/$id.tar" "$work/tar"
  mapfile -t words <"$work/args"
  check_words "${words[@]}"
  check_stream "$work/tar" "$(((${#words[@]} - 2) / 5))"
  sh "$script" "${words[@]}" <"$work/tar"
}

if [ -n "$log_dir" ]; then
  rm -f -- "$log_dir"/secrets-*.log
  deliver 2>&1 | tee -- "$log_dir/secrets-$id.log"
else
  deliver
fi
