{ config, pkgs, ... }:
{
  networking.hostName = "from-module";
  boot.kernelModules = [ "tun" ];
  environment.systemPackages =
    if config.services.openssh.enable then
      [ pkgs.firefox ]
    else
      [ ];
  services.openssh.enable = true;
}
