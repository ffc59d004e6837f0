{ lib, ... }:
with lib;
{
  options.boot.loader.efi = {
    canTouchEfiVariables = mkOption {
      type = types.bool;
      default = false;
      description = "Whether the installer may add a boot entry to the firmware's EFI variables.";
    };
    efiSysMountPoint = mkOption {
      type = types.str;
      default = "/boot";
      description = "Where the EFI System Partition is mounted.";
    };
  };
}
