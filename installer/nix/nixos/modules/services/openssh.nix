{ config, lib, ... }:
with lib;
let cfg = config.services.openssh; in
{
  options.services.openssh = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to run the OpenSSH server.";
    };
    permitRootLogin = mkOption {
      type = types.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ];
      default = "without-password";
      description = "Whether root may log in with ssh, and how.";
    };
    ports = mkOption {
      type = types.listOf types.port;
      default = [ 22 ];
      description = "The ports sshd listens on.";
    };
    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Open the ports in the firewall.";
    };
  };
  options.services.sshd.enable = mkOption {
    type = types.bool;
    default = false;
    description = "Alias of `services.openssh.enable`.";
  };
  config = mkMerge [
    (mkIf config.services.sshd.enable { services.openssh.enable = true; })
    (mkIf (cfg.enable && cfg.openFirewall) { networking.firewall.allowedTCPPorts = cfg.ports; })
  ];
}
