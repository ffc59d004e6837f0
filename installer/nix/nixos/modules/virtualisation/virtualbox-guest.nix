{ lib, ... }:
with lib;
{
  options.virtualisation.virtualbox.guest.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Whether this is a VirtualBox guest (guest additions, vboxsf mounts).";
  };
  options.virtualisation.hypervGuest.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Whether this is a Hyper-V guest (its storage and network drivers in the initrd).";
  };
}
