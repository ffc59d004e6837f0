{ lib, ... }:
with lib;
{
  options.environment.systemPackages = mkOption {
    type = types.listOf types.package;
    default = [ ];
    example = literalExample "[ pkgs.vim pkgs.git ]";
    description = "Packages installed system-wide (from the catalog of packages the image can install).";
  };
}
