# Option declarations and the basic merge functions (texts as NixOS 16.09 prints them).
{ lib }:
with lib;
rec {
  isOption = x: builtins.isAttrs x && (x._type or "") == "option";

  mkOption = attrs: attrs // { _type = "option"; };

  mkEnableOption = name: mkOption {
    default = false;
    example = true;
    description = "Whether to enable ${name}.";
    type = lib.types.bool;
  };

  mergeOneOption = loc: defs:
    if defs == [ ] then abort "mergeOneOption called without definitions"
    else if builtins.length defs != 1 then
      throw "The unique option `${showOption loc}' is defined multiple times, in ${showFiles (getFiles defs)}."
    else (builtins.head defs).value;

  mergeEqualOption = loc: defs:
    let first = builtins.head defs;
    in if builtins.all (d: d.value == first.value) defs then first.value
    else throw "The option `${showOption loc}' has conflicting definitions, in ${showFiles (getFiles defs)}.";

  mergeDefaultOption = loc: defs:
    let values = map (d: d.value) defs; in
    if builtins.length values == 1 then builtins.head values
    else if builtins.all builtins.isList values then builtins.concatLists values
    else if builtins.all builtins.isAttrs values then builtins.foldl' (a: b: a // b) { } values
    else if builtins.all builtins.isBool values then builtins.any id values
    else if builtins.all builtins.isString values then lib.concatStrings values
    else throw "Cannot merge definitions of `${showOption loc}' given in ${showFiles (getFiles defs)}.";

  # Several modules may declare the same option; only one may give each of these attributes.
  mergeOptionDecls = loc: decls:
    builtins.foldl' (res: d:
      let opt = d.options; dup = builtins.filter (a: opt ? ${a} && res ? ${a}) [ "default" "type" "description" "apply" ]; in
      if dup != [ ] then
        throw "The option `${showOption loc}' in `${toString d.file}' is already declared in ${showFiles res.declarations}."
      else res // removeAttrs opt [ "_type" ] // { declarations = res.declarations ++ [ d.file ]; })
      { declarations = [ ]; _type = "option"; }
      decls;
}
