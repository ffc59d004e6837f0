# Our library for the module system: the parts of nixpkgs' `lib` that NixOS configurations and our
# modules use, written for this project (see lib/modules.nix, lib/types.nix, lib/options.nix).
let
  lib = builtins // rec {
    id = x: x;
    const = x: _: x;
    flip = f: a: b: f b a;
    optional = c: x: if c then [ x ] else [ ];
    optionals = c: xs: if c then xs else [ ];
    optionalString = c: s: if c then s else "";
    optionalAttrs = c: a: if c then a else { };
    concatMap = f: xs: builtins.concatLists (map f xs);
    flatten = x: if builtins.isList x then concatMap flatten x else [ x ];
    last = xs: builtins.elemAt xs (builtins.length xs - 1);
    init = xs: builtins.genList (i: builtins.elemAt xs i) (builtins.length xs - 1);
    count = pred: builtins.foldl' (c: x: if pred x then c + 1 else c) 0;
    unique = builtins.foldl' (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];
    findFirst = pred: default: xs: let r = builtins.filter pred xs; in if r == [ ] then default else builtins.head r;
    imap1 = f: xs: builtins.genList (i: f (i + 1) (builtins.elemAt xs i)) (builtins.length xs);
    range = first: last: if first > last then [ ] else builtins.genList (n: first + n) (last - first + 1);
    reverseList = xs: let l = builtins.length xs; in builtins.genList (n: builtins.elemAt xs (l - n - 1)) l;
    fold = op: nul: list: builtins.foldl' (acc: x: op x acc) nul (reverseList list);
    foldr = fold;
    min = a: b: if a < b then a else b;
    max = a: b: if a > b then a else b;
    nameValuePair = name: value: { inherit name value; };
    filterAttrs = pred: set:
      builtins.listToAttrs (concatMap (n: let v = set.${n}; in if pred n v then [ (nameValuePair n v) ] else [ ]) (builtins.attrNames set));
    mapAttrsToList = f: set: map (n: f n set.${n}) (builtins.attrNames set);
    mapAttrs' = f: set: builtins.listToAttrs (mapAttrsToList f set);
    genAttrs = names: f: builtins.listToAttrs (map (n: nameValuePair n (f n)) names);
    attrByPath = path: default: set:
      if path == [ ] then set
      else if set ? ${builtins.head path} then attrByPath (builtins.tail path) default set.${builtins.head path}
      else default;
    hasAttrByPath = path: set: attrByPath path null set != null || (attrByPath path 1 set) == null;
    setAttrByPath = path: value:
      if path == [ ] then value else { ${builtins.head path} = setAttrByPath (builtins.tail path) value; };
    recursiveUpdate = a: b:
      a // builtins.mapAttrs (n: v: if builtins.isAttrs v && builtins.isAttrs (a.${n} or null) && !(isDerivation v) then recursiveUpdate a.${n} v else v) b;
    isDerivation = x: builtins.isAttrs x && (x.type or null) == "derivation";
    isStorePath = x: builtins.isString x && builtins.substring 0 11 x == "/nix/store/";
    concatStrings = builtins.concatStringsSep "";
    concatMapStrings = f: xs: concatStrings (map f xs);
    concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
    hasPrefix = p: s: builtins.substring 0 (builtins.stringLength p) s == p;
    hasSuffix = p: s:
      let lp = builtins.stringLength p; ls = builtins.stringLength s;
      in ls >= lp && builtins.substring (ls - lp) lp s == p;
    splitString = sep: s: builtins.filter builtins.isString (builtins.split (escapeRegex sep) s);
    escapeRegex = s: builtins.replaceStrings [ "." "*" "+" "?" "(" ")" "[" "]" "{" "}" "|" "^" "$" "\\" ] [ "\\." "\\*" "\\+" "\\?" "\\(" "\\)" "\\[" "\\]" "\\{" "\\}" "\\|" "\\^" "\\$" "\\\\" ] s;
    toLower = builtins.replaceStrings (stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (stringToCharacters "abcdefghijklmnopqrstuvwxyz");
    stringToCharacters = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);
    versionAtLeast = a: b: builtins.compareVersions a b >= 0;
    mkDefaultText = x: x;
    literalExample = text: { _type = "literalExample"; inherit text; };
    # `fileSystems."/".device` style: quote components that are not identifiers.
    showOption = loc:
      builtins.concatStringsSep "." (map (p: if builtins.match "[a-zA-Z_][a-zA-Z0-9_'-]*" p != null || p == "<name>" || p == "*" then p else "\"${p}\"") loc);
    # `lib.generators.toPretty { }` of nixpkgs: a value as Nix text, over several lines.
    toPretty = v: prettyAt "" v;
    prettyAt = indent: v:
      let
        intro = "\n${indent}  ";
        outro = "\n${indent}";
        go = prettyAt "${indent}  ";
      in
      if builtins.isInt v || builtins.isFloat v then toString v
      else if builtins.isString v then
        let
          lines = builtins.filter (x: !builtins.isList x) (builtins.split "\n" v);
          single = "\"" + builtins.concatStringsSep "\\n" (map (builtins.replaceStrings [ "\\" "\"" "\${" ] [ "\\\\" "\\\"" "\\\${" ]) lines) + "\"";
          escaped = map (builtins.replaceStrings [ "\${" "''" ] [ "''\${" "'''" ]) lines;
          multi = "''" + intro + builtins.concatStringsSep intro (init escaped)
            + (if last escaped == "" then outro else intro + last escaped) + "''";
        in
        if builtins.length lines > 1 then multi else single
      else if v == true then "true"
      else if v == false then "false"
      else if v == null then "null"
      else if builtins.isPath v then toString v
      else if builtins.isList v then
        if v == [ ] then "[ ]" else "[" + intro + builtins.concatStringsSep intro (map go v) + outro + "]"
      else if builtins.isFunction v then
        let args = builtins.functionArgs v; in
        if args == { } then "<function>"
        else "<function, args: {${builtins.concatStringsSep ", " (mapAttrsToList (n: d: if d then n + "?" else n) args)}}>"
      else if isDerivation v then "<derivation ${v.name or "???"}>"
      else if v == { } then "{ }"
      else "{" + intro + builtins.concatStringsSep intro (mapAttrsToList (n: x:
        "${escapeNixIdentifier n} = ${if isSecretName n then "<hidden>" else go x};") v) + outro + "}";
    escapeNixIdentifier = s:
      if builtins.match "[a-zA-Z_][a-zA-Z0-9_'-]*" s != null then s
      else builtins.replaceStrings [ "$" ] [ "\\$" ] (builtins.toJSON s);
    # Values under these names are not shown in errors (this module system's one departure from
    # NixOS's texts: installer logs and screens never show a password, a key or a secret).
    isSecretName = n: builtins.match ".*([Pp]assword|[Pp]assphrase|[Ss]ecret|[Pp]sk|PSK|[Kk]ey[Ff]ile).*" n != null;
    take = n: xs: builtins.genList (builtins.elemAt xs) (min n (builtins.length xs));
    # The definitions as option errors list them: each file and the first five lines of its value
    # (none when the value cannot be evaluated, or when the option's name is a secret's).
    showDefs = loc: defs: concatMapStrings (def:
      let
        pretty = builtins.tryEval (toPretty def.value);
        lines = builtins.filter (x: !builtins.isList x) (builtins.split "\n" pretty.value);
        value = builtins.concatStringsSep "\n    " (take 5 lines ++ optional (builtins.length lines > 5) "...");
        shown =
          if loc != [ ] && isSecretName (last loc) then ""
          else if !pretty.success then ""
          else if builtins.length lines > 1 then ":\n    " + value
          else ": " + value;
      in
      "\n- In `${toString def.file}'${shown}") defs;
    prioritySuggestion = "Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.\n";
    showFiles = files: builtins.concatStringsSep " and " (map (f: "`${toString f}'") files);
    getFiles = defs: map (d: d.file) defs;

    types = import ./types.nix { inherit lib; };
    inherit (import ./options.nix { inherit lib; })
      mkOption mkEnableOption isOption mergeOneOption mergeEqualOption mergeDefaultOption mergeOptionDecls;
    inherit (import ./modules.nix { inherit lib; })
      evalModules mkIf mkMerge mkOverride mkDefault mkForce mkOptionDefault mkOrder mkBefore mkAfter
      mkRenamedOptionModule mkAliasOptionModule mkDefinedIn mergeDefinitions pushDownProperties dischargeProperties filterOverrides sortProperties
      defaultPriority;
  };
in
lib
