# An undeclared option's value is shown, but not what a password is set to in it.
{ lib }: with lib; (evalModules { modules = [
  { options.users.users = mkOption { type = types.attrs; default = { }; }; }
  { _file = "/etc/nixos/configuration.nix"; networking.wireless.networks.home.psk = "hunter22"; }
]; }).config
