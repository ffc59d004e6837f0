{ lib }: with lib; (evalModules { modules = [
  { options.tz = mkOption { type = types.nullOr types.str; }; }
  { _file = "/a.nix"; tz = null; } { _file = "/b.nix"; tz = "UTC"; }
]; }).config
