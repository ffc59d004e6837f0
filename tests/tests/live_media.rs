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

/// The squashfs holds no kernel: its `/boot/vmlinuz-<version>` links to the one stage 1 handed
/// over from the medium or the netboot initrd, which `installer install` reads.
fn check_kernel_handed_over(m: &mut Machine) {
    let link = m.succeed("readlink /boot/vmlinuz-$(uname -r)").unwrap();
    assert_eq!(link.trim(), "/run/installer/vmlinuz");
    // A bzImage: the "HdrS" magic of the boot protocol at offset 0x202.
    m.succeed("test $(stat -L -c %s /boot/vmlinuz-$(uname -r)) -gt 4000000 && dd if=/boot/vmlinuz-$(uname -r) bs=1 skip=514 count=4 2>/dev/null | grep -qx HdrS")
        .unwrap();
}

fn check_live(m: &mut Machine, uefi: bool, medium_prefix: &str) {
    let cmdline = m.succeed("cat /proc/cmdline").unwrap();
    assert!(cmdline.contains("root=live:LABEL=INSTALLER_"), "{cmdline}");
    assert_eq!(m.execute("test -d /sys/firmware/efi").unwrap().0 == 0, uefi, "firmware");
    let medium = m.succeed("cat /run/installer/boot-device").unwrap();
    assert!(medium.trim().starts_with(medium_prefix), "boot device {medium:?}, expected {medium_prefix}*");
    assert_eq!(m.succeed("findmnt -n -o FSTYPE /").unwrap().trim(), "overlay");
    assert_eq!(m.succeed("cat /proc/1/comm").unwrap().trim(), "systemd");
    check_kernel_handed_over(m);
    m.succeed("installer --version && installer disks").unwrap();
    // The man pages and the bash completion generated from the installer's command line.
    m.succeed("man -w installer | grep -qx /usr/share/man/man1/installer.1 && man -w installer-auto")
        .unwrap();
    m.succeed("grep -q 'refused before anything was written' /usr/share/man/man1/installer.1").unwrap();
    m.succeed("MANWIDTH=80 man installer-validate | grep -q 'json'").unwrap();
    let complete = m
        .succeed("bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader installer; complete -p installer'")
        .unwrap();
    assert!(complete.contains("-F _installer"), "{complete}");
    // sshd is off in the live system; DHCP is on for wired NICs.
    m.fail("systemctl is-enabled ssh.service").unwrap();
    m.succeed("systemctl is-enabled systemd-networkd.service").unwrap();
    // The kernel's random numbers are ready when the installer is (a LUKS format would wait for
    // them: under TCG, with nothing asking at boot, that took minutes), and the units the live
    // system leaves out did not fail the boot.
    m.succeed("dmesg | grep -q 'random: crng init done'").unwrap();
    m.succeed("! systemctl --failed --no-legend | grep .").unwrap();
    // Logins were allowed without a program's start: no /run/nologin was made to be removed.
    m.succeed("systemctl is-active systemd-user-sessions.service && test ! -e /run/nologin").unwrap();
    m.succeed("systemctl is-enabled systemd-journal-flush.service | grep -qx masked").unwrap();
}

