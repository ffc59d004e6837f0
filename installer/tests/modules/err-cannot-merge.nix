# Definitions of an untyped option that are neither all lists, sets, booleans nor strings.
{ lib }: with lib; (evalModules { modules = [
  { options.extra = mkOption { }; }
  { _file = "/etc/nixos/a.nix"; extra = [ "x" ]; }
  { _file = "/etc/nixos/b.nix"; extra = "y"; }
]; }).config
