{ lib, ... }:
with lib;
{
  options.boot.loader.timeout = mkOption {
    type = types.nullOr types.ints.unsigned;
    default = 5;
    example = 1;
    description = ''
      Seconds until the boot loader boots the default entry (the newest generation); 0 boots it
      at once without showing the menu, null shows the menu until a key is pressed. Applies to
      GRUB and systemd-boot.
    '';
  };
}