#[test]
fn iso_as_cd_under_bios_and_sshd_stays_off_without_a_key() {
    let mut m = ready(live("cd-bios").cdrom(iso()).cdrom_bootindex(0));
    check_live(&mut m, false, "/dev/sr0");
    // The same boot (no key on the kernel command line) leaves sshd off.
    m.fail("systemctl is-active ssh.service").unwrap();
    m.fail("test -e /root/.ssh/authorized_keys").unwrap();
    // No host keys shipped in the image.
    m.fail("test -e /etc/ssh/ssh_host_ed25519_key").unwrap();
    // Modules the installer never uses are not loaded by udev (the live-only blacklist), and an
    // explicit modprobe still loads one.
    let loaded = m.succeed("udevadm settle; cut -d' ' -f1 /proc/modules").unwrap();
    for unneeded in ["cfg80211", "kvm", "kvm_amd", "iTCO_wdt", "pcspkr", "i2c_i801", "lpc_ich"] {
        assert!(!loaded.lines().any(|l| l == unneeded), "{unneeded} is loaded in the live system:\n{loaded}");
    }
    m.succeed("modprobe pcspkr && grep -q '^pcspkr ' /proc/modules").unwrap();
    // The live index lists only the installer's modules: sound, GPUs beyond a framebuffer and
    // radios are not found, though their files are there for installed systems.
    m.succeed("modprobe -n dm-crypt && modprobe -n bochs && modprobe -n e1000e && modprobe -n usb-storage")
        .unwrap();
    for other in ["snd-hda-intel", "amdgpu", "i915", "iwlwifi", "btusb"] {
        m.fail(&format!("modprobe -n {other}")).unwrap();
    }
    m.succeed("ls /usr/lib/modules/$(uname -r)/kernel/sound/pci/hda/snd-hda-intel.ko*").unwrap();
    m.succeed("grep -q '/snd-hda-intel.ko' /usr/lib/modules/$(uname -r)/installer-full-index/modules.dep")
        .unwrap();
}

#[test]
fn iso_as_cd_under_uefi() {
    let mut m = ready(live("cd-uefi").uefi().cdrom(iso()).cdrom_bootindex(0));
    check_live(&mut m, true, "/dev/sr0");
}

/// Also: the stick pulled out of the running live system while `installer finish` waits for it;
/// the machine then powers off, with nothing left to read the live system from.
#[test]
fn iso_dd_to_usb_stick_under_bios() {
    let mut m = ready(live("usb-bios").disk(Disk::overlay(iso()).interface(DiskInterface::Usb).bootindex(0)));
    check_live(&mut m, false, "/dev/sd");
    m.succeed("installer finish poweroff --wait-for-removal > /dev/ttyS0 2>&1 < /dev/null &").unwrap();
    m.wait_for_console_text(
        r"remove the installation medium \(/dev/sd[a-z]\) to finish",
        Duration::from_secs(60),
    )
    .unwrap();
    m.qmp("device_del", serde_json::json!({ "id": "disk0" })).unwrap();
    m.wait_for_console_text(r"/dev/sd[a-z] was removed", Duration::from_secs(60)).unwrap();
    m.wait_for_shutdown(Duration::from_secs(60)).expect("powered off with the stick gone");
}

