# Imported by hardware-configuration.nix on machines that are not a known virtual machine: the
# hardware was not detected, so install the firmware it might need.
{ lib, ... }:
{
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
