# types.anything: two different leaves under one name conflict, and are listed with their values.
{ lib }: with lib; (evalModules { modules = [
  { options.settings = mkOption { type = types.anything; default = { }; }; }
  { _file = "/etc/nixos/a.nix"; settings.ui.size = 2; }
  { _file = "/etc/nixos/b.nix"; settings.ui.size = 3; }
]; }).config
