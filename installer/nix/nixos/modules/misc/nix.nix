{ lib, ... }:
with lib;
{
  options.nix.maxJobs = mkOption {
    type = types.either types.int (types.enum [ "auto" ]);
    default = 1;
    example = 64;
    description = "The maximum number of build jobs Nix runs in parallel (recorded; we install from the live image).";
  };
}
