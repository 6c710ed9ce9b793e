# services.thymis-controller: the controller appliance.
#
# One web service, thymis-controller.service: gunicorn serving the Flask
# application (which also runs the job worker thread), as the unprivileged
# system user `thymis`, hardened, with its data in `project-path`. It talks to
# the Nix daemon as an ordinary (not trusted) user.
#
# Local activation (switching this machine to a configuration the controller
# built) needs root. With `local-activation-enable` that is one narrow path:
# the controller runs thymis-controller-activate STORE-PATH, which starts the
# root oneshot unit thymis-activate@<escaped STORE-PATH>.service; a polkit
# rule lets the `thymis` user start units of that template and nothing else,
# and the unit switches only to a valid store path that is a NixOS system
# built from a Thymis device configuration for this platform (see
# thymis-activate.sh). Without it the service has no way to become root.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib)
    mkEnableOption
    mkIf
    mkOption
    types
    ;

  cfg = config.services.thymis-controller;

  user = "thymis";
  group = "thymis";

  absolutePath = types.strMatching "/[^[:space:]]*";
  absoluteDirectory = types.strMatching "/[^[:space:]]*[^/[:space:]]";
  # two levels deep at least, no spaces, quotes or colons (checked again by the controller)
  secretFolder = types.strMatching "/[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)+";

  useStateDirectory = lib.hasPrefix "/var/lib/" cfg.project-path;
  credentialsDirectory = "/run/credentials/thymis-controller.service";
  activationLogDirectory = "/run/thymis-activate";
  # Where the controller's user stages a local device's secrets for thymis-deliver-secrets@.service.
  secretsIncoming = "/run/thymis-secrets-incoming";

  # IPv6 addresses are written in brackets in URLs and in gunicorn's --bind.
  hostInUrl = host: if lib.hasInfix ":" host then "[${host}]" else host;
  bind = "${hostInUrl cfg.listen-host}:${toString cfg.listen-port}";
  # Where nginx reaches the controller when it listens on every address.
  proxyHost =
    if cfg.listen-host == "0.0.0.0" then
      "127.0.0.1"
    else if cfg.listen-host == "::" then
      "::1"
    else
      cfg.listen-host;

  rootActivate = pkgs.writeShellApplication {
    name = "thymis-activate";
    runtimeInputs = [
      config.nix.package
      pkgs.coreutils
      pkgs.util-linux
    ];
    text = builtins.readFile ./thymis-activate.sh;
  };

  rootDeliverSecrets = pkgs.writeShellApplication {
    name = "thymis-deliver-secrets";
    runtimeInputs = [
      pkgs.bash
      pkgs.coreutils
      pkgs.getent
      pkgs.gnugrep
      pkgs.gnused
      pkgs.gnutar
    ];
    text = builtins.readFile ./thymis-deliver-secrets.sh;
  };

  controllerActivate = pkgs.writeShellApplication {
    name = "thymis-controller-activate";
    runtimeInputs = [
      pkgs.coreutils
      config.systemd.package
    ];
    text = builtins.readFile ./thymis-controller-activate.sh;
  };

  # Settings of both the service and the operator command line.
  commonEnvironment = {
    HOME = cfg.project-path;
    THYMIS_PROJECT_PATH = cfg.project-path;
    THYMIS_AUTH_BASIC_USERNAME = cfg.auth-basic-username;
    THYMIS_ALLOW_LOCAL_REPOSITORIES = if cfg.allow-local-repositories then "1" else "0";
    THYMIS_SECRETS_DIR = cfg.secrets-dir;
    THYMIS_SECRET_PATHS = lib.concatStringsSep ":" cfg.secret-paths;
    XDG_CACHE_HOME = "/var/cache/thymis-controller";
    NIX_REMOTE = "daemon";
    NIX_CONFIG = "extra-experimental-features = nix-command flakes";
  }
  // lib.optionalAttrs (cfg.base-url != null) { THYMIS_BASE_URL = cfg.base-url; }
  # Behind the nginx vhost the client's address comes in X-Forwarded-For (login throttling needs it).
  // lib.optionalAttrs cfg.nginx-vhost-enable { THYMIS_TRUST_PROXY = "1"; }
  // lib.optionalAttrs cfg.local-activation-enable {
    THYMIS_LOCAL_ACTIVATION_COMMAND = "${controllerActivate}/bin/thymis-controller-activate";
    THYMIS_ACTIVATE_LOG_DIR = activationLogDirectory;
    THYMIS_SECRETS_INCOMING = secretsIncoming;
  };

  # The service reads its secrets as systemd credentials, so the files may stay
  # readable by root only.
  serviceEnvironment =
    commonEnvironment
    // lib.optionalAttrs (cfg.auth-basic-password-file != null) {
      THYMIS_AUTH_BASIC_PASSWORD_FILE = "${credentialsDirectory}/admin-password";
    }
    // lib.optionalAttrs (cfg.ssh-key-file != null) {
      THYMIS_SSH_KEY = "${credentialsDirectory}/ssh-key";
    }
    // cfg.extra-environment;

  cliEnvironment =
    commonEnvironment
    // lib.optionalAttrs (cfg.auth-basic-password-file != null) {
      THYMIS_AUTH_BASIC_PASSWORD_FILE = cfg.auth-basic-password-file;
    }
    // lib.optionalAttrs (cfg.ssh-key-file != null) { THYMIS_SSH_KEY = cfg.ssh-key-file; }
    // cfg.extra-environment;

  cliAsServiceUser = pkgs.writeShellScript "thymis-controller-cli-as-${user}" ''
    ${lib.concatStringsSep "\n" (
      lib.mapAttrsToList (name: value: "export ${name}=${lib.escapeShellArg value}") cliEnvironment
    )}
    cd ${lib.escapeShellArg cfg.project-path}
    exec ${cfg.package}/bin/thymis-controller-cli "$@"
  '';

  # `thymis-controller-cli tokens create NAME` and the other operator commands,
  # with the service's settings, as the service's user.
  cli = pkgs.writeShellApplication {
    name = "thymis-controller-cli";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.util-linux
    ];
    text = ''
      if [ "$(id -u)" -eq 0 ]; then
        exec runuser -u ${user} -- ${cliAsServiceUser} "$@"
      elif [ "$(id -un)" = ${user} ]; then
        exec ${cliAsServiceUser} "$@"
      fi
      echo "thymis-controller-cli: run it as root or as the ${user} user" >&2
      exit 1
    '';
  };

  polkitRule = ''
    // services.thymis-controller: the controller's user may start (and only
    // start) instances of thymis-activate@.service and
    // thymis-deliver-secrets@.service, the narrow root paths for local
    // activation and its secrets.
    polkit.addRule(function (action, subject) {
      if (action.id == "org.freedesktop.systemd1.manage-units" &&
          subject.user == "${user}" &&
          action.lookup("verb") == "start") {
        var unit = action.lookup("unit");
        if (unit && (unit.indexOf("thymis-activate@") == 0 ||
                     unit.indexOf("thymis-deliver-secrets@") == 0) &&
            unit.slice(-".service".length) == ".service") {
          return polkit.Result.YES;
        }
      }
    });
  '';
