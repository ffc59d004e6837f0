# Manual, Example 2.2 "NixOS Configuration".
{ config, pkgs, ... }:

{
  imports =
    [ # Include the results of the hardware scan.
      ./ch2-hardware-configuration.nix
    ];

  boot.loader.grub.device = "/dev/sda";

  # Note: setting fileSystems is generally not
  # necessary, since nixos-generate-config figures them out
  # automatically in hardware-configuration.nix.
  #fileSystems."/".device = "/dev/disk/by-label/nixos";

  # Enable the OpenSSH server.
  services.sshd.enable = true;
}
