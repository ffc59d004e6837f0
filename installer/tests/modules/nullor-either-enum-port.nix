{ lib }: with lib; (evalModules { modules = [
  { options.a = mkOption { type = types.nullOr types.str; default = null; };
    options.b = mkOption { type = types.either types.int (types.enum [ "auto" ]); };
    options.c = mkOption { type = types.enum [ "yes" "no" ]; };
    options.p = mkOption { type = types.port; };
    options.path = mkOption { type = types.path; }; }
  { b = "auto"; c = "no"; p = 22; path = "/etc/x"; }
]; }).config
