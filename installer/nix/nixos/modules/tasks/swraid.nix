{ lib, ... }:
with lib;
{
  options.boot.swraid.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Whether to assemble mdadm software RAID arrays at boot (the initrd gets md and mdadm).";
  };
  options.boot.initrd.mdadmConf = mkOption {
    type = types.lines;
    default = "";
    description = "Contents of /etc/mdadm.conf in the initrd.";
  };
}
