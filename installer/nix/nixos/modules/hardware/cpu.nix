{ lib, ... }:
with lib;
{
  options.hardware.cpu.intel.updateMicrocode = mkOption {
    type = types.bool;
    default = false;
    description = "Install Intel CPU microcode updates (intel-microcode).";
  };
  options.hardware.cpu.amd.updateMicrocode = mkOption {
    type = types.bool;
    default = false;
    description = "Install AMD CPU microcode updates (amd64-microcode).";
  };
}
