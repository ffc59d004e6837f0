{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.int; default = 1; }; }
  { _file = "/etc/nixos/configuration.nix"; config.a = 2; a = 3; }
]; }).config
