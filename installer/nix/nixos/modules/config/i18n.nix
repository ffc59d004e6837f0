{ config, lib, ... }:
with lib;
{
  options = {
    time.timeZone = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "America/New_York";
      description = "The time zone (a name from the tz database); null: UTC.";
    };
    i18n.defaultLocale = mkOption {
      type = types.str;
      default = "en_US.UTF-8";
      example = "nl_NL.UTF-8";
      description = "The default locale.";
    };
    console.keyMap = mkOption {
      type = types.str;
      default = "us";
      example = "fr";
      description = "The keyboard layout of the virtual consoles.";
    };
  };
}
