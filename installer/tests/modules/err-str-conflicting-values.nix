# Two different strings for one option: both are listed, with how to settle it.
{ lib }: with lib; (evalModules { modules = [
  { options.services.httpd.adminAddr = mkOption { type = types.str; }; }
  { _file = "/etc/nixos/configuration.nix"; services.httpd.adminAddr = "a@example.org"; }
  { _file = "/etc/nixos/httpd.nix"; services.httpd.adminAddr = "b@example.org"; }
]; }).config
