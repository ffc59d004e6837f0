# types.str (and int, enum, port, path) take equal definitions from several modules.
{ lib }: with lib; (evalModules { modules = [
  {
    options.networking.hostName = mkOption { type = types.str; };
    options.networking.port = mkOption { type = types.port; };
  }
  { _file = "/etc/nixos/configuration.nix"; networking.hostName = "cartman"; networking.port = 22; }
  { _file = "/etc/nixos/hostname.nix"; networking.hostName = "cartman"; networking.port = 22; }
]; }).config
