# A unique option (types.uniq) given twice, even with equal values: both definitions are listed.
{ lib }: with lib; (evalModules { modules = [
  { options.boot.loader.grub.configurationLimit = mkOption { type = types.uniq types.int; }; }
  { _file = "/etc/nixos/configuration.nix"; boot.loader.grub.configurationLimit = 10; }
  { _file = "/etc/nixos/boot.nix"; boot.loader.grub.configurationLimit = 10; }
]; }).config
