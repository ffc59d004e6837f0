{ lib }: with lib; (evalModules { modules = [
  { options.fs = mkOption { type = types.attrsOf (types.submodule ({ name, ... }: { options.mountPoint = mkOption { type = types.str; default = name; }; options.options = mkOption { type = types.listOf types.str; default = [ "defaults" ]; }; })); default = { }; }; }
  { fs."/data" = { }; fs."/".options = [ "noatime" ]; }
]; }).config
