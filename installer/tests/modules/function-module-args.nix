{ lib }: with lib; (evalModules { specialArgs = { pkgs = { hello = "hi"; }; }; modules = [
  { options.x = mkOption { type = types.str; }; options.y = mkOption { type = types.str; default = "y"; }; }
  ({ config, pkgs, lib, ... }: { x = pkgs.hello + "-" + config.y; })
]; }).config
