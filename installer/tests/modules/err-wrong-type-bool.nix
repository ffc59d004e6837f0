{ lib }: with lib; (evalModules { modules = [
  { options.services.httpd.enable = mkOption { type = types.bool; default = false; }; }
  { _file = "/etc/nixos/configuration.nix"; services.httpd.enable = "yes"; }
]; }).config
