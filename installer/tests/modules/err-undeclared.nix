{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.int; default = 1; }; }
  { _file = "/etc/nixos/configuration.nix"; services.httpd.enable = true; }
]; }).config
