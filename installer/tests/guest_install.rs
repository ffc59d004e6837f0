//! `installer install` for real: the live test image boots (our stage-1, the live squashfs), the
//! disk engine partitions a blank disk, generate-config writes the hardware configuration, we add
//! the scenario's settings, install, power off, and boot the installed disk alone — then check,
//! through the test agent the installed system keeps, hostname, mounts by UUID, accounts, fstab,
//! the boot menu's generation 1 and that it reached multi-user.target.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{assert_never_written, live_image, take_disk, write_guest_file};
use vm_harness::{machine, Disk, Machine, MachineBuilder};

const BOOT: Duration = Duration::from_secs(300);
const INSTALL: Duration = Duration::from_secs(900);
const HASH: &str = "$6$rounds=1000$saltsalt$0mbkSRWsF8QHNpSO5C4LcZgoQuyPGAz2wgz/EvmbR5KsxqvRJM5MN3rkUm85YrHmnAIcunrMuxi9NeBbsHlQb0";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm7yCqHQc2xW2k8Jv0qmVw7I0dx1x8XxvNbHc5pKuHb test@host";

/// The live test image booted from its CD with a blank 4 GiB target disk (serial TARGET) and the
/// blank bystander disk (serial BYSTANDER, disk 1) that no install may write; the installer is the
/// image's own (the release build of this tree, made by `cargo xtask assets`).
fn live(name: &str, uefi: bool) -> Machine {
    let mut b = live_image(name, "");
    if uefi {
        b = b.uefi();
    }
    let mut m = b.start().unwrap();
    m.wait_for_console_text("installer ready", BOOT).expect("the live system is ready");
    m.wait_for_agent().unwrap();
    m
}

/// sshd's host keys in these scenarios: an Ed25519 key only. NixOS's default adds RSA 4096, whose
/// generation took 10 to 30 s under TCG; the installer's host test makes the default keys.
const ED25519_HOST_KEY: &str =
    r#"  services.openssh.hostKeys = [ { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; } ];"#;

/// Partitions with the disk engine and writes the configuration: generate-config's hardware file
/// plus `settings` (and an Ed25519 host key).
fn prepare(m: &mut Machine, storage: &str, settings: &str) {
    write_guest_file(m, "/root/storage.toml", storage, 0o644);
    m.wait_until_succeeds("udevadm settle && ls /dev/disk/by-id | grep -q TARGET", Duration::from_secs(120))
        .unwrap();
    m.succeed("installer partition --storage /root/storage.toml --yes >/dev/null").unwrap();
    m.succeed("udevadm settle && installer generate-config --root /mnt").unwrap();
    let config = format!(
        r#"{{ config, pkgs, ... }}:
{{
  imports = [ ./hardware-configuration.nix ];
{settings}
{ED25519_HOST_KEY}
  users.users.alice = {{
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    hashedPassword = "{HASH}";
    openssh.authorizedKeys.keys = [ "{KEY}" ];
  }};
  time.timeZone = "Europe/Amsterdam";
  services.openssh.enable = true;
  networking.firewall.allowedTCPPorts = [ 80 ];
  system.stateVersion = "16.09";
}}
"#
    );
    write_guest_file(m, "/mnt/etc/nixos/configuration.nix", &config, 0o644);
}

fn install(m: &mut Machine, extra: &str) -> String {
    let out = m
        .execute_with_timeout(
            &format!("installer install --root /mnt --no-root-passwd {extra} 2>&1"),
            INSTALL,
        )
        .unwrap();
    assert_eq!(out.status, 0, "install failed:\n{}", out.stdout);
    out.stdout
}

/// Unmounts the target (which flushes it), stops the live machine (QMP `quit`: nothing boots the
/// live system again, and its shutdown cost seconds), checks that the bystander disk was never
/// written, and moves the target disk out of its state directory (removed with the machine).
fn finish(mut m: Machine) -> (tempfile::TempDir, PathBuf) {
    m.succeed("sync && umount -R /mnt && swapoff -a && sync").unwrap();
    m.quit().unwrap();
    assert_never_written(&m, 1);
    take_disk(&m, 0)
}

