{
  description = "Thymis-compatible controller appliance: external module repositories, device configurations, Nix builds";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        thymis-controller = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.thymis-controller;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/thymis-controller";
        };
      });

      overlays.default = final: prev: {
        thymis-controller = final.callPackage ./nix/package.nix { };
      };

      nixosModules = {
        # services.thymis-controller, the appliance.
        default = ./nixos-module;
        # Thymis's name for the same module.
        thymis-controller = self.nixosModules.default;
        # The base module of generated device configurations (thymis.config.*).
        thymis-device = ./nixos-module/device.nix;
      };

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        vm-test = import ./nix/vm-test.nix {
          inherit pkgs;
          inherit (self) nixosModules;
        };
      });
    };
}
