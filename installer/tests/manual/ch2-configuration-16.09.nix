# configuration.nix as NixOS 16.09's nixos-generate-config wrote it, with its commented lines
# enabled: the names it used were renamed or retired since.
{ config, pkgs, ... }:

{
  imports =
    [ # Include the results of the hardware scan.
      ./ch2-hardware-configuration.nix
    ];

  # Use the GRUB 2 boot loader.
  boot.loader.grub.enable = true;
  boot.loader.grub.version = 2;
  # Define on which hard drive you want to install Grub.
  boot.loader.grub.device = "/dev/sda";

  # Select internationalisation properties.
  i18n = {
    consoleKeyMap = "fr";
    defaultLocale = "en_US.UTF-8";
  };

  # Define a user account. Don't forget to set a password with ‘passwd’.
  users.extraUsers.guest = {
    isNormalUser = true;
    uid = 1000;
  };

  # The NixOS release to be compatible with for stateful data such as databases.
  system.stateVersion = "16.09";
}
