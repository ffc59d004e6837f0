# types.anything merges attribute sets recursively; equal leaves are accepted.
{ lib }: with lib; (evalModules { modules = [
  { options.settings = mkOption { type = types.anything; default = { }; }; }
  { _file = "/etc/nixos/a.nix"; settings = { ui.theme = "dark"; ui.size = 2; list = [ 1 ]; }; }
  { _file = "/etc/nixos/b.nix"; settings = { ui.font = "mono"; ui.size = 2; other = true; }; }
]; }).config
