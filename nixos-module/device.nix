# nixosModules.thymis-device: the base of every device configuration the
# controller generates (and of an appliance that activates itself).
#
# Options live under `thymis.config`, as in Thymis's device module; the names
# that Thymis has (device-name, device-type, password) mean the same here.
# Other keys are accepted (free-form), so settings of modules can be kept there.
#
# It sets: the host name, a default NixOS state version, flakes for Nix,
# SSH for deployment (root by key only, the controller's keys), the root-only
# secrets folder the controller places secrets in (thymis.config.secrets-dir), and the
# marker /etc/thymis/device.json. The marker is what the appliance's local
# activation (thymis-activate) checks: only systems importing this module are
# accepted there.
{ config, lib, ... }:

let
  cfg = config.thymis.config;
in
{
  options.thymis.config = lib.mkOption {
    description = "Thymis device settings, written by the controller into the device's configuration.";
    default = { };
    type = lib.types.submodule {
      freeformType = lib.types.attrsOf lib.types.anything;
      options = {
        device-name = lib.mkOption {
          type = lib.types.strMatching "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
          default = "thymis";
          description = "Name of the device, also its host name.";
        };
        device-type = lib.mkOption {
          type = lib.types.str;
          default = "generic-x86_64";
          example = "raspberry-pi-4";
          description = "Hardware type of the device (the controller chooses the hardware modules from it).";
        };
        password = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          description = ''
            Password of the root user on the console. It ends up in the Nix
            store, readable by every local user; SSH logins as root accept keys
            only.
          '';
        };
        secrets-dir = lib.mkOption {
          type = lib.types.strMatching "/[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)+";
          default = "/run/thymis/secrets";
          description = ''
            Folder the controller places this device's secrets in (the
            controller's secrets-dir option, set here by the configurations it
            generates). It is created at boot, owned by root, mode 0700; secret
            files in it are mode 0400 unless their module asks otherwise.
          '';
        };
        authorized-keys = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          example = [ "ssh-ed25519 AAAAC3Nza... thymis-controller" ];
          description = "SSH public keys allowed to log in as root, among them the controller's deployment key.";
        };
      };
    };
  };

  config = {
    networking.hostName = cfg.device-name;

    # Generated configurations set their own; this is only the fallback.
    system.stateVersion = lib.mkDefault "25.05";

    nix.settings.experimental-features = [
      "nix-command"
      "flakes"
    ];

    services.openssh = {
      enable = true;
      settings.PermitRootLogin = lib.mkDefault "prohibit-password";
    };
    users.users.root.openssh.authorizedKeys.keys = cfg.authorized-keys;
    # The secrets folder exists root-only from boot on; the controller fills it at each deploy.
    systemd.tmpfiles.rules = [ "d ${cfg.secrets-dir} 0700 root root - -" ];
    users.users.root.password = lib.mkIf (cfg.password != null) cfg.password;

    environment.etc."thymis/device.json".text = builtins.toJSON {
      inherit (cfg) device-name device-type;
    };
  };
}