#[test]
fn iso_dd_to_usb_stick_under_uefi() {
    let mut m =
        ready(live("usb-uefi").uefi().disk(Disk::overlay(iso()).interface(DiskInterface::Usb).bootindex(0)));
    check_live(&mut m, true, "/dev/sd");
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
    // The kernel was copied to RAM with the squashfs.
    check_kernel_handed_over(&mut m);
    m.succeed("test ! -L /run/installer/vmlinuz").unwrap();
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

fn netboot_dir() -> PathBuf {
    iso().parent().unwrap().join("netboot")
}

/// PXE: QEMU's DHCP/TFTP hands iPXE a script, which loads the payload over HTTP from the host.
/// The smallest machines netboot installs on (README: "The smallest machine"): with the squashfs
/// fetched over HTTP by stage 1, and inside the initrd. The kernel holds the whole initrd while it
/// unpacks it, so the 233 MiB squashfs is twice in memory for a moment: 576 MiB ends in the OOM
/// killer while unpacking (512 MiB in "System is deadlocked on memory"); issue 13 asks 512 MiB
/// for both, which the initrd way reaches only with a smaller squashfs.
const NETBOOT_HTTP_FLOOR_MIB: u32 = 512;
const NETBOOT_INITRD_FLOOR_MIB: u32 = 640;

/// An unattended install of a BIOS ext4 system onto the blank TARGET disk, from the running live
/// system: what a machine of the floor's size must manage.
fn install_on_target(m: &mut Machine) {
    m.succeed(
        "cat > /root/answer.toml <<'EOF'\nversion = 1\n[system]\nhostname = \"small\"\n[finish]\naction = \"none\"\n\
         [[storage.disk]]\nmatch = { serial = \"TARGET\" }\n[[storage.disk.partition]]\nsize = \"1MiB\"\n\
         type = \"bios-boot\"\n[[storage.disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\n\
         content = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\nEOF",
    )
    .unwrap();
    let out = m
        .execute_with_timeout(
            "installer auto --answer /root/answer.toml --yes 2>&1",
            Duration::from_secs(900),
        )
        .unwrap();
    assert_eq!(out.status, 0, "the install failed:\n{}", out.stdout);
    assert!(out.stdout.contains("installed generation 1 in"), "{}", out.stdout);
    let mem = m.succeed("free -m | awk '/^Mem:/ {print $2}'").unwrap();
    eprintln!("installed with {} MiB of RAM visible to the kernel", mem.trim());
}

/// A netboot through iPXE with `memory_mib`; `install` also installs at that size.
fn pxe(name: &str, uefi: bool, http_root: bool, memory_mib: u32, install: bool) {
    let nb = netboot_dir();
    let tftp = tempfile::tempdir().unwrap();
    // The HTTP helper serves the payload; its port is known only once the machine is built, so the
    // script chains to a second one written then.
    let mut b = live(name)
        .memory_mib(memory_mib)
        .net(vm_harness::Net::user().tftp(tftp.path(), "boot.ipxe").http_dir(&nb).bootindex(0));
    if install {
        b = b.disk(Disk::new_qcow2(4 << 30).serial("TARGET"));
    }
    if uefi {
        b = b.uefi();
    }
    let mut m = b.build().unwrap();
    let url = m.http_url().unwrap();
    let script = if http_root {
        format!(
            "#!ipxe\nkernel {url}/bzImage initrd=initrd-http root=live:{url}/filesystem.squashfs console=tty0 console=ttyS0,115200\ninitrd {url}/initrd-http\nboot\n"
        )
    } else {
        // The shipped netboot.ipxe, with the files fetched from the helper.
        std::fs::read_to_string(nb.join("netboot.ipxe"))
            .unwrap()
            .replace("kernel bzImage", &format!("kernel {url}/bzImage"))
            .replace("\ninitrd initrd", &format!("\ninitrd {url}/initrd"))
    };
    std::fs::write(tftp.path().join("boot.ipxe"), script).unwrap();
    m.start().unwrap();
    m.wait_for_console_text(READY, Duration::from_secs(600)).unwrap();
    m.wait_for_agent().unwrap();
    let cmdline = m.succeed("cat /proc/cmdline").unwrap();
    assert!(cmdline.contains(if http_root { "root=live:http://" } else { "root=live:initrd" }), "{cmdline}");
    assert_eq!(m.execute("test -d /sys/firmware/efi").unwrap().0 == 0, uefi);
    assert_eq!(m.succeed("findmnt -n -o FSTYPE /").unwrap().trim(), "overlay");
    check_kernel_handed_over(&mut m);
    if install {
        install_on_target(&mut m);
    }
}

#[test]
fn pxe_under_bios_with_the_squashfs_in_the_initrd_boots_at_the_ram_floor() {
    pxe("pxe-bios", false, false, NETBOOT_INITRD_FLOOR_MIB, false);
}

#[test]
#[ignore = "soak tier: the RAM-floor matrix (netboot installs at the floors)"]
fn pxe_under_bios_with_the_squashfs_in_the_initrd_installs_at_the_ram_floor() {
    pxe("pxe-bios-install", false, false, NETBOOT_INITRD_FLOOR_MIB, true);
}

#[test]
fn pxe_under_uefi_with_the_squashfs_in_the_initrd() {
    // Under UEFI, iPXE loads the 239 MiB initrd into what the firmware leaves: at 640 MiB it
    // fails and the firmware falls back to its shell. The floors are measured under BIOS.
    pxe("pxe-uefi", true, false, 2048, false);
}

#[test]
fn pxe_with_initrd_http_fetching_the_squashfs_boots_at_the_ram_floor() {
    pxe("pxe-http", false, true, NETBOOT_HTTP_FLOOR_MIB, false);
}

#[test]
#[ignore = "soak tier: the RAM-floor matrix (netboot installs at the floors)"]
fn pxe_with_initrd_http_fetching_the_squashfs_installs_at_the_ram_floor() {
    pxe("pxe-http-install", false, true, NETBOOT_HTTP_FLOOR_MIB, true);
}

/// The release netboot payload as shipped (`images/dist/`: xz squashfs inside the initrd, no
/// agent; `cargo xtask soak` builds it) installs with 512 MiB of RAM, the floor issue 13 asks of
/// netboot with the squashfs in the initrd (the test image's larger zstd squashfs needs 640 MiB):
/// the answer comes from a labelled disk, and the installed disk boots to its login prompt.
#[test]
#[ignore = "soak tier: boots the release image (xz), which `cargo xtask soak` builds"]
fn the_release_netboot_payload_with_the_squashfs_in_the_initrd_installs_at_512_mib() {
    let a = TestAssets::load().unwrap();
    let dist = a.dist_iso.clone().expect("the release image (`cargo xtask soak` builds it)");
    let nb = dist.parent().unwrap().join("netboot");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("answer.toml"),
        "version = 1\n[system]\nhostname = \"small512\"\nkernel_params = [\"console=ttyS0,115200\"]\n\
         [finish]\naction = \"poweroff\"\n[[storage.disk]]\nmatch = { serial = \"TARGET\" }\n\
         [[storage.disk.partition]]\nsize = \"1MiB\"\ntype = \"bios-boot\"\n[[storage.disk.partition]]\n\
         size = \"rest\"\ntype = \"linux\"\ncontent = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n",
    )
    .unwrap();
    let img = dir.path().join("answers.img");
    std::fs::File::create(&img).unwrap().set_len(16 << 20).unwrap();
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "ANSWERS", "-d"])
        .arg(&tree)
        .arg(&img)
        .status()
        .unwrap();
    assert!(st.success());
    let tftp = tempfile::tempdir().unwrap();
    let mut m = live("pxe-dist-512")
        .memory_mib(512)
        .net(vm_harness::Net::user().tftp(tftp.path(), "boot.ipxe").http_dir(&nb).bootindex(0))
        .disk(Disk::new_qcow2(4 << 30).serial("TARGET"))
        .disk(Disk::file(&img, "raw").serial("ANSWERS"))
        .build()
        .unwrap();
    let url = m.http_url().unwrap();
    // The shipped netboot.ipxe, fetching from the helper, with the answer on the kernel line.
    let script = std::fs::read_to_string(nb.join("netboot.ipxe"))
        .unwrap()
        .replace("kernel bzImage", &format!("kernel {url}/bzImage"))
        .replace(
            "\ninitrd initrd",
            &format!(" installer.answer=label:ANSWERS:/answer.toml installer.yes=1\ninitrd {url}/initrd"),
        );
    std::fs::write(tftp.path().join("boot.ipxe"), script).unwrap();
    m.start().unwrap();
    m.wait_for_console_text("installer: installed generation 1 in", Duration::from_secs(1500)).unwrap();
    m.wait_for_shutdown(Duration::from_secs(180)).expect("the answer powers off");
    let disk = m.disk_path(0).unwrap().to_path_buf();
    let mut b = machine("pxe-dist-512-installed")
        .memory_mib(512)
        .disk(Disk::file(&disk, "qcow2").bootindex(0))
        .start()
        .unwrap();
    b.wait_for_console_text("small512 login:", Duration::from_secs(600)).unwrap();
    b.crash().unwrap();
}

