//! Live media scenarios: the test ISO (our stage-1, the live Debian system, the test agent) boots to
//! `installer ready` as a CD, a `dd`-ed USB stick and a SATA disk, under BIOS and UEFI, on a
//! VirtualBox-branded machine, with copytoram; stage-1's failure modes give a shell.

use std::path::PathBuf;
use std::time::Duration;

use vm_harness::{machine, Disk, DiskInterface, Machine, MachineBuilder, TestAssets};

const READY: &str = "installer ready";
const BOOT: Duration = Duration::from_secs(300);

fn iso() -> PathBuf {
    TestAssets::load()
        .expect("test assets")
        .live_iso
        .expect("the live test ISO (cargo xtask assets builds it)")
}

fn live(name: &str) -> MachineBuilder {
    machine(name).memory_mib(1024)
}

fn ready(b: MachineBuilder) -> Machine {
    let mut m = b.start().expect("machine starts");
    m.wait_for_console_text(READY, BOOT).expect("the live system reports ready");
    m.wait_for_agent().expect("agent");
    m
}

fn check_live(m: &mut Machine, uefi: bool, medium_prefix: &str) {
    let cmdline = m.succeed("cat /proc/cmdline").unwrap();
    assert!(cmdline.contains("root=live:LABEL=INSTALLER_"), "{cmdline}");
    assert_eq!(m.execute("test -d /sys/firmware/efi").unwrap().0 == 0, uefi, "firmware");
    let medium = m.succeed("cat /run/installer/boot-device").unwrap();
    assert!(medium.trim().starts_with(medium_prefix), "boot device {medium:?}, expected {medium_prefix}*");
    assert_eq!(m.succeed("findmnt -n -o FSTYPE /").unwrap().trim(), "overlay");
    assert_eq!(m.succeed("cat /proc/1/comm").unwrap().trim(), "systemd");
    m.succeed("installer --version && installer disks").unwrap();
    // sshd is off in the live system; DHCP is on for wired NICs.
    m.fail("systemctl is-enabled ssh.service").unwrap();
    m.succeed("systemctl is-enabled systemd-networkd.service").unwrap();
}

#[test]
fn iso_as_cd_under_bios() {
    let mut m = ready(live("cd-bios").cdrom(iso()).cdrom_bootindex(0));
    check_live(&mut m, false, "/dev/sr0");
}

#[test]
fn iso_as_cd_under_uefi() {
    let mut m = ready(live("cd-uefi").uefi().cdrom(iso()).cdrom_bootindex(0));
    check_live(&mut m, true, "/dev/sr0");
}

#[test]
fn iso_dd_to_usb_stick_under_bios() {
    let mut m = ready(live("usb-bios").disk(Disk::overlay(iso()).interface(DiskInterface::Usb).bootindex(0)));
    check_live(&mut m, false, "/dev/sd");
}

#[test]
fn iso_dd_to_usb_stick_under_uefi() {
    let mut m =
        ready(live("usb-uefi").uefi().disk(Disk::overlay(iso()).interface(DiskInterface::Usb).bootindex(0)));
    check_live(&mut m, true, "/dev/sd");
}

#[test]
fn iso_as_sata_disk() {
    let mut m = ready(live("sata").disk(Disk::overlay(iso()).interface(DiskInterface::Sata).bootindex(0)));
    check_live(&mut m, false, "/dev/sd");
}

#[test]
fn virtualbox_machine_with_an_ahci_disk_boots_the_iso() {
    let mut m = ready(
        live("virtualbox")
            .virtualbox_smbios()
            .cdrom(iso())
            .cdrom_bootindex(0)
            .disk(Disk::new_qcow2(4 << 30).interface(DiskInterface::Sata).serial("VBOX-HARDDISK")),
    );
    assert_eq!(m.succeed("cat /sys/class/dmi/id/product_name").unwrap().trim(), "VirtualBox");
    let disks = m.succeed("installer disks").unwrap();
    assert!(disks.contains("VBOX-HARDDISK"), "{disks}");
}

#[test]
fn copytoram_survives_ejecting_the_cd() {
    let mut m = live("copytoram").cdrom(iso()).cdrom_bootindex(0).memory_mib(1536).start().unwrap();
    // isolinux listens on the serial port: pick the copy-to-RAM entry.
    m.wait_for_console_text("boot:", BOOT).unwrap();
    m.send_console("copytoram\r").unwrap();
    m.wait_for_console_text("copying the live system to RAM", BOOT).unwrap();
    m.wait_for_console_text(READY, BOOT).unwrap();
    m.wait_for_agent().unwrap();
    assert!(m.succeed("cat /proc/cmdline").unwrap().contains("copytoram"));
    m.fail("grep -q ' /run/installer/medium ' /proc/mounts").unwrap();
    m.eject_cdrom().unwrap();
    // Files never read before come from RAM now.
    m.succeed(
        "find /usr/share/zoneinfo /usr/lib/x86_64-linux-gnu -type f | head -3000 | xargs cat > /dev/null",
    )
    .unwrap();
    m.succeed("nix-instantiate --version").unwrap();
}

fn direct(name: &str, append: &str) -> Machine {
    let iso = iso();
    let dir = iso.parent().unwrap().to_path_buf();
    live(name)
        .kernel(dir.join("bzImage"), Some(dir.join("initrd")), &format!("console=ttyS0 {append}"))
        .cdrom(iso)
        .start()
        .unwrap()
}

#[test]
fn wrong_label_with_shell_on_fail_gives_a_shell_naming_the_label() {
    let mut m = direct("wrong-label", "root=live:LABEL=NO_SUCH_MEDIUM boot.shell_on_fail rd.timeout=5");
    m.wait_for_console_text("no device with the label \"NO_SUCH_MEDIUM\"", BOOT).unwrap();
    // It says what it found instead.
    let found = m.wait_for_console_text("found: [^\\n]*INSTALLER_", BOOT).unwrap();
    assert!(found.contains("/dev/sr0"), "{found}");
    m.wait_for_console_text("starting a shell", BOOT).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    m.send_console("echo shell-$((6*7))\n").unwrap();
    m.wait_for_console_text("shell-42", Duration::from_secs(60)).unwrap();
}

#[test]
fn debug1_gives_a_shell_before_any_module_is_loaded() {
    let iso = iso();
    let label = format!("INSTALLER_{}", env!("CARGO_PKG_VERSION").replace('.', "_"));
    let _ = iso;
    let mut m = direct("debug1", &format!("root=live:LABEL={label} boot.debug1"));
    m.wait_for_console_text("boot.debug1: before loading any module", BOOT).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    m.send_console("echo modules=$(wc -l < /proc/modules)\n").unwrap();
    m.wait_for_console_text("modules=0", Duration::from_secs(60)).unwrap();
    // Leaving the shell continues the boot.
    m.send_console("exit\n").unwrap();
    m.wait_for_console_text(READY, BOOT).unwrap();
}
