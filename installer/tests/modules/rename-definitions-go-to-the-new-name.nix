# mkRenamedOptionModule: definitions under the old name reach the new one with their priority
# (the hardware scan's mkDefault loses to a plain definition) and a warning names both; an alias
# (mkAliasOptionModule) passes them on silently.
{ lib }: with lib; let r = evalModules { modules = [
  {
    options.warnings = mkOption { type = types.listOf types.str; default = [ ]; };
    options.nix.settings.max-jobs = mkOption { type = types.int; default = 8; };
    options.users.users = mkOption {
      type = types.attrsOf (types.submodule { options.uid = mkOption { type = types.int; }; });
      default = { };
    };
    options.services.openssh.enable = mkOption { type = types.bool; default = false; };
  }
  (mkRenamedOptionModule [ "nix" "maxJobs" ] [ "nix" "settings" "max-jobs" ])
  (mkRenamedOptionModule [ "users" "extraUsers" ] [ "users" "users" ])
  (mkAliasOptionModule [ "services" "sshd" "enable" ] [ "services" "openssh" "enable" ])
  { _file = "/etc/nixos/hardware-configuration.nix"; nix.maxJobs = mkDefault 1; }
  {
    _file = "/etc/nixos/configuration.nix";
    nix.settings.max-jobs = 4;
    users.extraUsers.alice.uid = 1000;
    users.users.bob.uid = 1001;
    services.sshd.enable = true;
  }
]; }; in { inherit (r.config) warnings nix users services; }
