{ lib }: with lib; (evalModules { modules = [
  { options.l = mkOption { type = types.listOf types.str; default = [ ]; }; }
  { l = mkAfter [ "after" ]; } { l = [ "middle" ]; } { l = mkBefore [ "before" ]; } { l = mkOrder 1200 [ "late" ]; }
]; }).config.l