/// Boots the installed disk alone.
fn boot_installed(name: &str, disk: PathBuf, uefi: bool) -> Machine {
    boot_installed_with(name, disk, uefi, None)
}

/// [`boot_installed`], with `at_menu` driving the boot menu (the harness does not press Enter at
/// it then).
fn boot_installed_with(name: &str, disk: PathBuf, uefi: bool, at_menu: Option<fn(&mut Machine)>) -> Machine {
    let mut b: MachineBuilder = machine(name)
        .memory_mib(768)
        .disk(Disk::file(disk, "qcow2").bootindex(0))
        .skip_boot_menus(at_menu.is_none());
    if uefi {
        b = b.uefi();
    }
    let mut m = b.agent_timeout(BOOT).start().unwrap();
    if let Some(f) = at_menu {
        f(&mut m);
    }
    m.wait_for_agent().expect("the installed system boots and its agent answers");
    common::wait_for_multi_user(&mut m);
    m
}

/// What every installed system must show.
fn check_installed(m: &mut Machine, host: &str) {
    check_installed_at(m, host, 1)
}

/// [`check_installed`] with generation `generation` as the current system.
fn check_installed_at(m: &mut Machine, host: &str, generation: u32) {
    assert_eq!(m.succeed("hostname").unwrap().trim(), host);
    assert_eq!(m.succeed("cat /etc/hostname").unwrap().trim(), host);
    // Not the live system: root on a disk, no overlay, no autologin, no live units.
    assert_ne!(m.succeed("findmnt -n -o FSTYPE /").unwrap().trim(), "overlay");
    m.fail("test -e /etc/systemd/system/getty@tty1.service.d/autologin.conf").unwrap();
    m.fail("test -e /etc/systemd/system/installer-ready.service").unwrap();
    m.fail("test -e /etc/modprobe.d/installer-live.conf").unwrap();
    // fstab by UUID, and every entry is mounted from the device it names.
    let fstab = m.succeed("grep -v '^#' /etc/fstab").unwrap();
    for line in fstab.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f[0].starts_with("/dev/disk/by-uuid/"), "fstab entry not by UUID: {line}");
        if f[2] == "swap" {
            let dev = m.succeed(&format!("readlink -f {}", f[0])).unwrap();
            assert!(m.succeed("cat /proc/swaps").unwrap().contains(dev.trim()), "swap {line} not active");
        } else {
            let src = m.succeed(&format!("findmnt -n -o SOURCE --target {}", f[1])).unwrap();
            let dev = m.succeed(&format!("readlink -f {}", f[0])).unwrap();
            assert!(
                src.trim().starts_with(dev.trim()),
                "{} is mounted from {src}, fstab says {}",
                f[1],
                dev.trim()
            );
        }
    }
    // Accounts.
    assert_eq!(m.succeed("id -u alice").unwrap().trim(), "1000");
    assert!(m.succeed("id -nG alice").unwrap().split_whitespace().any(|g| g == "wheel"));
    assert_eq!(m.succeed("getent shadow alice | cut -d: -f2").unwrap().trim(), HASH);
    assert_eq!(m.succeed("stat -c '%U %a' /home/alice").unwrap().trim(), "alice 700");
    assert_eq!(m.succeed("cat /home/alice/.ssh/authorized_keys").unwrap().trim(), KEY);
    // Time zone, sshd, firewall.
    assert_eq!(m.succeed("readlink /etc/localtime").unwrap().trim(), "/usr/share/zoneinfo/Europe/Amsterdam");
    m.succeed("systemctl is-active ssh.service").unwrap();
    // Every host key sshd is told about exists, is valid, and is what sshd offers.
    let conf = m.succeed("cat /etc/ssh/sshd_config.d/10-installer.conf").unwrap();
    let keys: Vec<&str> = conf.lines().filter_map(|l| l.strip_prefix("HostKey ")).collect();
    assert!(!keys.is_empty(), "{conf}");
    for k in &keys {
        m.succeed(&format!("test \"$(stat -c %a {k})\" = 600 && ssh-keygen -l -f {k}.pub")).unwrap();
    }
    // … and only those were made.
    let mut made: Vec<String> =
        m.succeed("ls /etc/ssh/ssh_host_*").unwrap().split_whitespace().map(String::from).collect();
    let mut want: Vec<String> = keys.iter().flat_map(|k| [k.to_string(), format!("{k}.pub")]).collect();
    made.sort();
    want.sort();
    assert_eq!(made, want);
    let offered = m.succeed("sshd -T | grep '^hostkey '").unwrap();
    assert_eq!(offered.lines().count(), keys.len(), "{offered}");
    let rules = m.succeed("nft list ruleset").unwrap();
    if !(rules.contains("policy drop") && rules.contains("tcp dport { 22, 80 } accept")) {
        let why = m
            .execute(
                "systemctl status nftables; journalctl -b -u nftables --no-pager; cat /etc/nftables.conf",
            )
            .unwrap()
            .1;
        panic!("the firewall is not loaded: {rules}\n{why}");
    }
    // The generation is the current system.
    assert_eq!(
        m.succeed("readlink /nix/var/nix/profiles/system").unwrap().trim(),
        format!("system-{generation}-link")
    );
    m.succeed(
        "test -s /nix/var/installer/generations/1/initrd && test -s /nix/var/installer/generations/1/kernel",
    )
    .unwrap();
    m.succeed("test -e /etc/NIXOS && test -s /var/log/installer/install.log").unwrap();
    // The kernel the live system runs.
    assert!(m.succeed("cat /proc/cmdline").unwrap().contains("console=ttyS0,115200"));
}

