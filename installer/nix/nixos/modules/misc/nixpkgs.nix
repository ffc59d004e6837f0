{ config, lib, ... }:
with lib;
let
  platform = config.nixpkgs.hostPlatform;
  system = if builtins.isString platform then platform else platform.system or "";
in
{
  options.nixpkgs.hostPlatform = mkOption {
    type = types.either types.str types.attrs;
    default = "x86_64-linux";
    example = "x86_64-linux";
    description = ''
      The platform the system runs on, a system double such as "x86_64-linux" or an attribute
      set with its `system`. `generate-config` writes it as NixOS does; the live image installs
      x86_64 Linux only.
    '';
  };
  config.assertions = [{
    assertion = system == "x86_64-linux";
    message = "nixpkgs.hostPlatform is \"${system}\": this installer installs x86_64-linux systems only.";
  }];
}
