{ config, options, lib, ... }:
with lib;
let cfg = config.boot.loader.grub; in
{
  options.boot.loader.grub = {
    enable = mkOption {
      type = types.bool;
      default = !config.boot.loader.systemd-boot.enable;
      description = "Whether to install GRUB as the boot loader.";
    };
    # NixOS 16.09 chose between GRUB Legacy and GRUB 2 here; GRUB 2 is the only one, and a
    # definition is reported as NixOS does today.
    version = mkOption {
      type = types.int;
      default = 2;
      visible = false;
      description = "Ignored: GRUB 2 is the only version.";
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

  config = mkMerge [
    (mkIf cfg.enable {
      boot.loader.grub.devices = optional (cfg.device != "") cfg.device;
      assertions = [{
        assertion = cfg.devices != [ ] || cfg.efiSupport;
        message = "You must set the option `boot.loader.grub.devices' (or `boot.loader.grub.device') to make the system bootable.";
      } {
        assertion = cfg.configurationLimit >= 1;
        message = "The option `boot.loader.grub.configurationLimit' must be at least 1 (the newest generation is always listed).";
      }];
    })
    (mkIf (options.boot.loader.grub.version.files != [ ]) {
      warnings = [ "The boot.loader.grub.version option does not have any effect anymore, please remove it from your configuration." ];
    })
  ];
}
