{ lib }: with lib; (evalModules { modules = [
  { options.l = mkOption { type = types.listOf types.str; default = [ ]; }; }
  { imports = [ { _file = "/imported.nix"; l = [ "from-import" ]; } ]; _file = "/main.nix"; l = [ "from-main" ]; }
]; }).config.l