/// Powers the installed system off and checks every filesystem on its disk read-only on the host
/// (`e2fsck -fn`, `btrfs check --readonly`, `fsck.vfat -n`): after its first boot the installed
/// system's filesystems are clean.
fn power_off_and_fsck(mut b: Machine) {
    b.shutdown().unwrap();
    let disk = b.disk_path(0).unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("disk.raw");
    let sh = |cmd: &str| {
        let o = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
        (
            o.status.success(),
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        )
    };
    let (ok, out) = sh(&format!("qemu-img convert -O raw {} {}", disk.display(), raw.display()));
    assert!(ok, "{out}");
    // Each partition (partx reads the table) on a read-only loop device of its own.
    let (ok, table) = sh(&format!("partx -g -o START,SECTORS {}", raw.display()));
    assert!(ok, "{table}");
    let mut checked = vec![];
    for line in table.lines() {
        let n: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let [start, sectors] = n[..] else { panic!("partx: {table}") };
        let (ok, dev) = sh(&format!(
            "losetup -r --show -f -o {} --sizelimit {} {}",
            start * 512,
            sectors * 512,
            raw.display()
        ));
        assert!(ok, "{dev}");
        let dev = dev.trim().to_string();
        let fs = sh(&format!("blkid -p -o value -s TYPE {dev}")).1.trim().to_string();
        let check = match fs.as_str() {
            "ext2" | "ext3" | "ext4" => Some(format!("e2fsck -fn {dev}")),
            "btrfs" => Some(format!("btrfs check --readonly {dev}")),
            "vfat" => Some(format!("fsck.vfat -n {dev}")),
            _ => None,
        };
        let result = check.map(|c| sh(&c));
        sh(&format!("losetup -d {dev}"));
        if let Some(r) = result {
            checked.push((format!("partition at sector {start}"), fs, r));
        }
    }
    assert!(!checked.is_empty(), "no filesystem found on {}", disk.display());
    for (part, fs, (ok, out)) in checked {
        assert!(ok, "{fs} on {part} is not clean after the first boot:\n{out}");
    }
}

fn check_grub_menu(m: &mut Machine, boot_path: &str) {
    let cfg = m.succeed("cat /boot/grub/grub.cfg").unwrap();
    assert!(cfg.contains("All configurations"), "{cfg}");
    assert!(cfg.contains("Generation 1 ("), "{cfg}");
    assert!(cfg.contains(&format!("linux {boot_path}/generation-1-vmlinuz")), "{cfg}");
    // GRUB printed its menu on the serial console.
    let log = m.serial_text().unwrap();
    assert!(log.contains("All configurations"), "GRUB's menu was not on the serial console");
}

