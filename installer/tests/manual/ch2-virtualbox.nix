# Manual, section 2.4 "Installing in a Virtualbox guest".
{ config, pkgs, ... }:
{
  imports = [ ./ch2-hardware-configuration.nix ];
  virtualisation.virtualbox.guest.enable = true;
  boot.loader.grub.device = "/dev/sda";
  boot.initrd.checkJournalingFS = false;
  fileSystems."/virtualboxshare" = {
    fsType = "vboxsf";
    device = "nameofthesharedfolder";
    options = [ "rw" ];
  };
}
