//! vm-harness's own tests: each boots the cached Debian kernel with the test initrd under QEMU.
//! Run them with `cargo xtask test` (which prepares the kernel and initrd first).

use std::path::Path;
use std::time::{Duration, Instant};

use vm_harness::testimage::READY_MARKER;
use vm_harness::{machine, Disk, DiskInterface, Error, Machine, MachineBuilder, Net, TestAssets};

const BOOT: Duration = Duration::from_secs(120);

fn assets() -> TestAssets {
    TestAssets::load().expect("test assets (run `cargo xtask assets` first)")
}

/// A machine booting the test initrd directly, with `extra` appended to the kernel command line.
fn direct(name: &str, extra: &str) -> MachineBuilder {
    let a = assets();
    machine(name).kernel(&a.kernel, Some(a.initrd.clone()), &format!("console=ttyS0 quiet {extra}"))
}

fn ready(b: MachineBuilder) -> Machine {
    let mut m = b.start().expect("machine starts");
    m.wait_for_console_text(READY_MARKER, BOOT).expect("test initrd boots");
    m
}

#[test]
fn command_channel_round_trip() {
    let a = assets();
    let mut m = ready(direct("roundtrip", "marker=xyz"));
    assert_eq!(m.succeed("uname -r").unwrap().trim(), a.kernel_version);
    assert!(m.succeed("cat /proc/cmdline").unwrap().contains("marker=xyz"));
    assert_eq!(m.execute("false").unwrap().0, 1);
    assert_eq!(m.execute("exit 42").unwrap().0, 42);
    m.fail("false").unwrap();
    match m.succeed("echo out; echo err >&2; exit 3") {
        Err(Error::Command { status: 3, stdout, stderr, .. }) => {
            assert_eq!(stdout, "out\n");
            assert_eq!(stderr, "err\n");
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    assert!(matches!(m.fail("true"), Err(Error::Command { status: 0, .. })));
    // BIOS machine: no EFI.
    m.fail("test -d /sys/firmware/efi").unwrap();

    // Files both ways, binary-safe, mode kept.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("blob");
    let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    m.copy_to_guest(&src, "/tmp/blob").unwrap();
    assert_eq!(m.succeed("stat -c %a /tmp/blob").unwrap().trim(), "750");
    assert_eq!(m.succeed("wc -c < /tmp/blob").unwrap().trim(), "70000");
    let back = dir.path().join("back");
    m.copy_from_guest("/tmp/blob", &back).unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), data);
    assert!(m.copy_from_guest("/no/such/file", &back).is_err());

    // wait_until_succeeds sees a condition that becomes true later.
    m.succeed("(sleep 3; touch /tmp/later) >/dev/null 2>&1 &").unwrap();
    m.wait_until_succeeds("test -e /tmp/later", Duration::from_secs(60)).unwrap();

    m.shutdown().unwrap();
    assert!(!m.is_running());
}

