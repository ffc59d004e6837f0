# Manual, chapter 5: the option definitions of 5.1 that use options we have.
{ config, pkgs, ... }:
{
  imports = [ ./ch2-hardware-configuration.nix ];
  boot.loader.grub.device = "/dev/sda";
  networking.hostName = "dexter";
  networking.extraHosts =
    ''
      127.0.0.2 other-localhost
      10.0.0.1 server
    '';
  networking.firewall.enable = true;
  networking.firewall.allowPing = false;
  boot.kernel.sysctl."net.ipv4.tcp_keepalive_time" = 60;
  fileSystems."/boot" =
    { device = "/dev/sda1";
      fsType = "ext4";
      options = [ "rw" "data=ordered" "relatime" ];
    };
  boot.kernelModules = [ "fuse" "kvm-intel" "coretemp" ];
  swapDevices = [ { device = "/dev/disk/by-label/swap"; } ];
  environment.systemPackages =
    [ pkgs.thunderbird
    ];
}
