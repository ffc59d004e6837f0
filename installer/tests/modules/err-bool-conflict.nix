{ lib }: with lib; (evalModules { modules = [
  { options.e = mkOption { type = types.bool; }; }
  { _file = "/a.nix"; e = true; } { _file = "/b.nix"; e = false; }
]; }).config
