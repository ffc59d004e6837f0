{ lib }: with lib; (evalModules { modules = [
  { options.permitRootLogin = mkOption { type = types.enum [ "yes" "no" ]; default = "no"; }; }
  { _file = "/etc/nixos/configuration.nix"; permitRootLogin = "maybe"; }
]; }).config
