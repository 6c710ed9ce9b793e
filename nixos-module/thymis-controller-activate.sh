# thymis-controller-activate STORE-PATH
#
# Asks systemd to activate a NixOS system on this machine: it starts
# thymis-activate@<escaped STORE-PATH>.service, which runs as root, checks the
# path (see thymis-activate) and switches to it. The controller's user may
# start those units and no others (a polkit rule of the NixOS module). Waits
# for the activation to end, prints its log and exits with its result.
# The controller runs it as $THYMIS_LOCAL_ACTIVATION_COMMAND.

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
