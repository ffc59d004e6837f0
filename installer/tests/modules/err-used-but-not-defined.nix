{ lib }: with lib; (evalModules { modules = [
  { options.device = mkOption { type = types.str; }; }
]; }).config
