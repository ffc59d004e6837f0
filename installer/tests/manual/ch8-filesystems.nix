# Manual, chapter 8 "File Systems" and 8.1 "LUKS-Encrypted File Systems".
{ config, pkgs, ... }:
{
  boot.loader.grub.device = "/dev/sda";
  fileSystems."/data" =
    { device = "/dev/disk/by-label/data";
      fsType = "ext4";
    };
  boot.initrd.luks.devices.crypted.device = "/dev/disk/by-uuid/3f6b0024-3a44-4fde-a43a-767b872abe5d";
  fileSystems."/".device = "/dev/mapper/crypted";
  boot.loader.grub.enableCryptodisk = true;
}
