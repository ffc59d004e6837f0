{ lib }: with lib; (evalModules { modules = [
  { options.l = mkOption { type = types.listOf types.str; default = [ ]; }; }
  { l = mkIf "yes" [ "x" ]; }
]; }).config
