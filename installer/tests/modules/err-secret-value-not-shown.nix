# Values of options named like a password, passphrase, secret or key file are never shown, in
# errors of their own option or inside a shown attribute set.
{ lib }: with lib; (evalModules { modules = [
  { options.users.alice.hashedPassword = mkOption { type = types.int; }; }
  { _file = "/etc/nixos/configuration.nix"; users.alice.hashedPassword = "$6$salt$hash"; }
]; }).config
