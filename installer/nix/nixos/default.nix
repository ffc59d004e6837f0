# Evaluates a NixOS-style configuration against our modules, like nixpkgs/nixos/default.nix.
{ configuration, pkgs ? import ../pkgs { } }:
let
  lib = import ../lib;
  modulesPath = ./modules;
in
lib.evalModules {
  modules = [ configuration ] ++ import ./modules/module-list.nix;
  specialArgs = { inherit pkgs modulesPath; };
}
