{ lib }: with lib; (evalModules { modules = [
  { options.ports = mkOption { type = types.listOf types.port; default = [ ]; }; }
  { _file = "/etc/nixos/configuration.nix"; ports = [ 22 70000 ]; }
]; }).config
