{ config, options, lib, ... }:
with lib;
let
  addrOpts = v: {
    options = {
      address = mkOption { type = types.str; description = "IPv${toString v} address."; };
      prefixLength = mkOption {
        type = types.ints.between 0 (if v == 4 then 32 else 128);
        description = "Subnet mask length.";
      };
    };
  };
  interfaceOpts = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The interface name."; };
      useDHCP = mkOption {
        type = types.nullOr types.bool;
        default = null;
        description = "Whether this interface is configured by DHCP (null: follow `networking.useDHCP`).";
      };
      ipv4.addresses = mkOption {
        type = types.listOf (types.submodule (addrOpts 4));
        default = [ ];
        example = [{ address = "10.0.0.1"; prefixLength = 16; }];
        description = "Static IPv4 addresses.";
      };
      ipv6.addresses = mkOption {
        type = types.listOf (types.submodule (addrOpts 6));
        default = [ ];
        description = "Static IPv6 addresses.";
      };
      # NixOS 16.09's name; reported at the top level (a submodule has no warnings).
      ip4 = mkOption {
        type = types.listOf (types.submodule (addrOpts 4));
        default = [ ];
        visible = false;
        description = "Alias of `ipv4.addresses'.";
      };
    };
    config.ipv4.addresses = config.ip4;
  };
in
{
  options.networking = {
    hostName = mkOption {
      type = types.str;
      default = "nixos";
      description = "The host name (empty: let DHCP provide one).";
    };
    domain = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "home.arpa";
      description = "The system's domain: with the host name, its fully qualified name in /etc/hosts.";
    };
    useDHCP = mkOption {
      type = types.bool;
      default = true;
      description = "Whether interfaces without static addresses are configured by DHCP.";
    };
    interfaces = mkOption {
      type = types.attrsOf (types.submodule interfaceOpts);
      default = { };
      example = { eth0.ipv4.addresses = [{ address = "131.211.84.78"; prefixLength = 25; }]; };
      description = "Per-interface configuration.";
    };
    defaultGateway = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "131.211.84.1";
      description = "The default IPv4 gateway.";
    };
    defaultGateway6 = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The default IPv6 gateway.";
    };
    nameservers = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "130.161.158.4" "130.161.33.17" ];
      description = "DNS servers.";
    };
    enableIPv6 = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to enable IPv6.";
    };
    extraHosts = mkOption {
      type = types.lines;
      default = "";
      example = "192.168.0.1 lanlocalhost";
      description = "Lines added to /etc/hosts.";
    };
  };
  options.boot.kernel.sysctl = mkOption {
    type = types.attrsOf (types.either types.str types.int);
    default = { };
    example = { "net.ipv4.tcp_keepalive_time" = 120; };
    description = "Kernel settings applied by sysctl at boot.";
  };
  config.warnings = concatMap (n:
    optional (config.networking.interfaces.${n}.ip4 != [ ])
      "The option `${showOption [ "networking" "interfaces" n "ip4" ]}' defined in ${showFiles options.networking.interfaces.files} has been renamed to `${showOption [ "networking" "interfaces" n "ipv4" "addresses" ]}'.")
    (builtins.attrNames config.networking.interfaces);
}
