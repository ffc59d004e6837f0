{ lib, ... }:
with lib;
{
  options.hardware.enableRedistributableFirmware = mkOption {
    type = types.bool;
    default = false;
    description = "Install firmware that may be redistributed (Debian's non-free firmware packages).";
  };
}
