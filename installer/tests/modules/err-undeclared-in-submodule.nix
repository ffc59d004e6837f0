{ lib }: with lib; (evalModules { modules = [
  { options.fileSystems = mkOption { type = types.attrsOf (types.submodule { options.device = mkOption { type = types.str; }; }); }; }
  { _file = "/etc/nixos/hardware-configuration.nix"; fileSystems."/".devcie = "/dev/sda1"; }
]; }).config
