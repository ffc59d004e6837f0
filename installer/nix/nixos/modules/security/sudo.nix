{ config, lib, ... }:
with lib;
let
  cfg = config.security.sudo;
in
{
  options.security.sudo = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether sudo lets the members of the `wheel` group run commands as root (a rule in /etc/sudoers.d/). When false, sudo loses its setuid bit and nobody but root can use it.";
    };
    wheelNeedsPassword = mkOption {
      type = types.bool;
      default = true;
      description = "Whether members of `wheel` must type their own password for sudo. Set it to false for administrators who log in with an SSH key and have no password.";
    };
  };
  config = { };
}
