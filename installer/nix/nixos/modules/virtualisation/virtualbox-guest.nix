{ lib, ... }:
with lib;
{
  options.virtualisation.virtualbox.guest.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Whether this is a VirtualBox guest (guest additions, vboxsf mounts).";
  };
}
