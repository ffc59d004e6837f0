{ config, options, lib, pkgs, ... }:
with lib;
let
  userOpts = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The user name."; };
      uid = mkOption { type = types.nullOr types.int; default = null; description = "The user ID (assigned when null)."; };
      isNormalUser = mkOption {
        type = types.bool;
        default = false;
        description = "A real user: a home directory under /home, the users group, a login shell, uid ≥ 1000.";
      };
      isSystemUser = mkOption { type = types.bool; default = false; description = "A system account (uid < 1000)."; };
      description = mkOption { type = types.str; default = ""; example = "Alice Q. User"; description = "The GECOS field."; };
      home = mkOption {
        type = types.str;
        default = if config.isNormalUser then "/home/${name}" else "/var/empty";
        description = "The home directory.";
      };
      createHome = mkOption { type = types.bool; default = config.isNormalUser; description = "Create the home directory."; };
      group = mkOption { type = types.str; default = if config.isNormalUser then "users" else "nogroup"; description = "The primary group."; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; description = "Supplementary groups."; };
      shell = mkOption {
        type = types.either types.str types.package;
        default = "/bin/bash";
        example = "/bin/zsh";
        description = "The login shell (a path or a package whose binary is used).";
      };
      hashedPassword = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "The password hash (crypt(3), e.g. from `mkpasswd -m sha-512`). Never a plain password.";
      };
      initialHashedPassword = mkOption { type = types.nullOr types.str; default = null; description = "Hash set only when the user is created."; };
      openssh.authorizedKeys.keys = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "Public keys allowed to log in as this user.";
      };
    };
  };
  groupOpts = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The group name."; };
      gid = mkOption { type = types.nullOr types.int; default = null; description = "The group ID (assigned when null)."; };
      members = mkOption { type = types.listOf types.str; default = [ ]; description = "Members besides those naming it in extraGroups."; };
    };
  };
in
{
  options.users = {
    mutableUsers = mkOption {
      type = types.bool;
      default = true;
      description = "Whether users and groups may also be changed with useradd, passwd and friends.";
    };
    users = mkOption {
      type = types.attrsOf (types.submodule userOpts);
      default = { };
      example = { alice = { isNormalUser = true; extraGroups = [ "wheel" ]; }; };
      description = "User accounts.";
    };
    groups = mkOption {
      type = types.attrsOf (types.submodule groupOpts);
      default = { };
      description = "Groups.";
    };
  };
  config = {
    assertions = mapAttrsToList (n: u: {
      assertion = !(u.isNormalUser && u.isSystemUser);
      message = "User ${n} cannot be both a normal and a system user.";
    }) config.users.users;
  };
}
