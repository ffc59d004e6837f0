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

/// Moves the storage screen's disk cursor to `name` (the list order is the kernel's; the list
/// scrolls, so a disk below or above the visible ones is reached one step at a time).
fn select_disk(m: &mut Machine, name: &str) {
    let re = regex::Regex::new(r"(?m)^\|([> +]) (\w+) +[0-9.]+ [KMGT]?i?B ").unwrap();
    let read = |m: &mut Machine| {
        let s = m.serial_screen(24, 80).unwrap();
        let disks: Vec<(bool, String)> =
            re.captures_iter(&s).map(|c| (&c[1] == ">", c[2].to_string())).collect();
        let at = disks.iter().position(|(sel, _)| *sel).unwrap_or_else(|| panic!("no disk selected:\n{s}"));
        (s, disks, at)
    };
    for _ in 0..12 {
        let (s, disks, at) = read(m);
        let (key, steps) = match disks.iter().position(|(_, n)| n == name) {
            Some(want) if want == at => return,
            Some(want) => (if want > at { "\x1b[B" } else { "\x1b[A" }, want.abs_diff(at)),
            None if s.contains("more disk") && s.contains("below") => ("\x1b[B", disks.len() - at),
            None => ("\x1b[A", at + 1),
        };
        let before = disks[at].1.clone();
        keys(m, &key.repeat(steps));
        // Until the cursor has moved.
        let deadline = std::time::Instant::now() + SCREEN;
        while read(m).1.iter().find(|(sel, _)| *sel).is_some_and(|(_, n)| *n == before) {
            assert!(std::time::Instant::now() < deadline, "the disk cursor did not move from {before}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    panic!("no disk {name} in the list:\n{}", read(m).0);
}

/// The RAM the live ISO needs to install (issue 13's floor: 192 MiB; the kernel leaves the system
/// about 141 MiB of it).
const RAM_FLOOR_MIB: u32 = 192;

#[test]
fn serial_console_tui_installs_guided_ext4_and_the_user_logs_in() {
    let a = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let iso = a.live_iso.clone().expect("the live test ISO");
    // The smallest machine the ISO installs on (README): 192 MiB, the TUI and its evaluation too.
    let mut m = machine("tui-serial")
        .memory_mib(RAM_FLOOR_MIB)
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
    m.succeed("mount /dev/vda2 /mnt").unwrap();
    let mode = m.succeed("stat -c %a /mnt/etc/installer/answer.toml").unwrap();
    assert_eq!(mode.trim(), "600");
    let answer = m.succeed("cat /mnt/etc/installer/answer.toml").unwrap();
    assert!(
        answer.contains("alice-password") && !answer.contains(PASSWORD) && !answer.contains("$6$"),
        "{answer}"
    );
    let configuration = m.succeed("cat /mnt/etc/nixos/configuration.nix").unwrap();
    let hash = m.succeed("sed -n 's/^alice:\\([^:]*\\):.*/\\1/p' /mnt/etc/shadow").unwrap();
    assert!(hash.starts_with("$6$"), "alice's password is a SHA-512 crypt hash: {hash}");
    m.succeed("umount /mnt").unwrap();
    let layout = disk_layout(&mut m);
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
    b.wait_for_console_text(r"alice@tuibox:~\$", SCREEN).unwrap();
    b.send_console("echo user=$(id -un) groups=$(id -Gn | tr ' ' ,) sum=$((6*7))\n").unwrap();
    let out = b.wait_for_console_text(r"user=alice groups=\S*wheel\S* sum=42", SCREEN).unwrap();
    assert!(out.contains("alice"), "{out}");
    // The administrator (the TUI's default: root locked) becomes root with sudo and her password.
    b.send_console("echo root=$(sudo id -u)\n").unwrap();
    b.wait_for_console_text(r"\[sudo\] password for alice:", SCREEN).unwrap();
    b.send_console(&format!("{PASSWORD}\n")).unwrap();
    b.wait_for_console_text(r"root=0", SCREEN).unwrap();
    assert_eq!(b.succeed("hostname").unwrap().trim(), "tuibox");
    assert!(!b.serial_text().unwrap().contains(PASSWORD), "the password was echoed");
    // Nothing boots this disk again: the machine is stopped, not shut down.
    drop(b);

    // The saved answer, given to `installer auto` on a fresh identical machine (with the secret it
    // names), gives the same partition layout and the same configuration.nix.
    let mut r = common::live_image("tui-replay", "").start().unwrap();
    r.wait_for_agent().unwrap();
    r.succeed("mkdir -p /root/replay").unwrap();
    common::write_guest_file(&mut r, "/root/replay/answer.toml", &answer, 0o600);
    let secrets = format!("alice-password = {:?}\n", hash.trim());
    common::write_guest_file(&mut r, "/root/replay/answer-secrets.toml", &secrets, 0o600);
    r.succeed("installer auto --answer /root/replay/answer.toml --yes > /root/replay/log 2>&1 || { tail -20 /root/replay/log; exit 1; }")
        .unwrap();
    assert_eq!(disk_layout(&mut r), layout, "the replayed install's partitions differ");
    r.succeed("mount /dev/vda2 /mnt").unwrap();
    assert_eq!(r.succeed("cat /mnt/etc/nixos/configuration.nix").unwrap(), configuration);
    let replay_hash = r.succeed("sed -n 's/^alice:\\([^:]*\\):.*/\\1/p' /mnt/etc/shadow").unwrap();
    assert_eq!(replay_hash, hash);
}

/// The partitions of /dev/vda by type, filesystem and size (what must match between installs).
fn disk_layout(m: &mut Machine) -> String {
    m.succeed("udevadm settle; lsblk -n -b -o NAME,TYPE,FSTYPE,PARTTYPE,SIZE /dev/vda").unwrap()
}

fn wait_vt(m: &mut Machine, regex: &str, timeout: Duration) -> String {
    m.wait_for_vt_text(1, regex, timeout).unwrap()
}

/// The keys a German keyboard layout turns into `text`, as QEMU key codes: what a person with
/// that keyboard presses (z and y swapped, ü where US has `[`).
fn de_keys(text: &str) -> Vec<String> {
    text.chars()
        .map(|c| match c {
            'z' => "y".to_string(),
            'y' => "z".to_string(),
            'Z' => "shift-y".to_string(),
            'Y' => "shift-z".to_string(),
            'ü' => "bracket_left".to_string(),
            ' ' => "spc".to_string(),
            c if c.is_ascii_lowercase() || c.is_ascii_digit() => c.to_string(),
            c if c.is_ascii_uppercase() => format!("shift-{}", c.to_ascii_lowercase()),
            c => panic!("no German key for {c:?}"),
        })
        .collect()
}

fn press_keys(m: &mut Machine, keys: &[String]) {
    for k in keys {
        m.send_key(k).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
}

/// Moves the keyboard list on the VT to `name` with the arrow keys alone (typing to search would
/// be read through each layout on the way).
fn choose_keymap_on_vt(m: &mut Machine, name: &str) {
    let re = regex::Regex::new(r"(?m)^..([> ]) (\S+)\s").unwrap();
    for _ in 0..80 {
        let s = wait_vt(m, r"1/8 Keyboard and language", SCREEN);
        let items: Vec<(bool, String)> = s
            .lines()
            .skip(3)
            .filter_map(|l| re.captures(l).map(|c| (&c[1] == ">", c[2].to_string())))
            .collect();
        let at = items.iter().position(|(sel, _)| *sel).unwrap_or_else(|| panic!("no layout chosen:\n{s}"));
        let key = match items.iter().position(|(_, n)| n == name) {
            Some(want) if want == at => return,
            Some(want) if want > at => "down",
            Some(_) => "up",
            None if name < items[at].1.as_str() => "pgup",
            None => "pgdn",
        };
        m.send_key(key).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("could not reach the layout {name}");
}

/// The whole VT shows exactly the TUI's own last frame (`/run/installer/tui/tty1.screen`): no
/// kernel message, login banner or leftover of an earlier screen anywhere. Keeps the QMP
/// screendump with the machine's logs as `<what>.png`.
fn assert_the_vt_shows_only_the_tui(m: &mut Machine, what: &str) {
    let deadline = std::time::Instant::now() + SCREEN;
    loop {
        let cells = m.vt_cells(1).unwrap();
        let own = m.succeed("cat /run/installer/tui/tty1.screen").unwrap();
        let own: Vec<&str> = own.lines().collect();
        let cols = cells.first().map(|r| r.chars().count()).unwrap_or(0);
        let want: Vec<String> = (0..cells.len())
            .map(|r| format!("{:<cols$}", own.get(r).copied().unwrap_or(""), cols = cols))
            .collect();
        if want == cells {
            let png = m.log_dir().join(format!("{what}.png"));
            m.screendump(&png).unwrap();
            return;
        }
        if std::time::Instant::now() > deadline {
            let png = m.log_dir().join(format!("{what}-foreign.png"));
            let _ = m.screendump(&png);
            let diff: Vec<String> = cells
                .iter()
                .zip(&want)
                .enumerate()
                .filter(|(_, (got, want))| got != want)
                .map(|(i, (got, want))| format!("row {i}:\n  screen: {got:?}\n  TUI:    {want:?}"))
                .collect();
            panic!(
                "{what}: the VT shows what the TUI did not draw ({}):\n{}",
                png.display(),
                diff.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The TUI on the VGA console of a UEFI machine with four CPUs, driven with the keys of a German
/// keyboard: the screen holds nothing but the TUI's own frame at the start and after the console
/// is resized; LVM on LUKS2 with a passphrase of z, y and ü; the CD is taken out at the Finish
/// screen and Reboot starts the installed system, whose stage 1 asks on the screen with the
/// German layout (and Argon2 with four threads, as the header was made on four CPUs).
#[test]
fn vga_console_tui_installs_lvm_on_luks_under_uefi_and_the_passphrase_is_asked_at_boot() {
    const PASSPHRASE: &str = "Zypern über 7";
    let a = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let iso = a.live_iso.clone().expect("the live test ISO");
    // No boot order given to the firmware (a QEMU boot index makes OVMF drop every boot entry of
    // a device without one, the installed system's among them): the firmware's own, as on a
    // real machine.
    let mut m = machine("tui-vga")
        .uefi()
        .cpus(4)
        .memory_mib(1536)
        .cdrom(&iso)
        .disk(Disk::new_qcow2(4 << 30).serial("TARGET").interface(vm_harness::DiskInterface::Sata))
        .start()
        .unwrap();
    m.wait_for_agent().unwrap();
    // The TUI on tty1 (TERM=linux), driven with keys of the emulated keyboard (QMP).
    wait_vt(&mut m, r"1/8 Keyboard and language", Duration::from_secs(300));
    assert_the_vt_shows_only_the_tui(&mut m, "first-screen");
    // A console resized under the TUI: everything drawn again, nothing left over.
    m.succeed("stty -F /dev/tty1 rows 30 cols 100").unwrap();
    wait_vt(&mut m, r"1/8 Keyboard and language", SCREEN);
    assert_the_vt_shows_only_the_tui(&mut m, "resized");
    choose_keymap_on_vt(&mut m, "de");
    m.send_key("ret").unwrap();
    wait_vt(&mut m, r"2/8 Network", SCREEN);
    // The layout is being loaded (loadkeys rewrites the kernel's keymap entry by entry: a key
    // pressed meanwhile may find a hole): type once it is in place.
    m.wait_until_succeeds("sleep 0.5; ! pgrep -x loadkeys", SCREEN).unwrap();
    m.send_key("ctrl-u").unwrap();
    m.send_chars("vault").unwrap();
    // The field shows what was typed before Enter (a slow guest's PS/2 queue can drop a key
    // that QMP sends: that would be the test's loss, not the TUI's).
    wait_vt(&mut m, r"Host name\s+\[vault\s", SCREEN);
    m.send_key("ret").unwrap();
    let s = wait_vt(&mut m, r"3/8 Storage(?s:.*)ERASED", SCREEN);
    assert!(s.contains("sda") && s.contains("serial TARGET"), "{s}");
    // Layout: LVM; encrypt; the passphrase twice, on the German layout.
    m.send_chars("\t").unwrap();
    m.send_key("down").unwrap();
    m.send_key("down").unwrap();
    m.send_chars("\t \t").unwrap();
    press_keys(&mut m, &de_keys(PASSPHRASE));
    m.send_chars("\t").unwrap();
    press_keys(&mut m, &de_keys(PASSPHRASE));
    let s = wait_vt(&mut m, r"LUKS(?s:.*)vg0", SCREEN);
    assert!(!s.contains(PASSPHRASE) && s.contains("typed at boot with layout de"), "{s}");
    m.send_key("ret").unwrap();
    wait_vt(&mut m, r"4/8 Time zone", SCREEN);
    m.send_key("ret").unwrap();
    wait_vt(&mut m, r"5/8 Users", SCREEN);
    m.send_chars(&format!("\talice\t\t{PASSWORD}\t{PASSWORD}\n")).unwrap();
    wait_vt(&mut m, r"6/8 Configuration\s+configuration.nix\s+evaluated", Duration::from_secs(180));
    m.send_key("ret").unwrap();
    wait_vt(&mut m, r"7/8 Review", SCREEN);
    m.send_chars("sda\n").unwrap();
    let s = wait_vt(&mut m, r"The system is installed", Duration::from_secs(1200));
    assert!(s.contains("Installed generation 1"), "{s}");
    let dump = m.succeed("cryptsetup luksDump $(blkid -t TYPE=crypto_LUKS -o device)").unwrap();
    assert!(dump.contains("argon2id") && dump.contains("Threads:    4"), "{dump}");
    // Out with the CD, then Reboot: the same machine starts the installed system.
    m.eject_cdrom().unwrap();
    m.send_key("ret").unwrap();
    m.wait_for_console_text("keyboard layout de", Duration::from_secs(300)).unwrap();
    m.wait_for_console_text("Passphrase for cryptlvm", Duration::from_secs(120)).unwrap();
    // Typed at the machine's own keyboard, on the German layout stage 1 loaded.
    press_keys(&mut m, &de_keys(PASSPHRASE));
    m.send_key("ret").unwrap();
    m.wait_for_console_text("cryptlvm opened", Duration::from_secs(120)).unwrap();
    m.reconnect_agent();
    m.wait_for_agent().unwrap();
    assert_eq!(m.succeed("hostname").unwrap().trim(), "vault");
    assert_eq!(m.succeed("nproc").unwrap().trim(), "4");
    assert_eq!(m.succeed("findmnt -n -o SOURCE /").unwrap().trim(), "/dev/mapper/vg0-root");
    assert!(m.succeed("lsblk -n -o TYPE").unwrap().contains("crypt"));
    assert!(!m.serial_text().unwrap().contains(PASSPHRASE), "the passphrase was echoed");
}

/// `installer.answer=` with `[interactive] sections = ["storage"]`: the TUI starts by itself at
/// the storage step, everything else as the answer gives it (the user's password hash too). There
/// the person installs beside the system on a second disk, whose partition keeps its content
/// (hash before and after); the boot medium is listed and refused.
#[test]
fn interactive_storage_from_an_answer_installs_beside_an_existing_partition() {
    let hash = installer::tui::hash_password(PASSWORD).unwrap();
    let answer = format!(
        r#"version = 1
[system]
hostname = "beside"
timezone = "Europe/Amsterdam"
[[user]]
name = "alice"
groups = ["wheel"]
password = "alice-hash"
[secrets]
alice-hash = "{hash}"
[interactive]
sections = ["storage"]
"#
    );
    let t = tempfile::tempdir().unwrap();
    let img = common::answer_disk(t.path(), &answer);
    // The shared live boot with the answer disk and a second disk plugged in; the script a boot
    // with `installer.answer=` runs then starts the TUI (guest_auto's test of the boot-time start
    // covers the boot itself).
    let mut m = common::live_plugged("tui-beside", false, &img, &["OLD"]);
    // Plugged-in disks are named in the order the kernel found them.
    let old = m.succeed("basename $(readlink -f /dev/disk/by-id/virtio-OLD)").unwrap().trim().to_string();
    // A disk with a system to keep: one ext4 partition with data.
    let before = m
        .succeed(&format!(
            "set -e; sgdisk -n1:1MiB:+256MiB -t1:8300 /dev/{old} >/dev/null; udevadm settle; \
             mkfs.ext4 -q -L data /dev/{old}1; mount /dev/{old}1 /mnt; head -c 4M /dev/urandom > /mnt/payload; \
             umount /mnt; sha256sum < /dev/{old}1",
        ))
        .unwrap();
    common::start_autostart(&mut m, "installer.answer=label:ANSWERS:/answer.toml");
    // Only the storage step is asked.
    m.wait_for_screen(r"Install - 3/8 Storage", Duration::from_secs(300)).unwrap();
    // The TUI may have looked at the disks before the partition was made: look again (r).
    keys(&mut m, "r");
    // Five disks: OLD is on the screen or below it (the order of plugged disks varies).
    m.wait_for_screen(r"serial OLD|1 more disk below", SCREEN).unwrap();
    // The boot medium is listed and refused.
    select_disk(&mut m, "sr0");
    keys(&mut m, "\r");
    m.wait_for_screen(r"! disk: /dev/sr0: boot medium: not selectable", SCREEN).unwrap();
    // The second disk (the list scrolls: with the cursor on it, its contents show), beside the
    // existing system.
    select_disk(&mut m, &old);
    let s = m.wait_for_screen(r#"ext4 "data""#, SCREEN).unwrap();
    assert!(s.contains("serial OLD"), "{s}");
    keys(&mut m, "\t\x1b[B\x1b[B\x1b[B\x1b[B");
    let s = m.wait_for_screen(r"\(\*\) Beside the existing system(?s:.*)KEEP", SCREEN).unwrap();
    assert!(s.contains(&format!("/dev/{old}1")) && !s.contains("ERASED"), "{s}");
    // Time zone and users are given: the next screen is the configuration.
    keys(&mut m, "\r");
    let s = m.wait_for_screen(r"6/8 Configuration(?s:.*)evaluated ok", Duration::from_secs(180)).unwrap();
    assert!(s.contains("networking.hostName = \"beside\";"), "{s}");
    keys(&mut m, "\r");
    let s = m.wait_for_screen(r"7/8 Review", SCREEN).unwrap();
    assert!(s.contains("Europe/Amsterdam") && s.contains("alice (wheel)"), "{s}");
    keys(&mut m, &format!("{old}\r"));
    m.wait_for_screen(r"The system is installed", Duration::from_secs(900)).unwrap();
    let after = m.succeed(&format!("sha256sum < /dev/{old}1")).unwrap();
    assert_eq!(before, after, "the kept partition changed");
    let layout = m.succeed(&format!("lsblk -n -o NAME,FSTYPE,LABEL /dev/{old}")).unwrap();
    assert!(
        layout.contains(&format!("{old}1 ext4   data")) && layout.contains(&format!("{old}3 ext4")),
        "{layout}"
    );
    // The empty disk was not touched; the given hash is alice's password.
    assert_eq!(m.execute("blkid -p /dev/vda").unwrap().0, 2, "vda was written");
    common::assert_never_written(&m, 1);
    m.succeed(&format!("mount /dev/{old}3 /mnt")).unwrap();
    let shadow = m.succeed("grep ^alice: /mnt/etc/shadow").unwrap();
    assert!(shadow.contains(&hash), "{shadow}");
}

/// The walk of a new user, on the machine a person starts with `qemu-system-x86_64 -cdrom`: plain
/// QEMU's default devices (the pc machine, a floppy drive, the CD on IDE, an e1000 NIC), two
/// CPUs, the TUI on the serial console at 80x24. Guided LVM on LUKS2 on the first disk large
/// enough (never the floppy), a user alice who administers; the CD is taken out at the Finish
/// screen, then Reboot: the machine starts the installed system from its disk, asks for the
/// passphrase, alice logs in and becomes root with sudo and her password.
#[test]
fn acceptance_walk_on_plain_qemu_lvm_on_luks_eject_reboot_and_sudo() {
    const PASSPHRASE: &str = "walk disk passphrase 9";
    let a = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let iso = a.live_iso.clone().expect("the live test ISO");
    let mut m = machine("walk")
        .qemu_defaults()
        .memory_mib(1024)
        .cdrom(&iso)
        .cdrom_bootindex(0)
        .disk(Disk::new_qcow2(8 << 30).serial("DISKA"))
        .start()
        .unwrap();
    m.wait_for_screen(r"Install - 1/8 Keyboard and language", Duration::from_secs(300)).unwrap();
    assert_eq!(m.succeed("nproc").unwrap().trim(), "2");
    // The floppy drive is there, and no disk to install to.
    m.succeed("test -b /dev/fd0").unwrap();
    // A root filesystem smaller than the system is refused in the plan, before any write.
    common::write_guest_file(
        &mut m,
        "/root/small.toml",
        "version = 1\n[system]\nhostname = \"small\"\n[[storage.disk]]\nmatch = { serial = \"DISKA\" }\ntable = \"mbr\"\n\
         [[storage.disk.partition]]\nsize = \"600MiB\"\ntype = \"linux\"\n\
         content = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n",
        0o600,
    );
    let refused = m.fail("installer plan --answer /root/small.toml 2>&1").unwrap();
    assert!(refused.contains("would have 600.0 MiB; the system needs at least"), "{refused}");
    m.succeed("test -z \"$(blkid -p /dev/vda)\"").unwrap();
    keys(&mut m, "\r");
    m.wait_for_screen(r"2/8 Network", SCREEN).unwrap();
    keys(&mut m, "\x15walk\r");
    let s = m.wait_for_screen(r"3/8 Storage(?s:.*)ERASED", SCREEN).unwrap();
    assert!(s.contains("> vda") && s.contains("serial DISKA"), "the first disk large enough:\n{s}");
    assert!(!s.contains("fd0"), "the floppy drive is offered:\n{s}");
    // Erase disk: LVM, encrypted.
    keys(&mut m, "\t\x1b[B\x1b[B\t ");
    keys(&mut m, &format!("\t{PASSPHRASE}\t{PASSPHRASE}"));
    let s = m.wait_for_screen(r"LUKS(?s:.*)vg0", SCREEN).unwrap();
    assert!(s.contains("typed at boot with layout us") && !s.contains(PASSPHRASE), "{s}");
    keys(&mut m, "\r");
    m.wait_for_screen(r"4/8 Time zone", SCREEN).unwrap();
    keys(&mut m, "\r");
    m.wait_for_screen(r"5/8 Users", SCREEN).unwrap();
    keys(&mut m, &format!("\talice\tAlice Liddell\t{PASSWORD}\t{PASSWORD}"));
    m.wait_for_screen(r"ok: match", SCREEN).unwrap();
    keys(&mut m, "\r");
    m.wait_for_screen(r"6/8 Configuration\s.*(?s:.*)evaluated ok", Duration::from_secs(180)).unwrap();
    keys(&mut m, "\r");
    m.wait_for_screen(r"7/8 Review", SCREEN).unwrap();
    keys(&mut m, "vda\r");
    let s = m.wait_for_screen(r"The system is installed", Duration::from_secs(1200)).unwrap();
    assert!(s.contains("then press Enter"), "{s}");
    // A LUKS2 header made on two CPUs has two Argon2 threads: the initrd must run them.
    let dump = m.succeed("cryptsetup luksDump $(blkid -t TYPE=crypto_LUKS -o device)").unwrap();
    assert!(dump.contains("argon2id") && dump.contains("Threads:    2"), "{dump}");
    // Out with the CD, as the screen says, then Reboot (the first choice).
    m.eject_cdrom().unwrap();
    keys(&mut m, "\r");
    m.wait_for_console_text("Passphrase for cryptlvm", Duration::from_secs(300)).unwrap();
    keys(&mut m, &format!("{PASSPHRASE}\n"));
    m.wait_for_console_text(r"walk login:", Duration::from_secs(300)).unwrap();
    keys(&mut m, "alice\n");
    m.wait_for_console_text(r"Password:", SCREEN).unwrap();
    keys(&mut m, &format!("{PASSWORD}\n"));
    m.wait_for_console_text(r"alice@walk:~\$", SCREEN).unwrap();
    // sudo asks for alice's own password (not echoed) and makes her root.
    keys(&mut m, "echo root=$(sudo id -u)\n");
    m.wait_for_console_text(r"\[sudo\] password for alice:", SCREEN).unwrap();
    keys(&mut m, &format!("{PASSWORD}\n"));
    m.wait_for_console_text(r"root=0", SCREEN).unwrap();
    m.reconnect_agent();
    m.wait_for_agent().unwrap();
    assert_eq!(m.succeed("findmnt -n -o SOURCE /").unwrap().trim(), "/dev/mapper/vg0-root");
    assert!(!m.serial_text().unwrap().contains(PASSPHRASE), "the passphrase was echoed");
    assert!(!m.serial_text().unwrap().contains(PASSWORD), "the password was echoed");
}