/// The kernel parameter generation 2 of `bios_gpt_ext4_grub_installed_twice` adds.
const MARKER: &str = "healthcheck.generation=2";

#[test]
fn bios_gpt_ext4_grub_installed_twice() {
    let mut m = live("install-bios-gpt", false);
    prepare(
        &mut m,
        r#"
[[disk]]
match = { serial = "TARGET" }
table = "gpt"
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#,
        r#"  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  networking.hostName = "biosgpt";"#,
    );
    let first = install(&mut m, "");
    assert!(first.contains("generation 1"), "{first}");
    // Onto the fresh target the system is extracted from the squashfs; the installed system has
    // the full module index back (the live one lists only the installer's modules).
    assert!(first.contains("extracted by unsquashfs from /dev/loop"), "{first}");
    m.succeed("grep -q '/snd-hda-intel.ko' /mnt/usr/lib/modules/*/modules.dep").unwrap();
    m.succeed("chroot /mnt modprobe -n -S $(ls /mnt/usr/lib/modules) snd-hda-intel").unwrap();
    m.fail("ls -d /mnt/usr/lib/modules/*/installer-full-index").unwrap();
    // Installing again onto the same target succeeds and changes nothing that matters.
    let before = m.succeed("cd /mnt && sha256sum etc/passwd etc/group etc/shadow etc/fstab boot/grub/grub.cfg boot/kernels/* etc/ssh/ssh_host_*").unwrap();
    let second = install(&mut m, "");
    assert!(second.contains("generation 1 (unchanged)"), "{second}");
    assert!(second.contains(" 0 files copied") || second.contains("already in place"), "{second}");
    let after = m.succeed("cd /mnt && sha256sum etc/passwd etc/group etc/shadow etc/fstab boot/grub/grub.cfg boot/kernels/* etc/ssh/ssh_host_*").unwrap();
    assert_eq!(before, after);
    // The host key was made once (the second run kept it: the checksums above).
    assert_eq!(
        m.succeed("cd /mnt/etc/ssh && ls ssh_host_*").unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]
    );
    assert_eq!(
        m.succeed("ls /mnt/nix/var/nix/profiles").unwrap().split_whitespace().collect::<Vec<_>>(),
        ["system", "system-1-link"]
    );
    // nixos-enter.
    assert_eq!(m.succeed("installer enter --root /mnt -- cat /etc/hostname").unwrap().trim(), "biosgpt");
    // A changed configuration (a kernel parameter) makes generation 2; generation 1 stays.
    m.succeed(&format!(
        "sed -i 's|^}}|  boot.kernelParams = [ \"{MARKER}\" ];\\n}}|' /mnt/etc/nixos/configuration.nix"
    ))
    .unwrap();
    let third = install(&mut m, "");
    assert!(third.contains("generation 2 (new)"), "{third}");
    let (_keep, disk) = finish(m);
    // The installed system stays healthy: it boots into generation 2, then into generation 1
    // chosen in GRUB's menu, and its filesystems are clean after.
    let mut b = boot_installed("installed-bios-gpt", disk.clone(), false);
    check_installed_at(&mut b, "biosgpt", 2);
    check_grub_menu(&mut b, "/boot/kernels");
    // No boot.loader.timeout: NixOS's five seconds.
    assert!(b.succeed("cat /boot/grub/grub.cfg").unwrap().contains("\nset timeout=5\n"));
    assert_eq!(b.succeed("findmnt -n -o FSTYPE /").unwrap().trim(), "ext4");
    assert!(b.succeed("cat /proc/cmdline").unwrap().contains(MARKER));
    b.shutdown().unwrap();
    drop(b);
    let mut b = boot_installed_with(
        "installed-bios-gpt-gen1",
        disk,
        false,
        Some(|m: &mut Machine| {
            // Down to "All configurations", into it, down past generation 2 to generation 1.
            m.wait_for_console_text("Press enter to boot the selected OS", BOOT).unwrap();
            m.send_console("\x1b[B\r").unwrap();
            m.wait_for_console_text(r"Generation 1 \(", BOOT).unwrap();
            m.send_console("\x1b[B\r").unwrap();
            m.wait_for_console_text("Loading generation 1", BOOT).unwrap();
        }),
    );
    let cmdline = b.succeed("cat /proc/cmdline").unwrap();
    assert!(!cmdline.contains(MARKER), "generation 1 has no marker: {cmdline}");
    assert!(cmdline.contains("console=ttyS0,115200"), "{cmdline}");
    assert_eq!(b.succeed("hostname").unwrap().trim(), "biosgpt");
    power_off_and_fsck(b);
}