/// One disk on each interface the harness offers, each with its own serial: every serial shows up
/// in the guest, on a disk named as that interface's disks are.
#[test]
fn disk_serials_show_up_on_every_interface() {
    use DiskInterface::*;
    let interfaces = [Virtio, Sata, Nvme, Usb, Scsi];
    let mut b = direct("serials", "");
    for iface in interfaces {
        b = b.disk(Disk::new_qcow2(64 << 20).interface(iface).serial(&format!("S-{iface:?}")));
    }
    let mut m = ready(b);
    // virtio: /sys/block/X/serial; SATA: the VPD unit serial page; NVMe and USB: a `serial`
    // attribute on the controller or USB device above the disk.
    let script = r#"
        for d in /sys/block/*; do
            n=${d##*/}
            case $n in loop*|ram*|sr*) continue;; esac
            s=""
            [ -f $d/serial ] && s=$(cat $d/serial)
            if [ -z "$s" ] && [ -f $d/device/vpd_pg80 ]; then s=$(tail -c +5 $d/device/vpd_pg80); fi
            p=$(readlink -f $d/device)
            while [ -z "$s" ] && [ "$p" != / ] && [ -n "$p" ]; do
                [ -f $p/serial ] && s=$(cat $p/serial)
                p=${p%/*}
            done
            echo "$n" $s
        done"#;
    let every: Vec<String> =
        interfaces.iter().map(|i| format!("echo \"$out\" | grep -q ' S-{i:?}$'")).collect();
    let found = m
        .wait_until_succeeds(&format!("out=$({script}); {} && echo \"$out\"", every.join(" && ")), BOOT)
        .unwrap();
    for iface in interfaces {
        let prefix = match iface {
            Virtio => "vd",
            Sata | Usb | Scsi => "sd",
            Nvme => "nvme",
        };
        let serial = format!(" S-{iface:?}");
        let line = found.lines().find(|l| l.ends_with(&serial)).unwrap_or("");
        assert!(line.starts_with(prefix), "no disk with serial{serial} named {prefix}*: {found}");
        if iface == Usb {
            // It really is behind the USB stack.
            let dev = line.split(' ').next().unwrap();
            assert!(m.succeed(&format!("readlink -f /sys/block/{dev}/device")).unwrap().contains("/usb"));
        }
    }
}

#[test]
fn disks_plugged_in_while_running_show_up_in_the_guest() {
    let mut m = ready(direct("hotplug", "").hotplug_ports(2));
    m.fail("grep -qx HOT1 /sys/block/*/serial").unwrap();
    let i = m.hotplug_disk(Disk::new_qcow2(64 << 20).serial("HOT1")).unwrap();
    let dev = m
        .wait_until_succeeds(
            "for d in /sys/block/vd*; do grep -qx HOT1 $d/serial && echo ${d##*/}; done | grep .",
            BOOT,
        )
        .unwrap();
    m.succeed(&format!("echo plugged-in | dd of=/dev/{} bs=512 conv=fsync 2>/dev/null", dev.trim())).unwrap();
    let map = std::process::Command::new("qemu-img")
        .args(["map", "-U", "--output=json"])
        .arg(m.disk_path(i).unwrap())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&map.stdout).contains("\"data\": true"),
        "the guest's write reached the disk: {map:?}"
    );
    m.hotplug_disk(Disk::new_qcow2(64 << 20).serial("HOT2")).unwrap();
    m.wait_until_succeeds("grep -qx HOT2 /sys/block/vd*/serial", BOOT).unwrap();
    let err = m.hotplug_disk(Disk::new_qcow2(64 << 20).serial("HOT3")).unwrap_err();
    assert!(err.to_string().contains("no free hot-plug port"), "{err}");
}

#[test]
fn uefi_direct_kernel_boot() {
    let mut m = ready(direct("uefi", "").uefi());
    m.succeed("test -d /sys/firmware/efi").unwrap();
    // OVMF exposes its variables; the private vars copy is writable.
    m.succeed("ls /sys/firmware/efi/ | grep -q runtime").unwrap();
    assert!(m.state_dir().join("OVMF_VARS.fd").exists());
}

fn pxe(uefi: bool) {
    let a = assets();
    let tftp = tempfile::tempdir().unwrap();
    std::fs::copy(&a.kernel, tftp.path().join("vmlinuz")).unwrap();
    std::fs::copy(&a.initrd, tftp.path().join("initrd")).unwrap();
    // UEFI iPXE hands the initrd to the kernel only when the kernel line names it.
    std::fs::write(
        tftp.path().join("boot.ipxe"),
        "#!ipxe\nkernel vmlinuz initrd=initrd console=ttyS0 quiet booted-by=pxe\ninitrd initrd\nboot\n",
    )
    .unwrap();
    let mut b = machine(if uefi { "pxe-uefi" } else { "pxe-bios" })
        .net(Net::user().tftp(tftp.path(), "boot.ipxe").bootindex(0));
    if uefi {
        b = b.uefi();
    }
    let mut m = b.start().unwrap();
    m.wait_for_console_text(READY_MARKER, Duration::from_secs(300)).unwrap();
    assert!(m.succeed("cat /proc/cmdline").unwrap().contains("booted-by=pxe"));
    assert_eq!(m.execute("test -d /sys/firmware/efi").unwrap().0 == 0, uefi);
}

#[test]
fn pxe_boot_bios_through_tftp() {
    pxe(false);
}

#[test]
fn pxe_boot_uefi_through_tftp() {
    pxe(true);
}

