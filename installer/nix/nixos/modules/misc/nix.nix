{ lib, ... }:
with lib;
{
  # Today's NixOS declares `nix.settings` as nix.conf's settings; we record the one the hardware
  # scan of 16.09 wrote (`nix.maxJobs`, now renamed to this).
  options.nix.settings.max-jobs = mkOption {
    type = types.either types.int (types.enum [ "auto" ]);
    default = "auto";
    example = 64;
    description = "The maximum number of build jobs Nix runs in parallel (nix.conf's `max-jobs`; recorded, as we install from the live image).";
  };
}
