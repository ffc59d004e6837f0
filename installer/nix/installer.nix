# The entry point the installer evaluates with `nix-instantiate --eval --strict --json`:
#   { configuration = /mnt/etc/nixos/configuration.nix; }          → the evaluated system (JSON)
#   { configuration = …; option = "fileSystems"; }                  → what `installer option` shows
#   { reference = true; }                                           → every declared option (docs)
{ configuration ? null, option ? null, reference ? false, catalog ? ./pkgs/catalog.json }:
let
  lib = import ./lib;
  pkgs = import ./pkgs { inherit catalog; };
  eval = import ./nixos { inherit configuration pkgs; };
  emptyEval = import ./nixos { configuration = { }; inherit pkgs; };

  # JSON-safe: packages by name, paths as strings, functions elided.
  safe = v:
    if lib.isDerivation v then v.name
    else if builtins.isPath v then toString v
    else if builtins.isFunction v then "<function>"
    else if builtins.isList v then map safe v
    else if builtins.isAttrs v then
      (if (v._type or "") == "literalExample" then v.text else builtins.mapAttrs (_: safe) (removeAttrs v [ "_module" ]))
    else v;

  # Walks the options tree and returns the option at a dotted path ("fileSystems", "boot.loader.grub.device").
  optionAt = tree: path:
    let parts = lib.splitString "." path; in
    builtins.foldl' (t: p:
      if t ? ${p} then t.${p}
      else throw "The option `${path}' does not exist (no `${p}')."
    ) tree parts;

  collectOptions = prefix: tree:
    lib.concatMap (n:
      let v = tree.${n}; in
      if n == "_definedNames" then [ ]
      else if lib.isOption v then
        [{
          name = lib.showOption (prefix ++ [ n ]);
          type = v.type.description;
          description = v.description or "";
          default = if v ? default then safe v.default else null;
          hasDefault = v ? default;
          example = if v ? example then safe v.example else null;
          declarations = map toString v.declarations;
          visible = (v.visible or true) && !(v.internal or false);
        }]
        # The sub-options of a hidden option (a 16.09 name's alias) are hidden with it.
        ++ (let sub = v.type.getSubOptions (prefix ++ [ n ]); in
          if sub == { } || !(v.visible or true) then [ ]
          else collectOptions (prefix ++ [ n (if v.type.name == "listOf" then "*" else "<name>") ]) sub)
      else collectOptions (prefix ++ [ n ]) v
    ) (builtins.attrNames tree);

  failed = builtins.filter (a: !a.assertion) eval.config.assertions;
in
if reference then collectOptions [ ] emptyEval.options
else if option != null then
  let
    opt = optionAt eval.options option;
    isOpt = lib.isOption opt;
  in
  if isOpt then {
    name = option;
    value = safe opt.value;
    type = opt.type.description;
    default = if opt ? default then safe opt.default else null;
    hasDefault = opt ? default;
    description = opt.description or "";
    declarations = map toString opt.declarations;
    definitions = map toString opt.files;
  } else {
    name = option;
    isGroup = true;
    value = safe (lib.attrByPath (lib.splitString "." option) null eval.config);
    children = builtins.filter (n: n != "_definedNames") (builtins.attrNames opt);
  }
else
  # Everything is evaluated first, so that a wrong option is reported before a failed assertion.
  let result = safe eval.config; in
  builtins.deepSeq result (
    if failed != [ ] then throw "\nFailed assertions:\n${lib.concatMapStrings (a: "- ${a.message}\n") failed}"
    else result)