/// A fleet's machine: it boots by PXE (kernel and initrd over HTTP), its stage 1 brings up DHCP
/// and fetches the squashfs over TLS (`root=live:https://…`) from a host server whose certificate
/// the test CA signed (the test image's initrd trusts that CA); the live system fetches the answer
/// the same server keeps for its serial number (`installer.answer=https://…/${serial}.toml`,
/// pinned by `installer.answer_sha256=`), installs with no hands and powers off; its disk then
/// boots.
#[test]
fn a_fleet_machine_netboots_and_installs_a_pinned_answer_over_https_with_no_hands() {
    let nb = netboot_dir();
    let ca = TestAssets::load().unwrap().test_ca.expect("the test CA (cargo xtask assets makes it)");
    let srv = tempfile::tempdir().unwrap();
    let (reports, report_port) = vm_harness::http::recording_server();
    let answer = format!(
        "version = 1\n[system]\nhostname = \"pxe7\"\n[nix]\nextra = \"boot.loader.timeout = 1;\"\n\
         [finish]\naction = \"poweroff\"\n\
         [report]\nurl = \"http://10.0.2.2:{report_port}/report\"\ntoken = \"report-token\"\n\
         [secrets]\nreport-token = \"tok-pxe7\"\n\
         [[storage.disk]]\nmatch = {{ serial = \"TARGET\" }}\n[[storage.disk.partition]]\nsize = \"1MiB\"\n\
         type = \"bios-boot\"\n[[storage.disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\n\
         content = {{ type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }}\n"
    );
    std::fs::write(srv.path().join("PXE-0007.toml"), &answer).unwrap();
    std::os::unix::fs::symlink(nb.join("filesystem.squashfs"), srv.path().join("filesystem.squashfs"))
        .unwrap();
    let out = std::process::Command::new("sha256sum").arg(srv.path().join("PXE-0007.toml")).output().unwrap();
    let pin = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string();
    let server = vm_harness::testca::serve(srv.path(), &ca).unwrap();
    let port = server.port;
    let tftp = tempfile::tempdir().unwrap();
    let mut m = live("pxe-fleet")
        .memory_mib(1536)
        .net(vm_harness::Net::user().tftp(tftp.path(), "boot.ipxe").http_dir(&nb).bootindex(0))
        .smbios("type=1,serial=PXE-0007")
        .disk(Disk::new_qcow2(4 << 30).serial("TARGET"))
        .build()
        .unwrap();
    let url = m.http_url().unwrap();
    let params = format!(
        "installer.answer=https://10.0.2.2:{port}/${{serial}}.toml installer.answer_sha256={pin} installer.yes=1"
    );
    std::fs::write(
        tftp.path().join("boot.ipxe"),
        format!(
            "#!ipxe\nkernel {url}/bzImage initrd=initrd-http root=live:https://10.0.2.2:{port}/filesystem.squashfs console=ttyS0,115200 {params}\ninitrd {url}/initrd-http\nboot\n"
        ),
    )
    .unwrap();
    m.start().unwrap();
    m.wait_for_console_text(
        &format!("stage-1: downloading https://10.0.2.2:{port}/filesystem.squashfs"),
        Duration::from_secs(600),
    )
    .unwrap();
    m.wait_for_console_text(
        &format!("installer: https://10.0.2.2:{port}/PXE-0007.toml: its SHA-256 matches"),
        Duration::from_secs(600),
    )
    .unwrap();
    m.wait_for_console_text("installer: installed generation 1 in", Duration::from_secs(900)).unwrap();
    m.wait_for_shutdown(Duration::from_secs(180)).expect("the answer powers off");
    // The answer's `[report]` endpoint got every step's start and end, in order, with the token.
    let got = reports.lock().unwrap().clone();
    assert!(!got.is_empty() && got.iter().all(|(auth, _)| auth == "Bearer tok-pxe7"), "{got:?}");
    let steps: Vec<(String, u64)> = got
        .iter()
        .filter_map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).ok()?;
            let e = v["event"].as_str()?;
            e.starts_with("step-").then(|| (e.to_string(), v["n"].as_u64().unwrap_or(0)))
        })
        .collect();
    let total =
        got.iter().find_map(|(_, b)| serde_json::from_str::<serde_json::Value>(b).ok()?["total"].as_u64());
    let expected: Vec<(String, u64)> = (1..=total.unwrap_or(0))
        .flat_map(|n| [("step-started".to_string(), n), ("step-finished".to_string(), n)])
        .collect();
    assert_eq!(steps, expected, "{got:?}");
    assert!(total.unwrap_or(0) >= 8, "{got:?}");
    let disk = m.disk_path(0).unwrap().to_path_buf();
    let mut b = machine("pxe-fleet-installed")
        .memory_mib(1024)
        .disk(Disk::file(&disk, "qcow2").bootindex(0))
        .agent_timeout(Duration::from_secs(300))
        .start()
        .unwrap();
    b.wait_for_agent().unwrap();
    assert_eq!(b.succeed("hostname").unwrap().trim(), "pxe7");
}

