{ lib, ... }:
with lib;
{
  options.boot.initrd = {
    availableKernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "sata_nv" "ext3" ];
      description = ''
        Kernel modules put into the initrd and loaded when a device needs them (disk controllers,
        filesystems of the root chain).
      '';
    };
    kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Kernel modules that the initrd always loads.";
    };
    checkJournalingFS = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to run fsck on journaling filesystems such as ext4 in the initrd.";
    };
    secrets = mkOption {
      type = types.attrsOf (types.nullOr types.str);
      default = { };
      example = { "/etc/secrets/initrd/cryptroot.key" = "/etc/secrets/initrd/cryptroot.key"; };
      description = ''
        Files copied into the initrd: the path in the initrd, and the file of the installed system
        it comes from (null: the same path). For LUKS key files when /boot is encrypted too; the
        initrd is then readable by root only.
      '';
    };
    supportedFilesystems = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "btrfs" ];
      description = "Filesystems the initrd can mount.";
    };
  };
}
