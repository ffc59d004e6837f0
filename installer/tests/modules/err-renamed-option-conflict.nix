# The old and the new name defined together are one option: a unique value given twice is a
# conflict that names both files.
{ lib }: with lib; (evalModules { modules = [
  { options.console.keyMap = mkOption { type = types.str; default = "us"; }; }
  (mkRenamedOptionModule [ "i18n" "consoleKeyMap" ] [ "console" "keyMap" ])
  { _file = "/etc/nixos/configuration.nix"; i18n.consoleKeyMap = "fr"; }
  { _file = "/etc/nixos/keyboard.nix"; console.keyMap = "de"; }
]; }).config.console
