//! Bootloader configuration: rendering and installing GRUB (BIOS/EFI), systemd-boot, ISO menus and
//! iPXE scripts.
