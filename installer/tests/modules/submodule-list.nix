{ lib }: with lib; (evalModules { modules = [
  { options.swap = mkOption { type = types.listOf (types.submodule { options.device = mkOption { type = types.str; }; options.priority = mkOption { type = types.nullOr types.int; default = null; }; }); default = [ ]; }; }
  { swap = [ { device = "/dev/a"; } ]; } { swap = [ { device = "/dev/b"; priority = 5; } ]; }
]; }).config
