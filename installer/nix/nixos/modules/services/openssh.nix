{ config, lib, ... }:
with lib;
let
  cfg = config.services.openssh;
  hostKeyOpts = {
    options = {
      type = mkOption {
        type = types.enum [ "rsa" "ecdsa" "ed25519" ];
        description = "The key type (`ssh-keygen -t`).";
      };
      bits = mkOption {
        type = types.nullOr (types.ints.between 256 16384);
        default = null;
        description = "The key size in bits (`ssh-keygen -b`); null for the type's default.";
      };
      path = mkOption {
        type = types.str;
        description = "Where the private key is kept (the public key beside it, with `.pub`).";
      };
    };
  };
  # Host key files are named on ssh-keygen's command line and in sshd's configuration.
  goodPath = p: builtins.match "/etc/ssh/[A-Za-z0-9_][A-Za-z0-9._-]*" p != null;
in
{
  options.services.openssh = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Whether to run the OpenSSH server.";
    };
    settings.PermitRootLogin = mkOption {
      type = types.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ];
      default = "prohibit-password";
      description = "Whether root may log in with ssh, and how (sshd_config's `PermitRootLogin`).";
    };
    ports = mkOption {
      type = types.listOf types.port;
      default = [ 22 ];
      description = "The ports sshd listens on.";
    };
    hostKeys = mkOption {
      type = types.listOf (types.submodule hostKeyOpts);
      default = [
        { type = "rsa"; bits = 4096; path = "/etc/ssh/ssh_host_rsa_key"; }
        { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; }
      ];
      example = [{ type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; }];
      description = "The host keys sshd offers, made when the system is installed if they do not exist yet.";
    };
    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Open the ports in the firewall.";
    };
  };
  config = mkMerge [
    (mkIf (cfg.enable && cfg.openFirewall) { networking.firewall.allowedTCPPorts = cfg.ports; })
    {
      assertions = map (k: {
        assertion = goodPath k.path;
        message = "services.openssh.hostKeys: path ${builtins.toJSON k.path} must be a file name in /etc/ssh (letters, digits, `.', `_' and `-').";
      }) cfg.hostKeys ++ [{
        assertion = !cfg.enable || cfg.hostKeys != [ ];
        message = "services.openssh.hostKeys is empty: sshd needs at least one host key.";
      }];
    }
  ];
}