/// MBR with a swap partition and /boot on a filesystem of its own (GRUB reads the kernels from
/// it, where they are at /kernels); installed first without a bootloader, then with it. The boot
/// menu waits one second (`boot.loader.timeout`).
#[test]
fn bios_mbr_separate_boot_and_swap_no_bootloader_then_grub() {
    let mut m = live("install-bios-mbr", false);
    prepare(
        &mut m,
        r#"
[[disk]]
match = { serial = "TARGET" }
table = "mbr"
[[disk.partition]]
size = "300MiB"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/boot" }
[[disk.partition]]
size = "256MiB"
type = "swap"
content = { type = "swap" }
[[disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#,
        r#"  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  boot.loader.timeout = 1;
  networking.hostName = "biosmbr";"#,
    );
    // --no-bootloader leaves the boot code area of the MBR, the gap after it and /boot/grub alone.
    let sectors = "dd if=/dev/vda bs=512 count=2048 2>/dev/null | head -c 440 | sha256sum; dd if=/dev/vda bs=512 skip=1 count=2047 2>/dev/null | sha256sum";
    let before = m.succeed(sectors).unwrap();
    let out = install(&mut m, "--no-bootloader");
    assert!(out.contains("not installed (--no-bootloader)"), "{out}");
    assert_eq!(m.succeed(sectors).unwrap(), before, "--no-bootloader wrote boot sectors");
    m.fail("test -e /mnt/boot/grub || test -e /mnt/boot/kernels").unwrap();
    assert_eq!(m.succeed("installer enter --root /mnt -- cat /etc/hostname").unwrap().trim(), "biosmbr");
    // Then with the bootloader: the same generation, now bootable.
    let out = install(&mut m, "");
    assert!(out.contains("generation 1 (unchanged)") && out.contains("GRUB (BIOS)"), "{out}");
    assert_ne!(m.succeed(sectors).unwrap(), before, "GRUB was not written to the MBR");
    let (_keep, disk) = finish(m);
    let mut b = boot_installed("installed-bios-mbr", disk, false);
    check_installed(&mut b, "biosmbr");
    // GRUB reads the kernels from the /boot filesystem, where they are at /kernels.
    check_grub_menu(&mut b, "/kernels");
    assert!(b.succeed("cat /boot/grub/grub.cfg").unwrap().contains("\nset timeout=1\n"));
    assert_eq!(b.succeed("findmnt -n -o FSTYPE /boot").unwrap().trim(), "ext4");
    let swaps = b.succeed("swapon --show=NAME,TYPE --noheadings").unwrap();
    assert!(swaps.contains("partition"), "swap is not active: {swaps:?}");
    power_off_and_fsck(b);
}

#[test]
fn btrfs_root_with_subvolumes() {
    let mut m = live("install-btrfs", false);
    prepare(
        &mut m,
        r#"
[[disk]]
match = { serial = "TARGET" }
table = "gpt"
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "filesystem"
format = "btrfs"
subvolumes = [{ name = "@", mountpoint = "/" }, { name = "@home", mountpoint = "/home" }]
"#,
        r#"  boot.loader.grub.enable = true;
  boot.loader.grub.device = "/dev/vda";
  boot.loader.timeout = 1;
  networking.hostName = "butter";"#,
    );
    install(&mut m, "");
    let (_keep, disk) = finish(m);
    let mut b = boot_installed("installed-btrfs", disk, false);
    check_installed(&mut b, "butter");
    check_grub_menu(&mut b, "/@/boot/kernels");
    let root = b.succeed("findmnt -n -o FSTYPE,OPTIONS /").unwrap();
    assert!(root.starts_with("btrfs ") && root.trim_end().split(',').any(|o| o == "subvol=/@"), "{root}");
    let home = b.succeed("findmnt -n -o FSTYPE,OPTIONS /home").unwrap();
    assert!(home.starts_with("btrfs ") && home.trim_end().split(',').any(|o| o == "subvol=/@home"), "{home}");
    power_off_and_fsck(b);
}

#[test]
fn uefi_systemd_boot_with_the_esp_on_boot() {
    let mut m = live("install-uefi-sdboot", true);
    prepare(
        &mut m,
        r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "TARGET" }
[[disk.partition]]
size = "256MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot" }
[[disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#,
        r#"  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;
  boot.loader.timeout = 1;
  networking.hostName = "sdboot";"#,
    );
    install(&mut m, "");
    // A boot entry was added in the (writable) EFI variables.
    assert!(m.succeed("efibootmgr").unwrap().contains("Linux Boot Manager"));
    let (_keep, disk) = finish(m);
    // A fresh firmware (new variables) boots the removable path EFI/BOOT/BOOTX64.EFI.
    let mut b = boot_installed("installed-uefi-sdboot", disk, true);
    check_installed(&mut b, "sdboot");
    assert_eq!(b.succeed("findmnt -n -o FSTYPE /boot").unwrap().trim(), "vfat");
    let entry = b.succeed("cat /boot/loader/entries/installer-generation-1.conf").unwrap();
    assert!(
        entry.contains("version Generation 1") && entry.contains("linux /EFI/installer/generation-1-vmlinuz"),
        "{entry}"
    );
    let loader = b.succeed("cat /boot/loader/loader.conf").unwrap();
    assert!(
        loader.contains("default installer-generation-1.conf") && loader.contains("timeout 1\n"),
        "{loader}"
    );
    // systemd-boot (not another loader) started this system.
    assert!(b
        .succeed("cat /sys/firmware/efi/efivars/LoaderInfo-* | tr -d '\\0'")
        .unwrap()
        .contains("systemd-boot"));
    power_off_and_fsck(b);
}

#[test]
fn uefi_grub_removable_without_efi_variables() {
    let mut m = live("install-uefi-grub", true);
    prepare(
        &mut m,
        r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "TARGET" }
[[disk.partition]]
size = "256MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot/efi" }
[[disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#,
        r#"  boot.loader.grub.enable = true;
  boot.loader.grub.device = "nodev";
  boot.loader.grub.efiSupport = true;
  boot.loader.grub.efiInstallAsRemovable = true;
  boot.loader.efi.efiSysMountPoint = "/boot/efi";
  boot.loader.efi.canTouchEfiVariables = false;
  boot.loader.timeout = 1;
  networking.hostName = "grubefi";"#,
    );
    let entries_before = m.succeed("efibootmgr | grep -c '^Boot[0-9]' || true").unwrap();
    let out = install(&mut m, "");
    assert!(out.contains("GRUB (UEFI, removable)"), "{out}");
    assert_eq!(
        m.succeed("efibootmgr | grep -c '^Boot[0-9]' || true").unwrap(),
        entries_before,
        "EFI variables were touched"
    );
    m.succeed("test -s /mnt/boot/efi/EFI/BOOT/BOOTX64.EFI").unwrap();
    let (_keep, disk) = finish(m);
    let mut b = boot_installed("installed-uefi-grub", disk, true);
    check_installed(&mut b, "grubefi");
    check_grub_menu(&mut b, "/boot/kernels");
    b.succeed("test -d /sys/firmware/efi").unwrap();
    power_off_and_fsck(b);
}
