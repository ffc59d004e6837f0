# Manual, chapter 10 "Networking": ssh, keys, static IPv4, host name, IPv6, firewall.
{ config, pkgs, ... }:
{
  imports = [ ./ch2-hardware-configuration.nix ];
  boot.loader.grub.device = "/dev/sda";
  services.openssh.enable = true;
  services.openssh.permitRootLogin = "no";
  users.extraUsers.alice.isNormalUser = true;
  users.extraUsers.alice.openssh.authorizedKeys.keys =
    [ "ssh-dss AAAAB3NzaC1kc3MAAACBAPIkGWVEt4..." ];
  networking.interfaces.eth0.ip4 = [ { address = "192.168.1.2"; prefixLength = 24; } ];
  networking.defaultGateway = "192.168.1.1";
  networking.nameservers = [ "8.8.8.8" ];
  networking.hostName = "cartman";
  networking.enableIPv6 = false;
  networking.firewall.enable = true;
  networking.firewall.allowedTCPPorts = [ 80 443 ];
  networking.firewall.allowedUDPPorts = [ 53 ];
  networking.firewall.allowPing = true;
}
