# Manual, chapter 7 "User Management".
{ config, pkgs, ... }:
{
  imports = [ ./ch2-hardware-configuration.nix ];
  boot.loader.grub.device = "/dev/sda";
  users.extraUsers.alice =
    { isNormalUser = true;
      home = "/home/alice";
      description = "Alice Foobar";
      extraGroups = [ "wheel" "networkmanager" ];
      openssh.authorizedKeys.keys = [ "ssh-dss AAAAB3Nza... alice@foobar" ];
      uid = 1000;
    };
  users.mutableUsers = false;
  users.extraGroups.students.gid = 1000;
}
