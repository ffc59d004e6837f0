# A read-only option may be defined once.
{ lib }: with lib; (evalModules { modules = [
  { options.system.build = mkOption { type = types.str; readOnly = true; }; }
  { _file = "/etc/nixos/a.nix"; system.build = "x"; }
  { _file = "/etc/nixos/b.nix"; system.build = "y"; }
]; }).config
