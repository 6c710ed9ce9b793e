# thymis-activate STORE-PATH
#
# The root side of local activation. It runs only as thymis-activate@.service
# (an instance per system: the instance name is the escaped store path), which
# the controller's unprivileged user may start through one polkit rule and
# nothing else. It switches this machine to STORE-PATH only when that is a
# NixOS system built from a Thymis device configuration for this platform:
#
#   1. STORE-PATH is an entry directly below the Nix store, with a store name;
#   2. the Nix store knows it as a valid path (it was built or copied in, and
#      is complete);
#   3. it is a NixOS system (nixos-version, bin/switch-to-configuration inside
#      the store) whose etc/thymis/device.json exists, which only
#      configurations importing nixosModules.thymis-device have;
#   4. it was built for this machine's platform.
#
# Then it sets the system profile (not for "test") and runs
# switch-to-configuration; when that fails it goes back to the system it
# replaced. One activation at a time (a lock). Everything after the first check
# is logged to the journal and to $THYMIS_ACTIVATE_LOG_DIR/<store name>.log,
# which the controller reads.
#
# Settings (environment, from the unit):
#   THYMIS_ACTIVATE_SYSTEM      this machine's platform, e.g. x86_64-linux (required)
#   THYMIS_ACTIVATE_ACTION      switch (default), boot or test
#   THYMIS_ACTIVATE_PROFILE     default /nix/var/nix/profiles/system
#   THYMIS_ACTIVATE_STORE_DIR   default /nix/store
#   THYMIS_ACTIVATE_LOCK        default /run/thymis-activate.lock
#   THYMIS_ACTIVATE_LOG_DIR     where to keep a log per system; none when empty

if [ "$#" -ne 1 ]; then
  echo "usage: thymis-activate STORE-PATH" >&2
  exit 2
fi

toplevel=$1
system=${THYMIS_ACTIVATE_SYSTEM:?THYMIS_ACTIVATE_SYSTEM is not set}
action=${THYMIS_ACTIVATE_ACTION:-switch}
profile=${THYMIS_ACTIVATE_PROFILE:-/nix/var/nix/profiles/system}
store=${THYMIS_ACTIVATE_STORE_DIR:-/nix/store}
lock=${THYMIS_ACTIVATE_LOCK:-/run/thymis-activate.lock}
log_dir=${THYMIS_ACTIVATE_LOG_DIR:-}

case $action in
  switch | boot | test) ;;
  *)
    echo "thymis-activate: unknown action '$action' (switch, boot or test)" >&2
    exit 2
    ;;
esac

refuse() {
  echo "thymis-activate: refusing to activate $toplevel: $*" >&2
  exit 1
}

# 1. A store entry: <store>/<32 characters of Nix's base-32>-<name>, nothing more.
case $toplevel in
  "$store"/*) ;;
  *) refuse "it is not in $store" ;;
esac
entry=${toplevel#"$store"/}
store_name='^[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+._?=-]+$'
if ! [[ $entry =~ $store_name ]]; then
  refuse "it is not the name of an entry of the Nix store"
fi

activate() {
  # 2.-4.
  if [ -L "$toplevel" ] || ! [ -d "$toplevel" ]; then
    refuse "it is not a directory"
  fi
  if ! nix-store --check-validity "$toplevel" 2>/dev/null; then
    refuse "it is not a valid path of the Nix store"
  fi
  local switch_bin="$toplevel/bin/switch-to-configuration"
  if ! [ -f "$toplevel/nixos-version" ] || ! [ -x "$switch_bin" ]; then
    refuse "it is not a NixOS system (no nixos-version or bin/switch-to-configuration)"
  fi
  local switch_target
  switch_target=$(realpath -e -- "$switch_bin") || refuse "bin/switch-to-configuration does not resolve"
  case $switch_target in
    "$store"/*) ;;
    *) refuse "bin/switch-to-configuration points outside $store" ;;
  esac
  if ! [ -f "$toplevel/etc/thymis/device.json" ]; then
    refuse "it is not a Thymis device configuration (no etc/thymis/device.json: the configuration must import nixosModules.thymis-device)"
  fi
  local built_for
  built_for=$(cat -- "$toplevel/system" 2>/dev/null) || built_for=unknown
  if [ "$built_for" != "$system" ]; then
    refuse "it was built for $built_for, this machine is $system"
  fi

  exec 9>"$lock"
  flock 9

  # What to go back to when the switch fails: the running system for "test",
  # the profile's system otherwise.
  local previous
  if [ "$action" = test ]; then
    previous=$(readlink -f /run/current-system 2>/dev/null) || previous=
  else
    previous=$(readlink -f "$profile" 2>/dev/null) || previous=
  fi

  echo "thymis-activate: $action to $toplevel (previous: ${previous:-none})"
  if [ "$action" != test ]; then
    if ! nix-env --profile "$profile" --set "$toplevel"; then
      echo "thymis-activate: could not set the profile $profile" >&2
      return 1
    fi
  fi

  local status=0
  "$switch_bin" "$action" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "thymis-activate: $action to $toplevel done"
    return 0
  fi

  echo "thymis-activate: switch-to-configuration $action failed (exit status $status)" >&2
  if [ -n "$previous" ] && [ "$previous" != "$toplevel" ] && [ -x "$previous/bin/switch-to-configuration" ]; then
    echo "thymis-activate: rolling back to $previous" >&2
    if [ "$action" != test ]; then
      nix-env --profile "$profile" --set "$previous" || echo "thymis-activate: could not reset the profile" >&2
    fi
    "$previous/bin/switch-to-configuration" "$action" || echo "thymis-activate: the rollback failed too" >&2
  fi
  return 1
}

if [ -n "$log_dir" ]; then
  set +o errexit
  activate 2>&1 | tee -- "$log_dir/$entry.log"
  status=${PIPESTATUS[0]}
  exit "$status"
fi
activate
