{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.attrsOf types.int; default = { }; }; }
  { a.x = 1; } { a.y = 2; }
]; }).config
