# thymis-controller-activate STORE-PATH
#
# Asks systemd to activate a NixOS system on this machine: it starts
# thymis-activate@<escaped STORE-PATH>.service, which runs as root, checks the
# path (see thymis-activate) and switches to it. The controller's user may
# start those units and no others (a polkit rule of the NixOS module). Waits
# for the activation to end, prints its log and exits with its result.
# The controller runs it as $THYMIS_LOCAL_ACTIVATION_COMMAND.
#
# thymis-controller-activate deliver-secrets WORDS... (the secrets' tar stream on stdin)
#
# Places a local device's secrets as root, before the switch: stages the words
# and the stream in $THYMIS_SECRETS_INCOMING (a folder only the controller's
# user can write) and starts thymis-deliver-secrets@<id>.service, which checks
# them again and runs the controller's placement script (see
# thymis-deliver-secrets). Prints its log and exits with its result.

if [ "${1:-}" = deliver-secrets ]; then
  shift
  umask 077
  staged=$(mktemp -- "${THYMIS_SECRETS_INCOMING:-/run/thymis-secrets-incoming}/XXXXXXXXXXXX")
  trap 'rm -f -- "$staged" "$staged.args" "$staged.tar"' EXIT
  printf '%s\n' "$@" >"$staged.args"
  cat >"$staged.tar"
  id=${staged##*/}
  unit="thymis-deliver-secrets@$id.service"
  status=0
  systemctl start --no-ask-password -- "$unit" || status=$?
  log="${THYMIS_ACTIVATE_LOG_DIR:-/run/thymis-activate}/secrets-$id.log"
  if [ -r "$log" ]; then
    cat -- "$log"
  fi
  if [ "$status" -ne 0 ]; then
    echo "thymis-controller-activate: placing the secrets failed (journalctl -u '$unit' as root has the details)" >&2
  fi
  exit "$status"
fi

if [ "$#" -ne 1 ]; then
  echo "usage: thymis-controller-activate STORE-PATH" >&2
  exit 2
fi

# A result symlink is fine: the unit gets the store path it points to.
toplevel=$(realpath -e -- "$1")
unit=$(systemd-escape --template=thymis-activate@.service --path -- "$toplevel")
log="${THYMIS_ACTIVATE_LOG_DIR:-/run/thymis-activate}/${toplevel##*/}.log"

echo "thymis-controller-activate: starting $unit"
status=0
systemctl start --no-ask-password -- "$unit" || status=$?
if [ -r "$log" ]; then
  cat -- "$log"
fi
if [ "$status" -ne 0 ]; then
  echo "thymis-controller-activate: the activation of $toplevel failed (journalctl -u '$unit' as root has the details)" >&2
fi
exit "$status"
