# Option declarations and the basic merge functions (texts as today's NixOS prints them: each
# definition with its file and value, and how to settle a conflict).
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
      throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.\n\nDefinition values:${showDefs loc defs}\n${prioritySuggestion}"
    else (builtins.head defs).value;

  mergeEqualOption = loc: defs:
    if builtins.length defs == 1 then (builtins.head defs).value
    else (builtins.foldl' (first: def:
      if def.value != first.value then
        throw "The option `${showOption loc}' has conflicting definition values:${showDefs loc [ first def ]}\n${prioritySuggestion}"
      else first) (builtins.head defs) (builtins.tail defs)).value;

  mergeDefaultOption = loc: defs:
    let values = map (d: d.value) defs; in
    if builtins.length values == 1 then builtins.head values
    else if builtins.all builtins.isList values then builtins.concatLists values
    else if builtins.all builtins.isAttrs values then builtins.foldl' (a: b: a // b) { } values
    else if builtins.all builtins.isBool values then builtins.any id values
    else if builtins.all builtins.isString values then lib.concatStrings values
    else throw "Cannot merge definitions of `${showOption loc}'. Definition values:${showDefs loc defs}";

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
