{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.int; default = 0; }; options.b = mkOption { type = types.str; default = ""; }; }
  { config = mkMerge [ { a = 1; } (mkIf true { b = "yes"; }) (mkIf false { a = 2; }) ]; }
]; }).config
