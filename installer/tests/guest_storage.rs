//! Disk engine tests inside a QEMU guest (the Debian test root with the real kernel), for what the
//! host kernel cannot do: LUKS1/LUKS2, LVM, LVM on LUKS, RAID1 (also an ESP with metadata 1.0),
//! vfat, swap; the safety refusals; a power cut half-way through apply.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{copy_installer, write_guest_file};

use vm_harness::{Disk, Machine, TestAssets};

const PASSPHRASE: &str = "correct horse battery staple 42";

/// Boots the Debian test root with three extra virtio disks: S1, S2 (1 GiB) and S3 (256 MiB, never
/// in a plan), and copies our installer binary (stripped) and a secrets file in.
fn guest(name: &str) -> Machine {
    let assets = TestAssets::load().expect("test assets (run `cargo xtask assets`)");
    let mut m = assets
        .debian_machine(name)
        .disk(Disk::new_qcow2(1 << 30).serial("S1"))
        .disk(Disk::new_qcow2(1 << 30).serial("S2"))
        .disk(Disk::new_qcow2(256 << 20).serial("S3"))
        .start()
        .expect("machine starts");
    m.wait_for_agent().expect("agent answers");
    copy_installer(&mut m);
    write_guest_file(&mut m, "/root/secrets.toml", &format!("disk = \"{PASSPHRASE}\"\n"), 0o600);
    // Serial -> /dev path, as the tests refer to disks by serial.
    m.succeed("udevadm settle && test -e /dev/disk/by-id/virtio-S1 && test -e /dev/disk/by-id/virtio-S3")
        .unwrap();
    m
}

fn write_spec(m: &mut Machine, spec: &str) {
    write_guest_file(m, "/root/spec.toml", spec, 0o644);
}

/// SHA-256 of the image files behind disks `indices` (0: the root squashfs, 1-3: S1-S3), read on
/// the host after the guest flushed its caches: any write by the guest changes them.
fn host_hashes(m: &mut Machine, indices: &[usize]) -> Vec<String> {
    m.succeed("sync").unwrap();
    indices
        .iter()
        .map(|&i| {
            let out = Command::new("sha256sum").arg(m.disk_path(i).unwrap()).output().unwrap();
            String::from_utf8(out.stdout).unwrap().split(' ').next().unwrap().to_string()
        })
        .collect()
}

/// Plans and applies `spec`, checks that the disks `untouched` (indices as in [`host_hashes`]) are
/// unchanged and that the passphrase appears in no log; returns the lsblk JSON of the result.
fn partition(m: &mut Machine, spec: &str, untouched: &[usize]) -> serde_json::Value {
    let before = host_hashes(m, untouched);
    write_spec(m, spec);
    m.succeed("installer plan --storage /root/spec.toml").unwrap();
    let out = m
        .succeed("installer --log /var/log/installer-cmds.log partition --storage /root/spec.toml --secrets /root/secrets.toml --yes 2>/var/log/installer-stderr.log")
        .unwrap();
    assert!(out.contains("\"devices\""), "{out}");
    m.succeed("udevadm settle").unwrap();
    let lsblk = m.succeed("lsblk -J -b -O /dev/vdb /dev/vdc").unwrap();
    assert_eq!(host_hashes(m, untouched), before, "a disk outside the plan changed");
    m.fail(&format!("grep -rqF '{PASSPHRASE}' /var/log/ /tmp /run/installer")).unwrap();
    assert!(!out.contains(PASSPHRASE));
    serde_json::from_str(&lsblk).unwrap()
}

fn teardown(m: &mut Machine) {
    m.succeed("installer teardown --disk /dev/vdb --disk /dev/vdc").unwrap();
    m.succeed("! lsblk -n -o TYPE /dev/vdb /dev/vdc | grep -Eq 'crypt|lvm|raid'").unwrap();
}

fn find<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    fn walk<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
        if v.get("path").and_then(|p| p.as_str()) == Some(path) {
            return Some(v);
        }
        for key in ["blockdevices", "children"] {
            if let Some(arr) = v.get(key).and_then(|c| c.as_array()) {
                for c in arr {
                    if let Some(f) = walk(c, path) {
                        return Some(f);
                    }
                }
            }
        }
        None
    }
    walk(v, path).unwrap_or_else(|| panic!("{path} not in {v}"))
}

