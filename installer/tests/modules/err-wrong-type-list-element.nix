{ lib }: with lib; (evalModules { modules = [
  { options.boot.kernelModules = mkOption { type = types.listOf types.str; default = [ ]; }; }
  { _file = "/etc/nixos/configuration.nix"; boot.kernelModules = [ "fuse" 42 ]; }
]; }).config