#[test]
fn screendump_is_a_png() {
    // Kernel messages on the display as well as on the serial console (the last console= wins
    // /dev/console, where the ready marker goes).
    let a = assets();
    let mut m =
        ready(machine("screen").kernel(&a.kernel, Some(a.initrd.clone()), "console=tty0 console=ttyS0"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screen.png");
    m.screendump(&path).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(info.width >= 320 && info.height >= 200, "{}x{}", info.width, info.height);
    // The kernel printed on tty0, so the screen is not blank.
    assert!(buf.iter().any(|&b| b != buf[0]), "the screen is uniform");
}

#[test]
fn keyboard_input_reaches_the_guest() {
    let mut m = ready(direct("keys", ""));
    m.succeed("(cat /dev/tty1 > /tmp/typed 2>&1 &) ; sleep 1").unwrap();
    m.send_chars("Hello-World 42\n").unwrap();
    m.wait_until_succeeds("grep -q 'Hello-World 42' /tmp/typed", Duration::from_secs(60)).unwrap();
    m.send_key("ctrl-c").unwrap();
}

#[test]
fn crash_then_boot_again_from_the_same_qcow2() {
    let mut m = ready(direct("crash", "").disk(Disk::new_qcow2(64 << 20).serial("DATA")));
    m.wait_until_succeeds("test -b /dev/vda", BOOT).unwrap();
    m.succeed("echo survived-the-power-cut | dd of=/dev/vda bs=512 conv=sync,fsync").unwrap();
    // fsync flushed the disk cache (qcow2 metadata included): the marker must survive the kill.
    m.crash().unwrap();
    assert!(!m.is_running());
    m.start().unwrap();
    m.wait_for_console_text(READY_MARKER, BOOT).unwrap();
    let out = m.succeed("dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 22").unwrap();
    assert_eq!(out, "survived-the-power-cut");
    // `quit` stops QEMU at once and closes the image cleanly: what the guest flushed is there,
    // and the qcow2 has no leaked clusters or errors.
    m.succeed("echo written-before-quit | dd of=/dev/vda bs=512 seek=8 conv=sync,fsync").unwrap();
    m.quit().unwrap();
    assert!(!m.is_running());
    let check = std::process::Command::new("qemu-img")
        .args(["check", "-q"])
        .arg(m.disk_path(0).unwrap())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    m.start().unwrap();
    m.wait_for_console_text(READY_MARKER, BOOT).unwrap();
    let out = m.succeed("dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 19").unwrap();
    assert_eq!(out, "written-before-quit");
}

#[test]
fn waits_that_cannot_succeed_time_out_and_quote_the_log() {
    let mut m = ready(direct("timeouts", ""));
    let t = Instant::now();
    let err = m.wait_for_console_text("this text is never printed", Duration::from_secs(3)).unwrap_err();
    let elapsed = t.elapsed();
    assert!(elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    match &err {
        Error::Timeout { tail, log, .. } => {
            assert!(tail.contains(READY_MARKER), "tail does not quote the log: {tail}");
            assert!(log.ends_with("serial.log") && log.exists());
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains(READY_MARKER));

    let t = Instant::now();
    let err = m.wait_until_succeeds("false", Duration::from_secs(3)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(15));
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn agent_wait_fails_within_its_timeout_when_there_is_no_agent() {
    // `init=/bin/sh` skips the test init, so no agent ever answers.
    let a = assets();
    let mut m = machine("noagent")
        .kernel(&a.kernel, Some(a.initrd.clone()), "console=ttyS0 rdinit=/bin/sh")
        .agent_timeout(Duration::from_secs(8))
        .start()
        .unwrap();
    let t = Instant::now();
    let err = m.succeed("true").unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(20));
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn two_machines_at_once() {
    let mut a = direct("twin-a", "who=a").start().unwrap();
    let mut b = direct("twin-b", "who=b").start().unwrap();
    assert!(a.is_running() && b.is_running());
    let ta = std::thread::spawn(move || {
        a.wait_for_console_text(READY_MARKER, BOOT).unwrap();
        let out = a.succeed("cat /proc/cmdline").unwrap();
        (a, out)
    });
    b.wait_for_console_text(READY_MARKER, BOOT).unwrap();
    assert!(b.succeed("cat /proc/cmdline").unwrap().contains("who=b"));
    let (mut a, out) = ta.join().unwrap();
    assert!(out.contains("who=a"));
    assert!(a.is_running() && b.is_running(), "both machines ran at the same time");
    assert_ne!(a.serial_log(), b.serial_log());
}

#[test]
fn reset_cdrom_boot_order_and_smbios() {
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("fake.iso");
    let mut content = b"CDMARKER".to_vec();
    content.resize(2 << 20, 0);
    std::fs::write(&iso, &content).unwrap();
    let mut m = ready(
        direct("qmp", "")
            .empty_cdrom()
            .virtualbox_smbios()
            .disk(Disk::new_qcow2(16 << 20).id("root").bootindex(1)),
    );
    assert_eq!(m.succeed("cat /sys/class/dmi/id/sys_vendor").unwrap().trim(), "innotek GmbH");
    assert_eq!(m.succeed("cat /sys/class/dmi/id/product_name").unwrap().trim(), "VirtualBox");

    m.change_cdrom(&iso).unwrap();
    m.wait_until_succeeds("dd if=/dev/sr0 bs=2048 count=1 2>/dev/null | grep -q CDMARKER", BOOT).unwrap();
    m.eject_cdrom().unwrap();
    m.wait_until_succeeds("! dd if=/dev/sr0 bs=2048 count=1 of=/dev/null 2>/dev/null", BOOT).unwrap();

    m.set_boot_index("root", 5).unwrap();
    let idx =
        m.qmp("qom-get", serde_json::json!({"path": "/machine/peripheral/root", "property": "bootindex"}));
    assert_eq!(idx.unwrap(), serde_json::json!(5));

    m.succeed("touch /tmp/before-reset").unwrap();
    m.system_reset().unwrap();
    m.wait_for_console_text(READY_MARKER, BOOT).unwrap();
    m.fail("test -e /tmp/before-reset").unwrap();
}

#[test]
fn network_http_helper_and_port_forward() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "served by the host\n").unwrap();
    let mut m = ready(direct("net", "").net(Net::user().http_dir(dir.path()).forward(8080)));
    m.succeed(
        "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2",
    )
    .unwrap();
    let url = m.http_url().unwrap();
    let got = m.wait_until_succeeds(&format!("wget -q -O - {url}/hello.txt"), BOOT).unwrap();
    assert_eq!(got, "served by the host\n");
    m.fail(&format!("wget -q -O - {url}/missing")).unwrap();

    // Host → guest through the forward.
    m.succeed("(echo from-the-guest | nc -l -p 8080 >/dev/null 2>&1 &); sleep 1").unwrap();
    let port = m.forwarded_port(8080).unwrap();
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !got.contains("from-the-guest") && Instant::now() < deadline {
        use std::io::Read;
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.read_to_string(&mut got);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(got.contains("from-the-guest"), "{got:?}");
}

#[test]
fn logs_are_kept_per_machine() {
    let mut m = ready(direct("logs", ""));
    let log = m.serial_log().to_path_buf();
    m.shutdown().unwrap();
    drop(m);
    assert!(Path::new(&log).exists(), "serial log removed with the machine");
    assert!(std::fs::read_to_string(&log).unwrap().contains(READY_MARKER));
}

#[test]
fn debian_test_root_boots_with_systemd_and_the_agent() {
    let a = assets();
    let mut m = a.debian_machine("debian").start().unwrap();
    let t = Instant::now();
    m.wait_for_agent().unwrap();
    eprintln!("agent answered after {:.1}s", t.elapsed().as_secs_f64());
    assert_eq!(m.succeed("cat /proc/1/comm").unwrap().trim(), "systemd");
    assert_eq!(m.succeed("uname -r").unwrap().trim(), a.kernel_version);
    m.succeed(
        "cryptsetup --version && lvm version && mdadm --version && mkfs.xfs -V && nix-instantiate --version",
    )
    .unwrap();
    // The kernel's modules are there: device-mapper loads.
    m.succeed("modprobe dm_crypt && test -e /dev/mapper/control").unwrap();
    m.wait_until_succeeds("systemctl is-system-running | grep -Eq 'running|degraded'", BOOT).unwrap();
    m.shutdown().unwrap();
}
