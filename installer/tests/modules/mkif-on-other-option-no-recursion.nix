{ lib }: with lib; (evalModules { modules = [
  { options.foo.enable = mkEnableOption "foo"; options.bar = mkOption { type = types.listOf types.str; default = [ ]; }; }
  ({ config, ... }: { config = mkIf config.foo.enable { bar = [ "enabled by foo" ]; }; })
  { foo.enable = true; }
]; }).config
