//! `cargo xtask capture-hw [NAME...]`: boots QEMU machines of several kinds (virtio, AHCI, NVMe,
//! USB storage, VirtualBox-branded, virtio-scsi, BIOS and UEFI; RAID1, LVM, LUKS, btrfs, a bind
//! mount and tmpfs), lays out disks with the disk engine, and saves the hardware snapshot that
//! `installer generate-config` reads, as fixtures in `installer/tests/hw/` (all kinds, or those
//! named).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use vm_harness::{Disk, DiskInterface, Net, TestAssets};

struct Kind {
    name: &'static str,
    iface: DiskInterface,
    uefi: bool,
    vbox: bool,
    spec: &'static str,
    /// A second disk, HW2 (for RAID1).
    second_disk: bool,
    /// Shell commands run after the disk engine, before the snapshot (bind mounts, tmpfs).
    after: &'static str,
}

const BIOS_EXT4: &str = r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "HW1" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "256MiB"
type = "swap"
content = { type = "swap" }
[[disk.partition]]
size = "rest"
type = "linux"
content = { type = "filesystem", format = "ext4", label = "nixos", mountpoint = "/" }
"#;

const UEFI_ESP: &str = r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "HW1" }
[[disk.partition]]
size = "100MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot", options = ["fmask=0022", "dmask=0022"] }
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "filesystem"
format = "btrfs"
subvolumes = [{ name = "@", mountpoint = "/" }, { name = "@home", mountpoint = "/home" }]
"#;

const UEFI_LUKS_LVM: &str = r#"
[boot]
firmware = "uefi"
[[disk]]
match = { serial = "HW1" }
[[disk.partition]]
size = "100MiB"
type = "esp"
content = { type = "filesystem", format = "vfat", mountpoint = "/boot" }
[[disk.partition]]
size = "rest"
type = "linux"
[disk.partition.content]
type = "luks"
name = "cryptlvm"
pbkdf = "pbkdf2"
iter_time_ms = 50
passphrase = "disk"
content = { type = "lvm-pv", vg = "vg" }
[[vg]]
name = "vg"
[[vg.lv]]
name = "swap"
size = "128MiB"
content = { type = "swap" }
[[vg.lv]]
name = "root"
size = "rest"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#;

