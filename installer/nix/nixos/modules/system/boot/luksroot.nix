{ lib, ... }:
with lib;
{
  options.boot.initrd.luks.devices = mkOption {
    default = { };
    example = { luksroot.device = "/dev/disk/by-uuid/430e9eff-d852-4f68-aa3b-2fa3599ebe08"; };
    description = "LUKS devices the initrd opens, by /dev/mapper name.";
    type = types.attrsOf (types.submodule ({ name, ... }: {
      options = {
        name = mkOption { type = types.str; default = name; internal = true; description = "The /dev/mapper name."; };
        device = mkOption {
          type = types.str;
          example = "/dev/disk/by-uuid/430e9eff-d852-4f68-aa3b-2fa3599ebe08";
          description = "The encrypted device.";
        };
        keyFile = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "A key file (in the initrd) instead of a passphrase typed at boot.";
        };
        allowDiscards = mkOption { type = types.bool; default = false; description = "Pass TRIM requests through."; };
        preLVM = mkOption { type = types.bool; default = true; description = "Open before LVM is activated."; };
      };
    }));
  };
}
