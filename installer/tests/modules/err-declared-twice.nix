{ lib }: with lib; (evalModules { modules = [
  { _file = "/one.nix"; options.a = mkOption { type = types.int; default = 1; }; }
  { _file = "/two.nix"; options.a = mkOption { type = types.int; default = 2; }; }
]; }).config
