# Manual, 5.1: an option that does not exist (no httpd module in our set).
{ config, pkgs, ... }:
{ services.httpd.enable = true;
  services.httpd.adminAddr = "alice@example.org";
  services.httpd.documentRoot = "/webroot";
}
