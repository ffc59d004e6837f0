# A wrong value under an old name is reported at the new name, in the file that gave it.
{ lib }: with lib; (evalModules { modules = [
  {
    options.users.users = mkOption {
      type = types.attrsOf (types.submodule { options.uid = mkOption { type = types.int; }; });
      default = { };
    };
  }
  (mkRenamedOptionModule [ "users" "extraUsers" ] [ "users" "users" ])
  { _file = "/etc/nixos/configuration.nix"; users.extraUsers.alice.uid = "1000"; }
]; }).config.users.users