fn field<'a>(v: &'a serde_json::Value, path: &str, key: &str) -> &'a str {
    find(v, path).get(key).and_then(|x| x.as_str()).unwrap_or("")
}

/// The signature on `dev` as a low-level probe sees it (no udev database, no cache).
fn fstype(m: &mut Machine, dev: &str) -> String {
    m.succeed(&format!("blkid -p -o value -s TYPE {dev} || true")).unwrap().trim().to_string()
}

#[test]
fn luks_lvm_vfat_swap_in_a_guest() {
    let mut m = guest("storage-luks");
    luks2_root_vfat_esp_and_swap(&mut m);
    lvm_on_luks1(&mut m);
    plain_lvm_on_mbr(&mut m);
}

/// LUKS2 (argon2id) root, vfat ESP, swap partition.
fn luks2_root_vfat_esp_and_swap(m: &mut Machine) {
    let tree = partition(
        m,
        r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "S1" }
[[disk.partition]]
size = "100MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", label = "ESP", mountpoint = "/boot" }
[[disk.partition]]
size = "256MiB"
type = "swap"
content = { type = "swap", label = "swap" }
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "luks"
name = "cryptroot"
passphrase = "disk"
iter_time_ms = 50
content = { type = "filesystem", format = "ext4", label = "root", mountpoint = "/" }
"#,
        &[0, 2, 3],
    );
    assert_eq!(fstype(m, "/dev/vdb1"), "vfat");
    assert_eq!(field(&tree, "/dev/vdb1", "label"), "ESP");
    assert_eq!(fstype(m, "/dev/vdb2"), "swap");
    assert_eq!(fstype(m, "/dev/vdb3"), "crypto_LUKS");
    assert_eq!(fstype(m, "/dev/mapper/cryptroot"), "ext4");
    assert_eq!(m.succeed("cryptsetup luksDump /dev/vdb3 | sed -n 's/^Version:\\s*//p'").unwrap().trim(), "2");
    m.succeed("cryptsetup luksDump /dev/vdb3 | grep -q argon2id").unwrap();
    m.succeed("grep -q '^/dev/vdb2 ' /proc/swaps").unwrap();
    m.succeed("findmnt -n -o FSTYPE /mnt | grep -qx ext4 && findmnt -n -o FSTYPE /mnt/boot | grep -qx vfat")
        .unwrap();
    // The passphrase unlocks it (and was fed on stdin, never on a command line).
    m.succeed(&format!(
        "printf '%s' '{PASSPHRASE}' | cryptsetup open --test-passphrase --key-file=- /dev/vdb3"
    ))
    .unwrap();
    m.succeed(
        "grep -q \"cryptsetup luksFormat .*'--key-file=-' /dev/vdb3 <<< (secret)\" /var/log/installer-cmds.log",
    )
    .unwrap();
    teardown(m);
    m.fail("grep -q '^/dev/vdb2 ' /proc/swaps").unwrap();
}

/// LVM on LUKS1 (PBKDF2, what GRUB reads), across a partition of S1.
fn lvm_on_luks1(m: &mut Machine) {
    partition(
        m,
        r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "S1" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "luks"
name = "cryptlvm"
version = 1
iter_time_ms = 50
passphrase = "disk"
content = { type = "lvm-pv", vg = "vg" }
[[vg]]
name = "vg"
[[vg.lv]]
name = "boot"
size = "200MiB"
content = { type = "filesystem", format = "ext4", mountpoint = "/boot" }
[[vg.lv]]
name = "root"
size = "rest"
content = { type = "filesystem", format = "xfs", mountpoint = "/" }
"#,
        &[0, 2, 3],
    );
    assert_eq!(m.succeed("cryptsetup luksDump /dev/vdb2 | sed -n 's/^Version:\\s*//p'").unwrap().trim(), "1");
    assert_eq!(fstype(m, "/dev/mapper/cryptlvm"), "LVM2_member");
    assert_eq!(fstype(m, "/dev/mapper/vg-root"), "xfs");
    assert_eq!(m.succeed("lvs --noheadings -o lv_name vg | xargs").unwrap().trim(), "boot root");
    teardown(m);
    m.fail("vgs vg 2>/dev/null | grep -q vg && lvs vg | grep -q ' a'").unwrap();
}

