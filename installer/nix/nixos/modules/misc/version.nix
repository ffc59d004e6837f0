{ lib, ... }:
with lib;
{
  options.system.stateVersion = mkOption {
    type = types.str;
    default = "16.09";
    description = ''
      The release with which data kept on this system (databases, home directories) is compatible.
      Set it once, at install time, and leave it.
    '';
  };
}
