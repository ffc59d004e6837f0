{ lib }: with lib; (evalModules { modules = [
  { options.e = mkOption { type = types.bool; }; }
  { e = true; } { e = true; }
]; }).config.e