/// Plain LVM with root and /home on an MBR disk.
fn plain_lvm_on_mbr(m: &mut Machine) {
    let tree = partition(
        m,
        r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "S2" }
table = "mbr"
[[disk.partition]]
size = "rest"
type = "lvm"
content = { type = "lvm-pv", vg = "pool" }
[[vg]]
name = "pool"
[[vg.lv]]
name = "root"
size = "600MiB"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
[[vg.lv]]
name = "home"
size = "rest"
content = { type = "filesystem", format = "ext4", mountpoint = "/home" }
"#,
        &[0, 1, 3],
    );
    assert_eq!(field(&tree, "/dev/vdc", "pttype"), "dos");
    assert_eq!(fstype(m, "/dev/mapper/pool-home"), "ext4");
    let src = m.succeed("findmnt -n -o MAJ:MIN /mnt/home").unwrap();
    assert_eq!(src.trim(), m.succeed("lsblk -n -d -o MAJ:MIN /dev/pool/home").unwrap().trim());
    teardown(m);
}

#[test]
fn raid1_root_and_esp_in_a_guest() {
    let mut m = guest("storage-raid");
    let member = |serial: &str| {
        format!(
            r#"
[[disk]]
match = {{ serial = "{serial}" }}
[[disk.partition]]
size = "100MiB"
type = "esp"
content = {{ type = "raid-member", array = "esp" }}
[[disk.partition]]
size = "rest"
type = "raid"
content = {{ type = "raid-member", array = "root" }}
"#
        )
    };
    let spec = format!(
        "[boot]\nfirmware = \"uefi\"\nbootloader = \"grub\"\n{}{}\n{}",
        member("S1"),
        member("S2"),
        r#"
[[raid]]
name = "esp"
level = 1
metadata = "1.0"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot/efi" }
[[raid]]
name = "root"
level = 1
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#
    );
    partition(&mut m, &spec, &[0, 3]);
    assert_eq!(fstype(&mut m, "/dev/vdb2"), "linux_raid_member");
    assert_eq!(fstype(&mut m, "/dev/vdc2"), "linux_raid_member");
    let detail = m.succeed("mdadm --detail /dev/md/root").unwrap();
    assert!(
        detail.contains("Raid Level : raid1") && detail.contains("/dev/vdb2") && detail.contains("/dev/vdc2"),
        "{detail}"
    );
    assert!(m.succeed("mdadm --detail /dev/md/esp").unwrap().contains("Version : 1.0"));
    // Metadata 1.0 sits at the end: firmware sees a plain FAT filesystem on each member.
    m.succeed("blkid -p -o value -s TYPE -u filesystem /dev/vdb1 | grep -qx vfat || file -s /dev/vdb1 | grep -qi fat").unwrap();
    m.succeed("findmnt -n -o FSTYPE /mnt/boot/efi | grep -qx vfat").unwrap();
    teardown(&mut m);
    m.fail("test -e /dev/md/root").unwrap();
}

