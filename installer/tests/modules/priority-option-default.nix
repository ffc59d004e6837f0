{ lib }: with lib; (evalModules { modules = [
  { options.n = mkOption { type = types.int; default = 1; }; }
  { n = mkDefault 2; }
]; }).config.n
