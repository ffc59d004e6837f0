# Option types: how values are checked and how several definitions merge.
{ lib }:
with lib;
rec {
  isType = name: x: (x._type or "") == name;

  mkOptionType =
    { name
    , description ? name
    , check ? (x: true)
    , merge ? mergeDefaultOption
    , getSubOptions ? (prefix: { })
    , getSubModules ? null
    , substSubModules ? (m: null)
    }:
    { _type = "option-type"; inherit name description check merge getSubOptions getSubModules substSubModules; };

  unspecified = mkOptionType { name = "unspecified"; };

  # Definitions of one kind merge: attribute sets recursively, functions by their results,
  # anything else when equal.
  anything = mkOptionType {
    name = "anything";
    description = "anything";
    merge = loc: defs:
      let
        kind = v: if isDerivation v then "package" else builtins.typeOf v;
        common = builtins.foldl' (k: def:
          if kind def.value == k then k
          else throw "The option `${showOption loc}' has conflicting option types in ${showFiles (getFiles defs)}")
          (kind (builtins.head defs).value) defs;
      in
      if common == "set" then (attrsOf anything).merge loc defs
      else if common == "package" then mergeOneOption loc defs
      else if common == "lambda" then
        (arg: anything.merge (loc ++ [ "<function body>" ]) (map (def: { inherit (def) file; value = def.value arg; }) defs))
      else mergeEqualOption loc defs;
  };

  bool = mkOptionType {
    name = "bool";
    description = "boolean";
    check = builtins.isBool;
    merge = mergeEqualOption;
  };

  int = mkOptionType {
    name = "int";
    description = "integer";
    check = builtins.isInt;
    merge = mergeEqualOption;
  };

  ints = {
    between = lowest: highest: mkOptionType {
      name = "intBetween";
      description = "integer between ${toString lowest} and ${toString highest} (both inclusive)";
      check = x: builtins.isInt x && x >= lowest && x <= highest;
      merge = mergeEqualOption;
    };
    unsigned = mkOptionType {
      name = "unsignedInt";
      description = "unsigned integer, meaning >=0";
      check = x: builtins.isInt x && x >= 0;
      merge = mergeEqualOption;
    };
  };

  port = mkOptionType {
    name = "port";
    description = "16 bit unsigned integer; between 0 and 65535 (both inclusive)";
    check = x: builtins.isInt x && x >= 0 && x <= 65535;
    merge = mergeEqualOption;
  };

  str = mkOptionType {
    name = "str";
    description = "string";
    check = builtins.isString;
    merge = mergeEqualOption;
  };

  # Deprecated in NixOS; concatenates.
  string = mkOptionType {
    name = "string";
    description = "string";
    check = builtins.isString;
    merge = loc: defs: concatStrings (map (d: d.value) defs);
  };

  lines = mkOptionType {
    name = "lines";
    description = "strings concatenated with \"\\n\"";
    check = builtins.isString;
    merge = loc: defs: builtins.concatStringsSep "\n" (map (d: d.value) defs);
  };

  separatedString = sep: mkOptionType {
    name = "separatedString";
    description = "strings concatenated with ${builtins.toJSON sep}";
    check = builtins.isString;
    merge = loc: defs: builtins.concatStringsSep sep (map (d: d.value) defs);
  };

  attrs = mkOptionType {
    name = "attrs";
    description = "attribute set";
    check = builtins.isAttrs;
    merge = loc: defs: builtins.foldl' (a: d: a // d.value) { } defs;
  };

  path = mkOptionType {
    name = "path";
    description = "path";
    check = x: (builtins.isPath x || builtins.isString x) && builtins.substring 0 1 (toString x) == "/";
    merge = mergeEqualOption;
  };

  package = mkOptionType {
    name = "package";
    description = "package";
    check = x: isDerivation x || isStorePath x;
    merge = mergeOneOption;
  };

  enum = values: mkOptionType {
    name = "enum";
    description = "one of ${builtins.concatStringsSep ", " (map builtins.toJSON values)}";
    check = x: builtins.elem x values;
    merge = mergeEqualOption;
  };

  listOf = elemType: mkOptionType {
    name = "listOf";
    description = "list of ${elemType.description}s";
    check = builtins.isList;
    merge = loc: defs:
      map (x: x.value) (builtins.filter (x: x ? value) (concatLists (imap1
        (n: def: imap1
          (m: v: (mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType [{ inherit (def) file; value = v; }]).optionalValue)
          def.value)
        defs)));
    getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "*" ]);
  };

  attrsOf = elemType: mkOptionType {
    name = "attrsOf";
    description = "attribute set of ${elemType.description}s";
    check = builtins.isAttrs;
    merge = loc: defs:
      builtins.mapAttrs (n: v: v.value) (filterAttrs (n: v: v ? value) (builtins.zipAttrsWith
        (name: defs: (mergeDefinitions (loc ++ [ name ]) elemType defs).optionalValue)
        (map (def: builtins.mapAttrs (n: v: { inherit (def) file; value = v; }) def.value) defs)));
    getSubOptions = prefix: elemType.getSubOptions (prefix ++ [ "<name>" ]);
  };

  # NixOS 16.09 name.
  loaOf = attrsOf;

  nullOr = elemType: mkOptionType {
    name = "nullOr";
    description = "null or ${elemType.description}";
    check = x: x == null || elemType.check x;
    merge = loc: defs:
      let nrNulls = count (d: d.value == null) defs; in
      if nrNulls == builtins.length defs then null
      else if nrNulls != 0 then
        throw "The option `${showOption loc}' is defined both null and not null, in ${showFiles (getFiles defs)}."
      else elemType.merge loc defs;
    getSubOptions = elemType.getSubOptions;
  };

  either = t1: t2: mkOptionType {
    name = "either";
    description = "${t1.description} or ${t2.description}";
    check = x: t1.check x || t2.check x;
    merge = loc: defs:
      if builtins.all (d: t1.check d.value) defs then t1.merge loc defs
      else if builtins.all (d: t2.check d.value) defs then t2.merge loc defs
      else mergeOneOption loc defs;
  };

  uniq = elemType: elemType // { merge = mergeOneOption; };

  # A nested module system per value: options declared by `opts`, definitions from each value.
  submodule = opts:
    let
      optsList = if builtins.isList opts then opts else [ opts ];
    in
    mkOptionType {
      name = "submodule";
      description = "submodule";
      check = x: builtins.isAttrs x || builtins.isFunction x;
      merge = loc: defs:
        (evalModules {
          # A value is the configuration of the submodule (an attribute named `options` is an
          # option like any other); a function is a module.
          modules = optsList ++ map (def:
            if builtins.isFunction def.value then { _file = def.file; imports = [ def.value ]; }
            else { _file = def.file; config = def.value; }) defs;
          prefix = loc;
          specialArgs = { name = last loc; };
        }).config;
      getSubOptions = prefix:
        (evalModules { modules = optsList; inherit prefix; specialArgs = { name = "<name>"; }; }).options;
    };
}
