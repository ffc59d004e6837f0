{ lib, ... }:
with lib;
{
  options.boot = {
    kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Kernel modules loaded in the second boot stage.";
    };
    kernelParams = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "console=ttyS0,115200" ];
      description = "Parameters added to the kernel command line.";
    };
    extraModulePackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Packages of extra kernel modules to install.";
    };
    blacklistedKernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Kernel modules that are never loaded.";
    };
  };
}
