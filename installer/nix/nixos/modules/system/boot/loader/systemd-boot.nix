{ config, lib, ... }:
with lib;
{
  options.boot.loader.systemd-boot.enable = mkOption {
    type = types.bool;
    default = false;
    description = ''
      Whether to use systemd-boot (the EFI boot manager formerly called gummiboot); kernels and
      initrds are copied to the ESP at `boot.loader.efi.efiSysMountPoint`.
    '';
  };
}
