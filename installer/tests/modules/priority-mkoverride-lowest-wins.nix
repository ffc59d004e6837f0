{ lib }: with lib; (evalModules { modules = [
  { options.l = mkOption { type = types.listOf types.int; default = [ ]; }; }
  { l = mkOverride 10 [ 1 ]; } { l = mkOverride 10 [ 2 ]; } { l = mkOverride 20 [ 3 ]; } { l = [ 4 ]; }
]; }).config.l
