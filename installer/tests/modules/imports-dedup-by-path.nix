{ lib }: with lib;
let shared = { _file = "/shared.nix"; key = "/shared.nix"; l = [ "once" ]; }; in
(evalModules { modules = [
  { options.l = mkOption { type = types.listOf types.str; default = [ ]; }; }
  { imports = [ shared ]; } { imports = [ shared ]; }
]; }).config.l
