{ lib }: with lib; (evalModules { modules = [
  { options.s = mkOption { type = types.str; }; }
  { s = "plain"; } { s = mkForce "forced"; } { s = mkDefault "default"; }
]; }).config.s
