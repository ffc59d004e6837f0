{ config, lib, ... }:
with lib;
{
  options.networking.firewall = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to drop unsolicited incoming connections (nftables).";
    };
    allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
      example = [ 22 80 ];
      description = "TCP ports open to incoming connections.";
    };
    allowedUDPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
      example = [ 53 ];
      description = "UDP ports open to incoming packets.";
    };
    allowPing = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to answer ICMP echo requests (ICMPv6 echo is always allowed).";
    };
  };
}
