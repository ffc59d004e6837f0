# Options of NixOS 16.09 (the manual's) under the names NixOS uses today. A configuration written
# for 16.09 still evaluates; each old name it defines is reported with the new name, as NixOS's
# own `rename.nix` and module `imports` do. Generated files use the new names.
{ lib, ... }:
with lib;
{
  imports = [
    (mkRenamedOptionModule [ "users" "extraUsers" ] [ "users" "users" ])
    (mkRenamedOptionModule [ "users" "extraGroups" ] [ "users" "groups" ])
    (mkRenamedOptionModule [ "i18n" "consoleKeyMap" ] [ "console" "keyMap" ])
    (mkRenamedOptionModule [ "nix" "maxJobs" ] [ "nix" "settings" "max-jobs" ])
    (mkRenamedOptionModule [ "services" "openssh" "permitRootLogin" ] [ "services" "openssh" "settings" "PermitRootLogin" ])
    (mkRenamedOptionModule [ "boot" "loader" "gummiboot" "enable" ] [ "boot" "loader" "systemd-boot" "enable" ])
    (mkAliasOptionModule [ "services" "sshd" "enable" ] [ "services" "openssh" "enable" ])
  ];
}
