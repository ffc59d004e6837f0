{ lib }: with lib; (evalModules { modules = [
  { options = { a = mkOption { type = types.int; default = 1; }; }; config = { }; }
  { config.a = 5; }
]; }).config
