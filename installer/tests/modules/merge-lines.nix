{ lib }: with lib; (evalModules { modules = [
  { options.t = mkOption { type = types.lines; default = ""; }; }
  { t = "first"; } { t = mkAfter "last"; } { t = mkBefore "before"; }
]; }).config.t
