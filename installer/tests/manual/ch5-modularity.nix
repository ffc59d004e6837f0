# Manual, 5.3 "Modularity": imports, mkBefore, pkgs.lib.mkForce, config of other modules.
{ config, pkgs, ... }:
{
  imports = [ ./ch2-hardware-configuration.nix ./ch5-extra-module.nix ];
  boot.loader.grub.device = "/dev/sda";
  boot.kernelModules = pkgs.lib.mkBefore [ "kvm-intel" ];
  networking.hostName = pkgs.lib.mkForce "forced-name";
  environment.systemPackages = [ pkgs.emacs ];
}