const RAID1: &str = r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "HW1" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "raid"
content = { type = "raid-member", array = "root" }
[[disk]]
match = { serial = "HW2" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "raid"
content = { type = "raid-member", array = "root" }
[[raid]]
name = "root"
level = 1
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
"#;

const LVM: &str = r#"
[boot]
firmware = "bios"
[[disk]]
match = { serial = "HW1" }
[[disk.partition]]
size = "1MiB"
type = "bios-boot"
[[disk.partition]]
size = "rest"
type = "lvm"
content = { type = "lvm-pv", vg = "pool" }
[[vg]]
name = "pool"
[[vg.lv]]
name = "root"
size = "1GiB"
content = { type = "filesystem", format = "ext4", mountpoint = "/" }
[[vg.lv]]
name = "swap"
size = "128MiB"
content = { type = "swap" }
[[vg.lv]]
name = "home"
size = "rest"
content = { type = "filesystem", format = "xfs", mountpoint = "/home" }
"#;

/// A bind mount of a directory of the root onto /data, a tmpfs on /scratch (kept, as
/// nixos-generate-config keeps it) and one on /tmp (dropped: boot.tmpOnTmpfs makes it).
const BIND_AND_TMPFS: &str = "mkdir -p /mnt/srv/data /mnt/data /mnt/scratch /mnt/tmp \
    && mount --bind /mnt/srv/data /mnt/data \
    && mount -t tmpfs -o size=64m,mode=1777 tmpfs /mnt/scratch \
    && mount -t tmpfs tmpfs /mnt/tmp";

const fn kind(name: &'static str, iface: DiskInterface, uefi: bool, spec: &'static str) -> Kind {
    Kind { name, iface, uefi, vbox: false, spec, second_disk: false, after: "" }
}

const KINDS: &[Kind] = &[
    kind("bios-virtio", DiskInterface::Virtio, false, BIOS_EXT4),
    kind("bios-ahci", DiskInterface::Sata, false, BIOS_EXT4),
    kind("bios-usb-storage", DiskInterface::Usb, false, BIOS_EXT4),
    Kind { vbox: true, ..kind("virtualbox-ahci", DiskInterface::Sata, false, BIOS_EXT4) },
    kind("uefi-nvme-btrfs", DiskInterface::Nvme, true, UEFI_ESP),
    kind("uefi-virtio-luks-lvm", DiskInterface::Virtio, true, UEFI_LUKS_LVM),
    Kind { second_disk: true, ..kind("bios-virtio-raid1", DiskInterface::Virtio, false, RAID1) },
    kind("bios-virtio-lvm", DiskInterface::Virtio, false, LVM),
    Kind {
        after: BIND_AND_TMPFS,
        ..kind("q35-virtio-scsi-bind-tmpfs", DiskInterface::Scsi, false, BIOS_EXT4)
    },
];

pub fn capture(workspace: &Path, assets: &TestAssets, installer: &Path, only: &[String]) -> Result<()> {
    if let Some(n) = only.iter().find(|n| !KINDS.iter().any(|k| k.name == n.as_str())) {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        bail!("no machine kind {n:?} (kinds: {})", names.join(", "));
    }
    let out_dir = workspace.join("installer/tests/hw");
    std::fs::create_dir_all(&out_dir)?;
    let tmp = tempfile_dir()?;
    let bin = tmp.join("installer");
    let st = Command::new("strip").arg("-o").arg(&bin).arg(installer).status()?;
    if !st.success() {
        bail!("strip failed");
    }
    let secrets = tmp.join("secrets.toml");
    std::fs::write(&secrets, "disk = \"hw-capture\"\n")?;
    for k in KINDS.iter().filter(|k| only.is_empty() || only.iter().any(|n| n == k.name)) {
        eprintln!("xtask: capturing {}", k.name);
        // A network card too, as real machines have (its interface gets a commented DHCP line).
        let mut b = assets
            .debian_machine(k.name)
            .disk(Disk::new_qcow2(2 << 30).interface(k.iface).serial("HW1"))
            .net(Net::user());
        if k.uefi {
            b = b.uefi();
        }
        if k.vbox {
            b = b.virtualbox_smbios();
        }
        if k.second_disk {
            b = b.disk(Disk::new_qcow2(2 << 30).interface(k.iface).serial("HW2"));
        }
        let mut m = b.start()?;
        m.wait_for_agent()?;
        m.copy_to_guest(&bin, "/usr/local/bin/installer")?;
        m.copy_to_guest(&secrets, "/root/secrets.toml")?;
        let spec = tmp.join("spec.toml");
        std::fs::write(&spec, k.spec)?;
        m.copy_to_guest(&spec, "/root/spec.toml")?;
        m.wait_until_succeeds(
            "udevadm settle && ls /dev/disk/by-id/ | grep -q HW1",
            Duration::from_secs(120),
        )?;
        m.succeed(
            "installer partition --storage /root/spec.toml --secrets /root/secrets.toml --yes >/dev/null",
        )?;
        if !k.after.is_empty() {
            m.succeed(k.after)?;
        }
        m.succeed("udevadm settle && installer generate-config --root /mnt --show-hardware-config --save-snapshot /tmp/snapshot.json >/dev/null")?;
        let local = tmp.join("snapshot.json");
        m.copy_from_guest("/tmp/snapshot.json", &local)?;
        let snap: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&local)?)?;
        let fixture = serde_json::json!({ "root": "/mnt", "snapshot": snap });
        let path = out_dir.join(format!("{}.json", k.name));
        std::fs::write(&path, serde_json::to_string_pretty(&fixture)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
        let _ = m.shutdown();
    }
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("xtask-capture-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
