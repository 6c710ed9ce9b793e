# Settings checked against option types at save (configs/option_check.py): the rendered module files of a
# device or tag, with the `thymis` flake's device module, under the real module system (lib.evalModules of
# the thymis flake's nixpkgs). What no module declares is free-form and never evaluated, so only the
# definitions of declared options (and of the declared options of their submodules) are checked.
#
# Evaluated by nix-instantiate in restricted mode (no network, only the thymis flake's sources and the
# folder of the rendered files readable). Arguments:
#   tree: the thymis flake's sources as `nix flake archive --json` gives them ({ path, inputs }).
#   files: [ { index, path } ] the rendered module files; system: the device's system;
#   repositories: names of the repository inputs (their values are not available here);
#   force: null, or the index of one failing option (in the list this returns) whose value is forced without
#   tryEval, for its error message.
{ tree, files, system, repositories, force ? null }:
let
  unavailable = "thymis-option-check: not available at save";
  load =
    node:
    let
      flake = import (node.path + "/flake.nix");
      inputs = builtins.mapAttrs (_: load) (node.inputs or { });
      self = outputs // {
        outPath = node.path;
        inherit inputs;
        lastModified = 0;
        lastModifiedDate = "19700101000000";
      };
      outputs = flake.outputs (inputs // { inherit self; });
    in
    if builtins.pathExists (node.path + "/flake.nix") then self else { outPath = node.path; };
  thymis = load tree;
  nixpkgs = thymis.inputs.nixpkgs;
  lib = nixpkgs.lib;
  inputs = { inherit thymis nixpkgs; self = throw unavailable; }
    // lib.genAttrs repositories (_: throw unavailable);
  rest = {
    freeformType = lib.types.lazyAttrsOf lib.types.anything;
    config._module.args.pkgs = nixpkgs.legacyPackages.${system} or (throw unavailable);
  };
  modules = map (f: { _file = "modules[${toString f.index}]"; imports = [ (import f.path) ]; }) files;
  evaluated = lib.evalModules {
    specialArgs = { inherit inputs; modulesPath = throw unavailable; };
    modules = [ rest thymis.nixosModules.thymis-device ] ++ modules;
  };
  ours = option: builtins.filter (f: lib.hasPrefix "modules[" f) option.files;
  top = builtins.filter (o: builtins.head o.loc != "_module" && ours o != [ ])
    (lib.collect lib.isOption evaluated.options);
  sub = option:
    if (option.type.name or "") == "submodule" then
      builtins.filter (o: lib.last o.loc != "_module") (lib.collect lib.isOption (option.type.getSubOptions option.loc))
    else [ ];
  checked = builtins.concatMap (o: [ { loc = o.loc; files = ours o; } ]
    ++ map (s: { loc = s.loc; files = ours o; }) (builtins.filter (s: !(lib.hasPrefix "_" (lib.last s.loc))) (sub o))) top;
  valueAt = loc: lib.attrByPath loc null evaluated.config;
  result = lib.imap0 (i: c: {
    index = i;
    name = lib.showOption c.loc;
    inherit (c) files;
    ok = (builtins.tryEval (builtins.seq (valueAt c.loc) true)).success;
  }) checked;
in
if force == null then
  builtins.filter (r: !r.ok) result
else
  builtins.seq (valueAt (builtins.elemAt checked force).loc) "ok"