#[test]
fn ova_unpacks_to_a_consistent_appliance_whose_disk_boots() {
    let ova = iso().parent().unwrap().join("installer.ova");
    let dir = tempfile::tempdir().unwrap();
    let listing = std::process::Command::new("tar").arg("-tf").arg(&ova).output().unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout).lines().map(str::to_string).collect();
    assert_eq!(names, ["installer.ovf", "installer-disk1.vmdk", "installer.mf"], "the OVF comes first");
    assert!(std::process::Command::new("tar")
        .arg("-xf")
        .arg(&ova)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap()
        .success());
    let ovf = std::fs::read_to_string(dir.path().join("installer.ovf")).unwrap();
    let vmdk = dir.path().join("installer-disk1.vmdk");
    let vmdk_size = std::fs::metadata(&vmdk).unwrap().len();
    assert!(ovf.contains("ovf:href=\"installer-disk1.vmdk\""), "{ovf}");
    assert!(
        ovf.contains(&format!("ovf:size=\"{vmdk_size}\"")),
        "OVF size does not match the VMDK ({vmdk_size})"
    );
    assert!(ovf.contains("streamOptimized"));
    let mf = std::fs::read_to_string(dir.path().join("installer.mf")).unwrap();
    for (file, line) in [("installer.ovf", 0), ("installer-disk1.vmdk", 1)] {
        let out = std::process::Command::new("sha256sum").arg(dir.path().join(file)).output().unwrap();
        let sum = String::from_utf8_lossy(&out.stdout).split(' ').next().unwrap().to_string();
        assert_eq!(mf.lines().nth(line).unwrap(), format!("SHA256({file})= {sum}"));
    }
    let info =
        std::process::Command::new("qemu-img").args(["info", "--output=json"]).arg(&vmdk).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(ovf.contains(&format!("ovf:capacity=\"{}\"", info["virtual-size"])), "capacity vs {info}");
    // The VMDK boots as VirtualBox runs the appliance: the hybrid image as a disk on the AHCI
    // controller (what a `dd`-ed image on a SATA disk is too), on a machine that says it is
    // VirtualBox, beside the empty SATA disk a new VirtualBox machine gets.
    let mut m = ready(
        live("ova")
            .virtualbox_smbios()
            .disk(Disk::overlay(&vmdk).interface(DiskInterface::Sata).bootindex(0))
            .disk(Disk::new_qcow2(4 << 30).interface(DiskInterface::Sata).serial("VBOX-HARDDISK")),
    );
    check_live(&mut m, false, "/dev/sd");
    assert_eq!(m.succeed("cat /sys/class/dmi/id/product_name").unwrap().trim(), "VirtualBox");
    let disks = m.succeed("installer disks").unwrap();
    assert!(disks.contains("VBOX-HARDDISK"), "{disks}");
}

