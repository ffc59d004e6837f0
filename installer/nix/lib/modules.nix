# The module system: imports, option declarations, definitions merged by type, priorities
# (mkOverride/mkDefault/mkForce), ordering (mkOrder/mkBefore/mkAfter), mkIf and mkMerge.
# Written after the semantics of NixOS 16.09 (manual ch. 29): `mkIf` conditions are pushed down
# into attributes without being evaluated, so `config = mkIf config.x.enable { ... }` does not
# recurse, and undeclared options are reported even inside a false `mkIf`. Errors read as today's
# NixOS writes them: the definitions with their files and values, an undeclared option named at
# the first name that does not exist.
{ lib }:
with lib;
rec {
  defaultPriority = 100;

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  # Options renamed since NixOS 16.09 (nixpkgs' lib/modules.nix, `doRename`): the old name is
  # declared with the new option's type; its definitions go to the new option with their
  # priority, and a definition under the old name is warned about (an alias: silently).
  mkRenamedOptionModule = from: to: doRename { inherit from to; warn = true; visible = false; };
  mkAliasOptionModule = from: to: doRename { inherit from to; warn = false; visible = true; };

  doRename = { from, to, warn, visible }:
    { config, options, ... }:
    let
      missing = throw "Renaming error: option `${showOption to}' does not exist.";
      fromOpt = attrByPath from { } options;
      toOpt = attrByPath to missing options;
      defined = fromOpt.files != [ ];
    in
    {
      options = setAttrByPath from (mkOption {
        inherit visible;
        type = toOpt.type;
        description = "Alias of `${showOption to}'.";
        apply = _: attrByPath to missing config;
      });
      config = mkMerge [
        (optionalAttrs (options ? warnings) {
          warnings = mkIf (warn && defined)
            [ "The option `${showOption from}' defined in ${showFiles fromOpt.files} has been renamed to `${showOption to}'." ];
        })
        (setAttrByPath to (mkIf defined (mkMerge
          (map (d: mkDefinedIn d.file (mkOverride fromOpt.highestPrio d.value)) fromOpt.definitionsWithLocations))))
      ];
    };

  evalModules = { modules, prefix ? [ ], specialArgs ? { } }:
    let
      args = specialArgs // { inherit lib config options; };
      closed = closeModules modules args;
      merged = mergeModules prefix (reverseList closed);
      options = merged;
      config = yieldConfig prefix options;
    in
    { inherit options config; };

  # Calls a module function with the arguments it names (NixOS passes only those).
  applyIfFunction = key: f: args:
    if builtins.isFunction f then
      f (builtins.mapAttrs
        (n: _: args.${n} or (throw "Module `${key}' needs the argument `${n}', which is not available."))
        (builtins.functionArgs f))
    else f;

  unifyModuleSyntax = file: key: m:
    let
      known = [ "_file" "key" "imports" "options" "config" "meta" "disabledModules" ];
    in
    if m ? config || m ? options then
      let bad = builtins.filter (n: !(builtins.elem n known)) (builtins.attrNames m); in
      if bad != [ ] then
        throw "Module `${toString (m._file or key)}' has an unsupported attribute `${builtins.head bad}'. This is caused by assignments to the top-level attributes `config' or `options'."
      else {
        _file = toString (m._file or file);
        key = toString (m.key or key);
        imports = m.imports or [ ];
        options = m.options or { };
        config = m.config or { };
      }
    else {
      _file = toString (m._file or file);
      key = toString (m.key or key);
      imports = m.imports or [ ];
      options = { };
      config = removeAttrs m [ "_file" "key" "imports" "meta" "disabledModules" ];
    };

  # All modules reachable through `imports`, each once (by key), as a list.
  closeModules = modules: args:
    let
      toClosureList = file: parentKey: imap1 (n: x:
        if builtins.isAttrs x || builtins.isFunction x then
          let key = "${parentKey}:anon-${toString n}"; in
          unifyModuleSyntax file key (applyIfFunction key x args)
        else
          let f = toString x; in
          unifyModuleSyntax f f (applyIfFunction f (import x) args));
    in
    map (x: x.module) (builtins.genericClosure {
      startSet = map (m: { key = m.key; module = m; }) (toClosureList "<unknown-file>" "" modules);
      operator = e: map (m: { key = m.key; module = m; }) (toClosureList e.module._file e.module.key e.module.imports);
    });

  # mkIf/mkMerge/mkOverride around an attribute set are pushed into its attributes.
  pushDownProperties = cfg:
    if (cfg._type or "") == "merge" then concatMap pushDownProperties cfg.contents
    else if (cfg._type or "") == "if" then
      map (builtins.mapAttrs (n: v: mkIf cfg.condition v)) (pushDownProperties cfg.content)
    else if (cfg._type or "") == "override" then
      map (builtins.mapAttrs (n: v: mkOverride cfg.priority v)) (pushDownProperties cfg.content)
    else [ cfg ];

  # The definitions' properties are applied: mkMerge flattened, mkIf evaluated.
  dischargeProperties = def:
    if (def._type or "") == "merge" then concatMap dischargeProperties def.contents
    else if (def._type or "") == "definedIn" then
      map (v: if (v._type or "") == "definedIn" then v else mkDefinedIn def.file v) (dischargeProperties def.content)
    else if (def._type or "") == "if" then
      if builtins.isBool def.condition then
        (if def.condition then dischargeProperties def.content else [ ])
      else throw "`mkIf' called with a non-Boolean condition"
    else [ def ];

  # A definition that another module passes on (a renamed option's) keeps the file it came from.
  mkDefinedIn = file: content: { _type = "definedIn"; inherit file content; };

  # Definitions ({ file, value }) with mkMerge/mkIf applied, each with the file it came from.
  dischargeDefinitions = defs: concatMap (m: map (v:
    if (v._type or "") == "definedIn" then { inherit (v) file; value = v.content; } else { inherit (m) file; value = v; })
    (dischargeProperties m.value)) defs;

  # The definitions of the highest priority (the lowest number), stripped of it, and that priority.
  filterOverrides' = defs:
    let
      getPrio = def: if (def.value._type or "") == "override" then def.value.priority else defaultPriority;
      highest = builtins.foldl' (p: def: min (getPrio def) p) 9999 defs;
      strip = def: if (def.value._type or "") == "override" then def // { value = def.value.content; } else def;
    in
    { highestPrio = highest; values = concatMap (def: if getPrio def == highest then [ (strip def) ] else [ ]) defs; };
  filterOverrides = defs: (filterOverrides' defs).values;

  sortProperties = defs:
    let
      strip = def:
        if (def.value._type or "") == "order" then def // { value = def.value.content; inherit (def.value) priority; }
        else def;
      defs' = map strip defs;
    in
    builtins.sort (a: b: (a.priority or 1000) < (b.priority or 1000)) defs';

  mergeDefinitions = loc: type: defs: rec {
    overridden = filterOverrides' (dischargeDefinitions defs);
    defsFinal =
      let values = overridden.values; in
      if builtins.any (d: (d.value._type or "") == "order") values then sortProperties values else values;
    isDefined = defsFinal != [ ];
    inherit (overridden) highestPrio;
    mergedValue =
      if isDefined then
        let bad = builtins.filter (d: !(type.check d.value)) defsFinal; in
        if bad == [ ] then type.merge loc defsFinal
        else throw "A definition for option `${showOption loc}' is not of type `${type.description}'. Definition values:${showDefs loc bad}"
      else throw "The option `${showOption loc}' was accessed but has no value defined. Try setting the option.";
    optionalValue = if isDefined then { value = mergedValue; } else { };
  };

  evalOptionValue = loc: opt: defs:
    let
      type = opt.type or types.unspecified;
      defs' = (optional (opt ? default) { file = builtins.head opt.declarations; value = mkOptionDefault opt.default; }) ++ defs;
      res = mergeDefinitions loc type defs';
      value = if opt ? apply then opt.apply res.mergedValue else res.mergedValue;
      explicit = builtins.filter (d: d.file != builtins.head opt.declarations || !(opt ? default)) res.defsFinal;
    in
    if (opt.readOnly or false) && builtins.length defs > 1 then
      throw "The option `${showOption loc}' is read-only, but it's set multiple times. Definition values:${showDefs loc defs}"
    else
      opt // {
        value = builtins.addErrorContext "while evaluating the option `${showOption loc}':" value;
        inherit type;
        definitions = map (d: d.value) res.defsFinal;
        definitionsWithLocations = res.defsFinal;
        files = unique (map (d: d.file) defs);
        inherit (res) isDefined highestPrio;
        loc = loc;
      };

  # Merges the option declarations and definitions of `modules` at `prefix`. Returns the options
  # tree; each level also records which names each module defined (for the undeclared check).
  mergeModules = prefix: modules:
    mergeModules' prefix modules
      (concatMap (m: map (config: { file = m._file; inherit config; }) (pushDownProperties m.config)) modules);

  mergeModules' = prefix: modules: configs:
    let
      declsByName = builtins.zipAttrsWith (n: builtins.concatLists)
        (map (m: builtins.mapAttrs (n: option: [{ file = m._file; options = option; }]) m.options) modules);
      defnsByName = builtins.zipAttrsWith (n: builtins.concatLists)
        (map (c: builtins.mapAttrs (n: value: map (config: { inherit (c) file; inherit config; }) (pushDownProperties value)) c.config)
          (builtins.filter (c: builtins.isAttrs c.config) configs));
      defnsByName' = builtins.zipAttrsWith (n: builtins.concatLists)
        (map (c: builtins.mapAttrs (n: value: [{ inherit (c) file; inherit value; }]) c.config)
          (builtins.filter (c: builtins.isAttrs c.config) configs));
      merged = builtins.mapAttrs
        (name: decls:
          let
            loc = prefix ++ [ name ];
            nrOptions = count (m: isOption m.options) decls;
          in
          if nrOptions == builtins.length decls then
            evalOptionValue loc (mergeOptionDecls loc decls) (defnsByName'.${name} or [ ])
          else if nrOptions != 0 then
            let
              firstOption = findFirst (m: isOption m.options) "" decls;
              firstNonOption = findFirst (m: !isOption m.options) "" decls;
            in
            throw "The option `${showOption loc}' in `${toString firstOption.file}' is a prefix of options in `${toString firstNonOption.file}'."
          else
            mergeModules' loc
              (map (m: { _file = m.file; options = m.options; }) decls)
              (defnsByName.${name} or [ ]))
        declsByName;
    in
    merged // {
      _definedNames = map (c: { inherit (c) file config; names = if builtins.isAttrs c.config then builtins.attrNames c.config else [ ]; }) configs;
    };

  yieldConfig = prefix: set:
    let
      res = removeAttrs (builtins.mapAttrs (n: v: if isOption v then v.value else yieldConfig (prefix ++ [ n ]) v) set) [ "_definedNames" ];
    in
    builtins.foldl'
      (res: m: builtins.foldl'
        (res: name:
          if set ? ${name} then res
          else throw "The option `${showOption (prefix ++ [ name ])}' does not exist. Definition values:${showDefs [ ] [{ inherit (m) file; value = m.config.${name}; }]}")
        res m.names)
      res
      (set._definedNames or [ ]);
}
