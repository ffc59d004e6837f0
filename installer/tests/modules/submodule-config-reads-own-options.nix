{ lib }: with lib; (evalModules { modules = [
  { options.u = mkOption { type = types.attrsOf (types.submodule ({ name, config, ... }: { options.normal = mkOption { type = types.bool; default = false; }; options.home = mkOption { type = types.str; default = if config.normal then "/home/${name}" else "/var/empty"; }; })); }; }
  { u.alice.normal = true; u.daemon = { }; }
]; }).config
