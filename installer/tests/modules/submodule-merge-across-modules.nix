{ lib }: with lib; (evalModules { modules = [
  { options.u = mkOption { type = types.attrsOf (types.submodule { options.groups = mkOption { type = types.listOf types.str; default = [ ]; }; options.uid = mkOption { type = types.nullOr types.int; default = null; }; }); }; }
  { u.alice.groups = [ "wheel" ]; } { u.alice.groups = [ "audio" ]; u.alice.uid = 1000; }
]; }).config