/// `findiso=`: the ISO as a file on another disk's filesystem, booted with its kernel and initrd
/// as a boot loader's loopback entry would. The same boot carries an SSH key on the kernel command
/// line (`installer.ssh_key=`), so sshd starts with it (the CD boot shows it stays off without).
#[test]
fn findiso_boots_an_iso_file_on_another_filesystem_and_sshd_starts_with_a_key() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJ1bGVzLWFyZS1tYWRlLXRvLWJlLWJyb2tlbg test@example";
    let iso = iso();
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree/images");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::copy(&iso, tree.join("installer.iso")).unwrap();
    let img = dir.path().join("data.img");
    std::fs::File::create(&img).unwrap().set_len(400 << 20).unwrap();
    let st = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "data", "-d"])
        .arg(dir.path().join("tree"))
        .arg(&img)
        .status()
        .unwrap();
    assert!(st.success());
    let nb = iso.parent().unwrap();
    let label = format!("INSTALLER_{}", env!("CARGO_PKG_VERSION").replace('.', "_"));
    let mut m = live("findiso")
        .kernel(
            nb.join("bzImage"),
            Some(nb.join("initrd")),
            &format!(
                "console=ttyS0 root=live:LABEL={label} findiso=/images/installer.iso installer.ssh_key={}",
                key.replace(' ', "%20")
            ),
        )
        .disk(Disk::file(&img, "raw").serial("DATA"))
        .start()
        .unwrap();
    m.wait_for_console_text("found /images/installer.iso on /dev/vda", BOOT).unwrap();
    m.wait_for_console_text(READY, BOOT).unwrap();
    m.wait_for_agent().unwrap();
    assert_eq!(m.succeed("cat /run/installer/boot-device").unwrap().trim(), "/dev/vda");
    check_kernel_handed_over(&mut m);
    // sshd runs with the key from the kernel command line, and one host key made at this boot.
    m.wait_until_succeeds("systemctl is-active ssh.service", Duration::from_secs(120)).unwrap();
    assert_eq!(m.succeed("cat /root/.ssh/authorized_keys").unwrap().trim(), key);
    assert_eq!(m.succeed("stat -c %a /root/.ssh/authorized_keys").unwrap().trim(), "600");
    // One Ed25519 host key (RSA's prime search cost up to 40 s of the boot), the one sshd offers.
    m.succeed("test -s /etc/ssh/ssh_host_ed25519_key && ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub")
        .unwrap();
    assert_eq!(
        m.succeed("ls /etc/ssh/ | grep '^ssh_host_' | xargs").unwrap().trim(),
        "ssh_host_ed25519_key ssh_host_ed25519_key.pub"
    );
    assert_eq!(
        m.succeed("sshd -T | grep '^hostkey '").unwrap().trim(),
        "hostkey /etc/ssh/ssh_host_ed25519_key"
    );
}

