# `pkgs`: the packages the image can install, from a catalog (attribute name → Debian package) that
# the image builder writes; `catalog.json` here is the built-in one. Each entry looks enough like a
# derivation for `types.package`; a name that is not in the catalog is an evaluation error naming it.
{ catalog ? ./catalog.json }:
let
  entries = builtins.fromJSON (builtins.readFile catalog);
  mk = name: debian: {
    type = "derivation";
    inherit name debian;
    pname = name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  lib = import ../lib;
in
builtins.mapAttrs mk entries // { inherit lib; }