in
{
  options.services.thymis-controller = {
    enable = mkEnableOption "the Thymis controller appliance (web interface, JSON API, builds and deployments of device configurations)";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../nix/package.nix { nix = config.nix.package; };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { nix = config.nix.package; }";
      description = "The controller package: it provides bin/thymis-controller (gunicorn) and bin/thymis-controller-cli (operator commands).";
    };

    project-path = mkOption {
      type = absoluteDirectory;
      default = "/var/lib/thymis";
      description = ''
        The controller's data folder (THYMIS_PROJECT_PATH): database, fetched
        repositories, the generated project flake, the generated admin
        password. Also the home of the `thymis` user. Below /var/lib it is the
        service's StateDirectory; elsewhere it is created by systemd-tmpfiles.
      '';
    };

    listen-host = mkOption {
      type = types.str;
      default = "127.0.0.1";
      example = "0.0.0.0";
      description = "Address gunicorn listens on. Keep the default behind the nginx virtual host.";
    };

    listen-port = mkOption {
      type = types.port;
      default = 8000;
      description = "Port gunicorn listens on.";
    };

    base-url = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://thymis.example.com";
      description = ''
        How the controller is reached from outside (THYMIS_BASE_URL). When null,
        THYMIS_BASE_URL is not set and the application uses its own default.
      '';
    };

    auth-basic-password-file = mkOption {
      type = types.nullOr absolutePath;
      default = null;
      example = "/run/secrets/thymis-admin-password";
      description = ''
        File holding the admin password (THYMIS_AUTH_BASIC_PASSWORD_FILE). It is
        handed to the service as a systemd credential, so it may be readable by
        root only; give it as a string so that it is not copied into the Nix
        store. When null, the controller generates a password on its first
        start, prints it once to its log (`journalctl -u thymis-controller`) and
        keeps only its hash; `thymis-controller-cli admin set-password` changes it.
      '';
    };

    auth-basic = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Thymis's switch for user name + password login. Here that login is the
        only one and it is always on; `false` is accepted (so a Thymis
        configuration evaluates) and reported by a warning that it has no effect.
      '';
    };

    auth-basic-username = mkOption {
      type = types.str;
      default = "admin";
      example = "operator";
      description = "User name of the login form (THYMIS_AUTH_BASIC_USERNAME); the password is the admin password.";
    };

    agent-access-url = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://thymis.example.com";
      description = ''
        Thymis's URL for its device agents. This controller has no device agent
        (it reaches devices over SSH), so the option is accepted and unused: a
        warning says so when it is set.
      '';
    };

    system-binfmt-aarch64-enable = mkEnableOption ''
      emulation of aarch64-linux (boot.binfmt.emulatedSystems), so that this
      machine can build device configurations for aarch64 devices'';

    system-binfmt-x86_64-enable = mkEnableOption ''
      emulation of x86_64-linux (boot.binfmt.emulatedSystems), so that this
      machine can build device configurations for x86_64 devices'';

    recommended-nix-gc-settings-enable = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Thymis's recommended Nix store settings, each a default you can
        override: a daily garbage collection at 02:00 (randomized by up to 15
        minutes) that keeps build outputs, `keep-outputs`, `auto-optimise-store`
        and 12 GiB `min-free`.
      '';
    };

    ssh-key-file = mkOption {
      type = types.nullOr absolutePath;
      default = null;
      example = "/run/secrets/thymis-ssh-key";
      description = ''
        Private SSH key the controller uses to reach devices and private
        repositories (THYMIS_SSH_KEY), handed to the service as a systemd
        credential. When null, the application uses its own default.
      '';
    };

    workers = mkOption {
      type = types.ints.positive;
      default = 1;
      description = ''
        Number of gunicorn worker processes, each with `threads` threads. One worker keeps idle
        memory near 70 MB (master and worker); each further worker adds about 45 MB and a core's
        worth of throughput (the same default as scripts/run.sh).
      '';
    };

    threads = mkOption {
      type = types.ints.positive;
      default = 8;
      description = "Threads per gunicorn worker (the same default as scripts/run.sh).";
    };

    allow-local-repositories = mkOption {
      type = types.bool;
      default = false;
      description = "Whether repositories may be added from folders on this machine (THYMIS_ALLOW_LOCAL_REPOSITORIES).";
    };

    nginx-vhost-enable = mkEnableOption "an nginx virtual host that proxies to the controller";

    nginx-vhost-name = mkOption {
      type = types.str;
      default = "thymis";
      example = "thymis.example.com";
      description = "Name (server_name) of the nginx virtual host; it is also nginx's default virtual host.";
    };

    open-firewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to open the firewall: ports 80 and 443 with the nginx virtual
        host, `listen-port` without it.
      '';
    };

    secrets-dir = mkOption {
      type = secretFolder;
      default = "/run/thymis/secrets";
      example = "/var/lib/thymis-secrets";
      description = ''
        The folder on every device the controller places secrets in
        (THYMIS_SECRETS_DIR): a secret setting without a path of its own gets
        `<folder>/<secret name>`, root only. Each device's configuration sets
        the device module's `thymis.config.secrets-dir` to it, which creates the
        folder at boot (mode 0700, root). Below /run the files live in memory and
        are gone after a reboot until the next deploy.
      '';
    };

    secret-paths = mkOption {
      type = types.listOf secretFolder;
      default = [ "/run/thymis" ];
      example = [
        "/run/thymis"
        "/var/lib/myapp/secrets"
      ];
      description = ''
        Other folders on devices a module may ask to place a secret in
        (THYMIS_SECRET_PATHS; the secrets folder is always allowed). A secret
        whose path is outside all of them (say /etc/shadow) is refused before
        anything is built. System folders (/etc, /nix, /usr, ...) are refused.
      '';
    };

    extra-environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = {
        THYMIS_SYSTEM_PROFILE = "/nix/var/nix/profiles/system";
      };
      description = "More environment variables for the controller (and its command line); they override the ones set from the options above.";
    };

    local-activation-enable = mkEnableOption ''
      local activation: the controller may switch this machine to NixOS systems
      it built (through the root unit thymis-activate@.service, which accepts
      only valid store paths of NixOS systems built from Thymis device
      configurations for this platform; see the README)'';

    local-activation-action = mkOption {
      type = types.enum [
        "switch"
        "boot"
        "test"
      ];
      default = "switch";
      description = ''
        What local activation does with a system: `switch` (make it the boot
        default and activate it), `boot` (boot default only), `test` (activate,
        not the boot default, system profile unchanged).
      '';
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = builtins.match "[^[:space:]]+" cfg.auth-basic-username != null;
            message = "services.thymis-controller.auth-basic-username must be a non-empty user name without spaces.";
          }
          {
            assertion =
              !(lib.any (prefix: lib.hasPrefix prefix (cfg.project-path + "/")) [
                "/home/"
                "/root/"
                "/run/user/"
                "/nix/"
              ]);
            message = "services.thymis-controller.project-path must not be below /home, /root, /run/user or /nix (the service runs with ProtectHome and a read-only /nix).";
          }
          {
            assertion =
              let
                allowed = config.nix.settings.allowed-users;
              in
              builtins.elem "*" allowed || builtins.elem user allowed || builtins.elem "@${group}" allowed;
            message = "services.thymis-controller: nix.settings.allowed-users must include \"${user}\" (or \"*\"), the controller builds through the Nix daemon.";
          }
        ];

        warnings =
          lib.optional (!cfg.auth-basic) "services.thymis-controller.auth-basic = false has no effect: user name + password login is this controller's only login and stays on."
          ++ lib.optional (cfg.agent-access-url != null) "services.thymis-controller.agent-access-url is not used: this controller has no device agent, it reaches devices over SSH."
          ++ lib.optional
            (
              cfg.open-firewall
              && !cfg.nginx-vhost-enable
              && builtins.elem cfg.listen-host [
                "127.0.0.1"
                "::1"
                "localhost"
              ]
            )
            "services.thymis-controller.open-firewall opens port ${toString cfg.listen-port}, but the controller listens on ${cfg.listen-host} only.";

        users.users.${user} = {
          isSystemUser = true;
          inherit group;
          home = cfg.project-path;
          description = "Thymis controller";
        };
        users.groups.${group} = { };

        # An ordinary Nix daemon user: it may build, but it is not trusted (no
        # unsigned imports, no substituters or settings from project flakes).
        nix.settings.allowed-users = lib.mkOptionDefault [ user ];

        systemd.tmpfiles.rules = lib.optional (
          !useStateDirectory
        ) "d ${cfg.project-path} 0750 ${user} ${group} - -";

        environment.systemPackages = [ cli ];

        systemd.services.thymis-controller = {
          description = "Thymis controller";
          wantedBy = [ "multi-user.target" ];
          wants = [ "network-online.target" ];
          after = [
            "network-online.target"
            "nix-daemon.socket"
          ];
          environment = serviceEnvironment;
          serviceConfig = {
            ExecStart = lib.escapeShellArgs [
              "${cfg.package}/bin/thymis-controller"
              "--bind"
              bind
              "--workers"
              (toString cfg.workers)
              "--threads"
              (toString cfg.threads)
            ];
            User = user;
            Group = group;
            WorkingDirectory = cfg.project-path;
            StateDirectory = mkIf useStateDirectory (lib.removePrefix "/var/lib/" cfg.project-path);
            StateDirectoryMode = "0750";
            ReadWritePaths = mkIf (!useStateDirectory) [ cfg.project-path ];
            CacheDirectory = "thymis-controller";
            # Only the controller's user can write it: local secrets staged for the root helper.
            RuntimeDirectory = mkIf cfg.local-activation-enable (lib.removePrefix "/run/" secretsIncoming);
            RuntimeDirectoryMode = mkIf cfg.local-activation-enable "0700";
            LoadCredential =
              lib.optional (
                cfg.auth-basic-password-file != null
              ) "admin-password:${cfg.auth-basic-password-file}"
              ++ lib.optional (cfg.ssh-key-file != null) "ssh-key:${cfg.ssh-key-file}";
            Restart = "on-failure";
            RestartSec = "5s";
            UMask = "0027";

            # Hardening. The service needs the network, the Nix daemon's socket
            # and its data folder; everything else is read-only or hidden.
            NoNewPrivileges = true;
            ProtectSystem = "strict";
            ProtectHome = true;
            PrivateTmp = true;
            PrivateDevices = true;
            # The bubblewrap sandbox for repository code needs unprivileged
            # namespaces (exactly these; not the time namespace) and mounts a
            # fresh /proc of its own, which the kernel refuses while parts of
            # the service's /proc are covered: so no ProtectKernelTunables
            # (read-only /proc/sys), no ProtectKernelLogs (/proc/kmsg hidden),
            # no ProtectProc/ProcSubset. The sandbox's own /proc shows only
            # its processes and has no write access to the kernel's tunables.
            RestrictNamespaces = "user mnt pid net ipc uts cgroup";
            ProtectKernelTunables = false;
            ProtectKernelModules = true;
            ProtectKernelLogs = false;
            ProtectControlGroups = true;
            ProtectClock = true;
            ProtectHostname = true;
            RestrictAddressFamilies = [
              "AF_UNIX"
              "AF_INET"
              "AF_INET6"
            ];
            RestrictRealtime = true;
            RestrictSUIDSGID = true;
            LockPersonality = true;
            CapabilityBoundingSet = "";
            AmbientCapabilities = "";
            SystemCallArchitectures = "native";
          };
        };

        services.nginx = mkIf cfg.nginx-vhost-enable {
          enable = true;
          virtualHosts.${cfg.nginx-vhost-name} = {
            default = lib.mkDefault true;
            locations."/" = {
              proxyPass = "http://${hostInUrl proxyHost}:${toString cfg.listen-port}";
              recommendedProxySettings = true;
            };
          };
        };

        boot.binfmt.emulatedSystems =
          lib.optional cfg.system-binfmt-aarch64-enable "aarch64-linux"
          ++ lib.optional cfg.system-binfmt-x86_64-enable "x86_64-linux";

        networking.firewall.allowedTCPPorts = mkIf cfg.open-firewall (
          if cfg.nginx-vhost-enable then
            [
              80
              443
            ]
          else
            [ cfg.listen-port ]
        );
      }

      # Thymis's recommended store settings, each a default the machine's own configuration may override.
      (mkIf cfg.recommended-nix-gc-settings-enable {
        nix.settings = {
          keep-outputs = lib.mkDefault true;
          auto-optimise-store = lib.mkDefault true;
          min-free = lib.mkDefault (12 * 1024 * 1024 * 1024);
        };
        nix.gc = {
          automatic = lib.mkDefault true;
          dates = lib.mkDefault "02:00";
          randomizedDelaySec = lib.mkDefault "15min";
        };
      })

      (mkIf cfg.local-activation-enable {
        security.polkit.enable = true;
        security.polkit.extraConfig = polkitRule;

        systemd.services."thymis-activate@" = {
          description = "Thymis controller: activate the NixOS system %f";
          # Never restarted or stopped by the switch it is running.
          restartIfChanged = false;
          unitConfig.X-StopOnRemoval = false;
          environment = {
            THYMIS_ACTIVATE_SYSTEM = pkgs.stdenv.hostPlatform.system;
            THYMIS_ACTIVATE_ACTION = cfg.local-activation-action;
            THYMIS_ACTIVATE_PROFILE = "/nix/var/nix/profiles/system";
            THYMIS_ACTIVATE_STORE_DIR = builtins.storeDir;
            THYMIS_ACTIVATE_LOCK = "/run/thymis-activate.lock";
            THYMIS_ACTIVATE_LOG_DIR = activationLogDirectory;
          };
          serviceConfig = {
            Type = "oneshot";
            ExecStart = "${rootActivate}/bin/thymis-activate %f";
            RuntimeDirectory = "thymis-activate";
            RuntimeDirectoryMode = "0755";
            RuntimeDirectoryPreserve = true;
            TimeoutStartSec = "30min";
          };
        };

        # Places a local device's secrets as root, from what the controller's user staged (see
        # thymis-deliver-secrets.sh, which checks it all again), before the switch.
        systemd.services."thymis-deliver-secrets@" = {
          description = "Thymis controller: place the secrets staged as %i";
          restartIfChanged = false;
          unitConfig.X-StopOnRemoval = false;
          environment = {
            THYMIS_SECRETS_DIR = cfg.secrets-dir;
            THYMIS_SECRET_PATHS = lib.concatStringsSep ":" cfg.secret-paths;
            THYMIS_SECRETS_INCOMING = secretsIncoming;
            THYMIS_PLACE_SECRETS = "${cfg.package}/share/thymis-controller/secret_store/place-secrets.sh";
            THYMIS_ACTIVATE_LOG_DIR = activationLogDirectory;
          };
          serviceConfig = {
            Type = "oneshot";
            ExecStart = "${rootDeliverSecrets}/bin/thymis-deliver-secrets %i";
            RuntimeDirectory = "thymis-activate";
            RuntimeDirectoryMode = "0755";
            RuntimeDirectoryPreserve = true;
            PrivateTmp = true;
            TimeoutStartSec = "2min";
          };
        };

        environment.systemPackages = [ controllerActivate ];
      })
    ]
  );
}