/// The release image is the test image without the agent, and nothing else.
#[test]
fn test_and_release_images_differ_only_in_the_agent_and_the_test_ca() {
    let a = TestAssets::load().unwrap();
    let list = |iso: &PathBuf| -> Vec<String> {
        let sq = iso.parent().unwrap().join("filesystem.squashfs");
        let out = std::process::Command::new("unsquashfs").args(["-l", "-d", ""]).arg(&sq).output().unwrap();
        assert!(out.status.success());
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let test = list(&a.live_iso.clone().unwrap());
    let release = list(&a.release_iso.clone().expect("release image"));
    let only_test: Vec<&String> = test.iter().filter(|p| !release.contains(p)).collect();
    let only_release: Vec<&String> = release.iter().filter(|p| !test.contains(p)).collect();
    assert!(only_release.is_empty(), "{only_release:?}");
    assert_eq!(
        only_test,
        [
            // The test profile's CA (for the HTTPS tests), which the live root carries for
            // `stage1 fetch` as the initrd does for root=live:https://.
            "/etc/ssl",
            "/etc/ssl/installer-ca.pem",
            "/etc/systemd/system/sysinit.target.wants/vm-harness-agent.service",
            "/etc/systemd/system/vm-harness-agent.service",
            "/usr/local/sbin/vm-harness-agent",
        ],
        "the test image differs in more than the agent and the test CA"
    );
    let release_dir = a.release_iso.clone().unwrap().parent().unwrap().to_path_buf();
    // The release ISO's medium carries no agent either (kernel, initrd, squashfs only).
    let iso_list = std::process::Command::new("xorriso")
        .args(["-indev"])
        .arg(a.release_iso.unwrap())
        .args(["-find", "/", "-type", "f"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&iso_list.stdout).contains("agent"));
    // Nor does the release initrd.
    let release_initrd = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("zcat {} | cpio -t 2>/dev/null", release_dir.join("initrd").display()))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&release_initrd.stdout).contains("vm-harness-agent"));
}
