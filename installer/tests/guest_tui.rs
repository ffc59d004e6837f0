//! The TUI as a person meets it: the live test ISO boots as a CD (BIOS) with a blank virtio disk,
//! the TUI starts by itself on the serial console, and the test reads the screen through a
//! terminal emulator and types keys. It picks guided ext4, adds a user with a password and
//! installs; the installed disk then boots alone and that user logs in with that password.

mod common;

use std::time::Duration;

use common::take_disk;
use vm_harness::{machine, Disk, Machine, TestAssets};

const PASSWORD: &str = "correct horse 1";
const SCREEN: Duration = Duration::from_secs(60);

/// Types on the serial console as a terminal would send the keys.
fn keys(m: &mut Machine, text: &str) {
    m.send_console(text).unwrap();
}

#[test]
fn serial_console_tui_installs_guided_ext4_and_the_user_logs_in() {
    let a = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let iso = a.live_iso.clone().expect("the live test ISO");
    let mut m = machine("tui-serial")
        .memory_mib(1536)
        .cdrom(&iso)
        .cdrom_bootindex(0)
        .disk(Disk::new_qcow2(4 << 30).serial("TARGET"))
        .start()
        .unwrap();
    // The TUI starts by itself on the serial console (the kernel console), in ASCII for vt220.
    let s = m.wait_for_screen(r"Install - 1/8 Keyboard and language", Duration::from_secs(300)).unwrap();
    assert!(s.contains("+ Install"), "ASCII borders on a vt220 line:\n{s}");
    keys(&mut m, "\r");
    m.wait_for_screen(r"2/8 Network", SCREEN).unwrap();
    keys(&mut m, "\x15tuibox\r");
    let s = m.wait_for_screen(r"3/8 Storage(?s:.*)ERASED", SCREEN).unwrap();
    // The blank disk is chosen; the boot medium is listed but cannot be.
    assert!(s.contains("> vda"), "{s}");
    assert!(s.contains("boot medium: not selectable"), "{s}");
    assert!(s.contains("serial TARGET"), "{s}");
    keys(&mut m, "\r");
    m.wait_for_screen(r"4/8 Time zone", SCREEN).unwrap();
    keys(&mut m, "\r");
    m.wait_for_screen(r"5/8 Users", SCREEN).unwrap();
    keys(&mut m, &format!("\talice\tAlice Liddell\t{PASSWORD}\t{PASSWORD}"));
    let s = m.wait_for_screen(r"ok: match", SCREEN).unwrap();
    assert!(!s.contains(PASSWORD), "the password is shown:\n{s}");
    keys(&mut m, "\r");
    // The real evaluator checks configuration.nix before the install may start.
    let s = m.wait_for_screen(r"6/8 Configuration\s.*(?s:.*)evaluated ok", Duration::from_secs(180)).unwrap();
    assert!(s.contains("networking.hostName = \"tuibox\";"), "{s}");
    keys(&mut m, "\r");
    let s = m.wait_for_screen(r"7/8 Review", SCREEN).unwrap();
    assert!(s.contains("vda will be") || s.contains("Type \"vda\""), "{s}");
    keys(&mut m, "vda\r");
    m.wait_for_screen(r"Installing - 8/8", SCREEN).unwrap();
    let s = m.wait_for_screen(r"The system is installed", Duration::from_secs(900)).unwrap();
    assert!(s.contains("Installed generation 1"), "{s}");
    // Nothing secret reached the console.
    assert!(!m.serial_text().unwrap().contains(PASSWORD));
    // The saved answer: no clear text, mode 0600.
    let saved = m.succeed("mount /dev/vda2 /mnt && stat -c %a /mnt/etc/installer/answer.toml && cat /mnt/etc/installer/answer.toml; umount /mnt").unwrap();
    assert!(saved.starts_with("600\n"), "{saved}");
    assert!(
        saved.contains("alice-password") && !saved.contains(PASSWORD) && !saved.contains("$6$"),
        "{saved}"
    );
    // Power off (the second choice).
    keys(&mut m, "\x1b[B");
    m.wait_for_screen(r"> Power off", SCREEN).unwrap();
    keys(&mut m, "\r");
    m.wait_for_shutdown(Duration::from_secs(180)).expect("power off from the finish screen");
    let (_keep, disk) = take_disk(&m, 0);
    drop(m);

    // The installed disk boots alone; alice logs in on the serial console with her password.
    let mut b = machine("tui-installed")
        .memory_mib(1024)
        .disk(Disk::file(&disk, "qcow2").bootindex(0))
        .agent_timeout(Duration::from_secs(300))
        .start()
        .unwrap();
    b.wait_for_console_text(r"tuibox login:", Duration::from_secs(300)).unwrap();
    b.send_console("alice\n").unwrap();
    b.wait_for_console_text(r"Password:", SCREEN).unwrap();
    b.send_console(&format!("{PASSWORD}\n")).unwrap();
    b.send_console("echo user=$(id -un) groups=$(id -Gn | tr ' ' ,) sum=$((6*7))\n").unwrap();
    let out = b.wait_for_console_text(r"user=alice groups=\S*wheel\S* sum=42", SCREEN).unwrap();
    assert!(out.contains("alice"), "{out}");
    assert_eq!(b.succeed("hostname").unwrap().trim(), "tuibox");
    assert!(!b.serial_text().unwrap().contains(PASSWORD), "the password was echoed");
}
