{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.listOf types.int; default = [ ]; }; }
  { a = mkIf true [ 1 ]; } { a = mkIf false [ 2 ]; }
]; }).config.a