#[test]
fn refusals_in_a_guest_touch_nothing() {
    let mut m = guest("storage-safety");
    let before = host_hashes(&mut m, &[0, 1, 2, 3]);
    // The disk holding the boot medium.
    write_spec(
        &mut m,
        "[boot]\nbootloader = \"none\"\n[[disk]]\nmatch = { serial = \"vmh-root\" }\ntable = \"mbr\"\n[[disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\ncontent = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n",
    );
    let (status, _) =
        m.execute("installer partition --storage /root/spec.toml --yes > /tmp/out 2>&1").unwrap();
    assert_ne!(status, 0);
    let out = m.succeed("cat /tmp/out").unwrap();
    assert!(out.contains("boot") && out.contains("refusing"), "{out}");
    // A disk with a mounted filesystem.
    // Read-only, so that the mount itself writes nothing and the hashes can be compared.
    m.succeed("mkfs.ext4 -q /dev/vdb && mkdir -p /srv/data").unwrap();
    let before_vdb = host_hashes(&mut m, &[1]);
    m.succeed("mount -o ro /dev/vdb /srv/data").unwrap();
    write_spec(
        &mut m,
        "[boot]\nbootloader = \"none\"\n[[disk]]\nmatch = { serial = \"S1\" }\ntable = \"mbr\"\n[[disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\ncontent = { type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }\n",
    );
    let (status, _) =
        m.execute("installer partition --storage /root/spec.toml --yes > /tmp/out 2>&1").unwrap();
    assert_ne!(status, 0);
    let out = m.succeed("cat /tmp/out").unwrap();
    assert!(out.contains("busy") && out.contains("/srv/data"), "{out}");
    m.succeed("umount /srv/data").unwrap();
    assert_eq!(host_hashes(&mut m, &[1]), before_vdb, "the refused disk was written");
    // `installer auto` with a sample of the golden bad answer files (every class that selects a
    // disk of this machine, the empty selectors among them) refuses each before any write.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/answers");
    let mut bad: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("bad-") && n.ends_with(".toml"))
        .collect();
    bad.sort();
    let sample: Vec<&String> = bad
        .iter()
        .enumerate()
        .filter(|(i, n)| {
            i % 16 == 0
                || n.starts_with("bad-selector-")
                || n.starts_with("bad-secret-missing")
                || n.starts_with("bad-secret-inline")
        })
        .map(|(_, n)| n)
        .collect();
    assert!(sample.len() >= 20, "{} sampled", sample.len());
    m.succeed("mkdir -p /root/bad").unwrap();
    for name in &sample {
        let text = std::fs::read_to_string(dir.join(name.as_str())).unwrap();
        write_guest_file(&mut m, &format!("/root/bad/{name}"), &text, 0o600);
        let (status, out) = m
            .execute(&format!("cd /root/bad && installer auto --answer {name} --yes --no-finish 2>&1"))
            .unwrap();
        assert_ne!(status, 0, "{name} was accepted:\n{out}");
        assert!(out.contains(&format!("{name}:")), "{name}: no file:line:col in\n{out}");
    }
    assert_eq!(host_hashes(&mut m, &[1]), before_vdb, "a bad answer file wrote to a disk");
    let after = host_hashes(&mut m, &[0, 1, 2, 3]);
    assert_eq!((&after[0], &after[2], &after[3]), (&before[0], &before[2], &before[3]), "a disk changed");
    // `installer disks` shows the boot medium as such.
    let disks = m.succeed("installer disks").unwrap();
    assert!(disks.lines().any(|l| l.starts_with("/dev/vda") && l.contains("boot medium")), "{disks}");
}

#[test]
fn reapply_after_a_power_cut_between_partitioning_and_mkfs() {
    let mut m = guest("storage-crash");
    let spec = r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "S1" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "luks"
name = "cryptroot"
pbkdf = "pbkdf2"
iter_time_ms = 50
passphrase = "disk"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#;
    write_spec(&mut m, spec);
    m.succeed(
        "INSTALLER_FAILPOINT=after:partition nohup installer partition --storage /root/spec.toml --secrets /root/secrets.toml --yes >/tmp/first.log 2>&1 &",
    )
    .unwrap();
    m.wait_until_succeeds("test -e /run/installer/failpoint", Duration::from_secs(300)).unwrap();
    m.succeed("sync").unwrap();
    m.crash().unwrap();
    m.start().unwrap();
    m.wait_for_agent().unwrap();
    // The live system runs from RAM: what was copied in before the power cut is gone.
    copy_installer(&mut m);
    write_guest_file(&mut m, "/root/secrets.toml", &format!("disk = \"{PASSPHRASE}\"\n"), 0o600);
    m.succeed("udevadm settle").unwrap();
    // The partition table of the first run survived the power cut.
    assert_eq!(m.succeed("blkid -p -o value -s PTTYPE /dev/vdb").unwrap().trim(), "gpt");
    partition(&mut m, spec, &[0, 2, 3]);
    assert_eq!(fstype(&mut m, "/dev/vdb2"), "crypto_LUKS");
    assert_eq!(fstype(&mut m, "/dev/mapper/cryptroot"), "ext4");
    let src = m.succeed("findmnt -n -o MAJ:MIN /mnt").unwrap();
    assert_eq!(src.trim(), m.succeed("lsblk -n -d -o MAJ:MIN /dev/mapper/cryptroot").unwrap().trim());
    assert!(Path::new(m.serial_log()).exists());
}
