{ config, lib, ... }:
with lib;
let
  fileSystemOpts = { name, config, ... }: {
    options = {
      mountPoint = mkOption {
        type = types.str;
        default = name;
        example = "/mnt/usb";
        description = "Where the filesystem is mounted (defaults to the attribute name).";
      };
      device = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/dev/sda";
        description = "The device, preferably by a stable name (/dev/disk/by-uuid/…, /dev/mapper/…).";
      };
      label = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "root-partition";
        description = "Mount the filesystem with this label instead of naming the device.";
      };
      fsType = mkOption {
        type = types.str;
        default = "auto";
        example = "ext4";
        description = "The filesystem type (ext4, xfs, btrfs, vfat, none for bind mounts, …).";
      };
      options = mkOption {
        type = types.listOf types.str;
        default = [ "defaults" ];
        example = [ "data=journal" ];
        description = "Mount options.";
      };
      neededForBoot = mkOption {
        type = types.bool;
        default = false;
        description = "Mount it in the initrd, before the system starts (implied for /, /nix, /var …).";
      };
    };
  };
  swapOpts = { config, ... }: {
    options = {
      device = mkOption {
        type = types.str;
        example = "/dev/sda3";
        description = "The swap device or file.";
      };
      label = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Use the swap partition with this label.";
      };
      size = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = "Size in MiB of a swap file to create at `device`.";
      };
      priority = mkOption {
        type = types.nullOr types.int;
        default = null;
        description = "Swap priority.";
      };
    };
  };
in
{
  options = {
    fileSystems = mkOption {
      type = types.attrsOf (types.submodule fileSystemOpts);
      default = { };
      example = { "/".device = "/dev/hda1"; "/data" = { device = "/dev/hda2"; fsType = "ext3"; options = [ "data=journal" ]; }; };
      description = "The filesystems mounted at boot, by mount point.";
    };
    swapDevices = mkOption {
      type = types.listOf (types.submodule swapOpts);
      default = [ ];
      example = [{ device = "/dev/hda7"; }];
      description = "Swap devices and files.";
    };
  };
  config.assertions = mapAttrsToList (n: fs: {
    assertion = fs.device != null || fs.label != null;
    message = "The filesystem mounted on ${n} needs `device' or `label'.";
  }) config.fileSystems;
}
