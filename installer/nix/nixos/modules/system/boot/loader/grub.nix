{ config, lib, ... }:
with lib;
let cfg = config.boot.loader.grub; in
{
  options.boot.loader.grub = {
    enable = mkOption {
      type = types.bool;
      default = !config.boot.loader.systemd-boot.enable;
      description = "Whether to install GRUB as the boot loader.";
    };
    version = mkOption {
      type = types.enum [ 1 2 ];
      default = 2;
      description = "The GRUB version (only 2 is installed; kept for configurations written for NixOS 16.09).";
    };
    device = mkOption {
      type = types.str;
      default = "";
      example = "/dev/disk/by-id/wwn-0x500001234567890a";
      description = ''
        The device on which GRUB is installed for BIOS booting ("nodev" for none, e.g. with
        efiSupport only). Shorthand for a one-element `boot.loader.grub.devices`.
      '';
    };
    devices = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "/dev/disk/by-id/wwn-0x500001234567890a" ];
      description = "The devices on which GRUB is installed for BIOS booting (e.g. every disk of a RAID1).";
    };
    efiSupport = mkOption {
      type = types.bool;
      default = false;
      description = "Whether GRUB is built and installed for UEFI (x86_64-efi).";
    };
    efiInstallAsRemovable = mkOption {
      type = types.bool;
      default = !config.boot.loader.efi.canTouchEfiVariables;
      description = ''
        Install GRUB to the removable media path `EFI/BOOT/BOOTX64.EFI` on the ESP instead of
        registering a boot entry in the firmware's variables.
      '';
    };
    enableCryptodisk = mkOption {
      type = types.bool;
      default = false;
      description = "Let GRUB unlock LUKS (version 1) devices, for an encrypted /boot.";
    };
    configurationLimit = mkOption {
      type = types.int;
      default = 100;
      example = 120;
      description = "The most generations listed in the boot menu.";
    };
  };

  config = mkIf cfg.enable {
    boot.loader.grub.devices = optional (cfg.device != "") cfg.device;
    assertions = [{
      assertion = cfg.devices != [ ] || cfg.efiSupport;
      message = "You must set the option `boot.loader.grub.devices' (or `boot.loader.grub.device') to make the system bootable.";
    }];
  };
}
