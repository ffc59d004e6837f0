//! Apply tests on loop devices on the host (root needed; the host kernel has ext4, xfs and btrfs
//! but no device-mapper, md or vfat: those are tested in a guest, see `tests/` at the top level).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use installer::storage::apply::{apply, teardown};
use installer::storage::probe::probe_system;
use installer::storage::{plan, StorageSpec};

struct Loop {
    dev: String,
    _dir: tempfile::TempDir,
}

impl Loop {
    fn new(size_mib: u64) -> Loop {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        std::fs::File::create(&img).unwrap().set_len(size_mib << 20).unwrap();
        let out = Command::new("losetup").args(["-f", "-P", "--show"]).arg(&img).output().unwrap();
        assert!(out.status.success(), "losetup: {}", String::from_utf8_lossy(&out.stderr));
        Loop { dev: String::from_utf8(out.stdout).unwrap().trim().to_string(), _dir: dir }
    }
    fn sha256(&self) -> String {
        let out = Command::new("sha256sum").arg(&self.dev).output().unwrap();
        String::from_utf8(out.stdout).unwrap().split(' ').next().unwrap().to_string()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// (mount point, type, mount options) of the mounts at or below `root`, in mount order.
fn mounts_under(root: &Path) -> Vec<(String, String, String)> {
    let r = root.to_string_lossy().to_string();
    runner::mountinfo::read()
        .unwrap()
        .into_iter()
        .filter(|m| m.mountpoint.starts_with(&r))
        .map(|m| (m.mountpoint, m.fstype, m.options.join(",")))
        .collect()
}

fn run(spec: &str, target: &Path) -> installer::storage::apply::Applied {
    let spec = StorageSpec::from_toml(spec).unwrap();
    let probe = probe_system().unwrap();
    let plan = plan(&spec, &probe, target).unwrap_or_else(|e| panic!("{e}"));
    apply(&plan, &BTreeMap::new(), &probe_system).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A mount root that is unmounted again even when a test fails half-way.
struct Target(tempfile::TempDir);

impl Drop for Target {
    fn drop(&mut self) {
        let _ = teardown(&self.0.path().join("mnt"), &[]);
    }
}

fn target() -> (Target, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let t = d.path().join("mnt");
    (Target(d), t)
}

#[test]
fn gpt_ext4_and_xfs_mounted_in_tree_order_other_disk_untouched() {
    let disk = Loop::new(1024);
    let other = Loop::new(64);
    sh(&format!("printf 'precious data' | dd of={} bs=512 seek=100 conv=notrunc 2>/dev/null", other.dev));
    let before = other.sha256();
    let (_d, t) = target();
    let spec = format!(
        r#"
[boot]
bootloader = "none"
[[disk]]
match = {{ path = "{}" }}
[[disk.partition]]
name = "boot"
size = "300MiB"
type = "linux"
content = {{ type = "filesystem", format = "ext4", label = "boot", mountpoint = "/boot" }}
[[disk.partition]]
name = "root"
size = "rest"
type = "linux"
content = {{ type = "filesystem", format = "xfs", label = "root", mountpoint = "/", options = ["noatime"] }}
"#,
        disk.dev
    );
    let made = run(&spec, &t);
    let p1 = format!("{}p1", disk.dev);
    let p2 = format!("{}p2", disk.dev);
    let by_path = |p: &str| {
        made.devices.iter().find(|d| d.path == p).unwrap_or_else(|| panic!("{p} not in {made:?}")).clone()
    };
    assert_eq!(by_path(&p1).fstype.as_deref(), Some("ext4"));
    assert_eq!(by_path(&p1).label.as_deref(), Some("boot"));
    assert_eq!(by_path(&p2).fstype.as_deref(), Some("xfs"));
    assert!(by_path(&p2).uuid.is_some() && by_path(&p2).partuuid.is_some());
    // GPT as written by the gpt crate, read back by the kernel and lsblk.
    let entry = sh(&format!("blkid -p -o export {p1}"));
    assert!(
        entry.contains("PART_ENTRY_NAME=boot")
            && entry.contains("PART_ENTRY_TYPE=0fc63daf-8483-4772-8e79-3d69d8477de4"),
        "{entry}"
    );
    assert_eq!(sh(&format!("blkid -p -o value -s PTTYPE {}", disk.dev)).trim(), "gpt");
    let mounts = mounts_under(&t);
    let root = t.to_string_lossy().to_string();
    assert_eq!(mounts[0].0, root, "/ must be mounted first: {mounts:?}");
    assert_eq!(mounts[0].1, "xfs");
    assert!(mounts[0].2.contains("noatime"));
    assert_eq!(mounts[1].0, format!("{root}/boot"));
    assert_eq!(other.sha256(), before, "a disk outside the plan changed");
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
    assert!(mounts_under(&t).is_empty());
}

#[test]
fn mbr_with_logical_partitions_and_btrfs_subvolumes() {
    let disk = Loop::new(1200);
    let (_d, t) = target();
    let spec = format!(
        r#"
[boot]
bootloader = "none"
[[disk]]
match = {{ path = "{}" }}
table = "mbr"
[[disk.partition]]
size = "400MiB"
type = "linux"
bootable = true
[disk.partition.content]
type = "filesystem"
format = "btrfs"
label = "nixos"
subvolumes = [{{ name = "@", mountpoint = "/" }}, {{ name = "@home", mountpoint = "/home" }}]
[[disk.partition]]
size = "100MiB"
type = "linux"
content = {{ type = "filesystem", format = "ext4", mountpoint = "/var" }}
[[disk.partition]]
size = "100MiB"
type = "linux"
content = {{ type = "filesystem", format = "ext4", mountpoint = "/srv" }}
[[disk.partition]]
size = "100MiB"
type = "linux"
content = {{ type = "filesystem", format = "ext4", mountpoint = "/opt" }}
[[disk.partition]]
size = "rest"
type = "linux"
content = {{ type = "filesystem", format = "ext4", label = "last", mountpoint = "/data" }}
"#,
        disk.dev
    );
    let made = run(&spec, &t);
    assert_eq!(sh(&format!("blkid -p -o value -s PTTYPE {}", disk.dev)).trim(), "dos");
    // 1-3 primary, 4 extended, 5 and 6 logical.
    let p6 = made.devices.iter().find(|d| d.path == format!("{}p6", disk.dev)).expect("logical partition 6");
    assert_eq!(p6.label.as_deref(), Some("last"));
    let types = sh(&format!("partx -g -o NR,TYPE {}", disk.dev));
    assert!(
        types.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["4", "0x5"]),
        "no extended partition 4: {types}"
    );
    let subvols = sh(&format!("btrfs subvolume list {}", t.display()));
    assert!(subvols.contains("path @\n") || subvols.contains("path @home"), "{subvols}");
    let mounts = mounts_under(&t);
    assert!(mounts.iter().any(|(mp, fs, _)| mp.ends_with("/home") && fs == "btrfs"), "{mounts:?}");
    let home = t.join("home").to_string_lossy().to_string();
    assert!(
        runner::mountinfo::read().unwrap().iter().any(|m| m.root == "/@home" && m.mountpoint == home),
        "@home not mounted on /home"
    );
    // Active MBR boot flag on partition 1.
    let boot = sh(&format!("dd if={} bs=1 skip=446 count=1 2>/dev/null | od -An -tx1", disk.dev));
    assert_eq!(boot.trim(), "80");
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
}

#[test]
fn second_apply_after_an_interrupted_one_succeeds() {
    let disk = Loop::new(512);
    let (_d, t) = target();
    let spec = format!(
        r#"
[boot]
bootloader = "none"
[[disk]]
match = {{ path = "{}" }}
[[disk.partition]]
size = "rest"
type = "linux"
content = {{ type = "filesystem", format = "ext4", mountpoint = "/" }}
"#,
        disk.dev
    );
    let first = run(&spec, &t);
    // The first run "crashed" after mounting: the target is still mounted. The same spec again
    // must tear that down and finish.
    let probe = probe_system().unwrap();
    assert!(!probe.disk(&disk.dev).unwrap().busy.is_empty(), "the target should look busy");
    let spec_v = StorageSpec::from_toml(&spec).unwrap();
    // Planning refuses a busy disk...
    assert!(plan(&spec_v, &probe, &t).is_err());
    // ...so the recovery is teardown + apply, which is what apply itself starts with.
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
    let second = run(&spec, &t);
    let uuid = |a: &installer::storage::apply::Applied| {
        a.devices.iter().find(|d| d.fstype.as_deref() == Some("ext4")).and_then(|d| d.uuid.clone())
    };
    assert_ne!(uuid(&first), uuid(&second), "the filesystem was not made again");
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
}

#[test]
fn apply_refuses_when_the_disk_changed_since_planning() {
    let disk = Loop::new(256);
    let (_d, t) = target();
    let spec = StorageSpec::from_toml(&format!(
        "[boot]\nbootloader = \"none\"\n[[disk]]\nmatch = {{ path = \"{}\" }}\n[[disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\ncontent = {{ type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }}\n",
        disk.dev
    ))
    .unwrap();
    let mut probe = probe_system().unwrap();
    let mut p = plan(&spec, &probe, &t).unwrap();
    // Pretend the plan was made for another disk of the same path.
    p.disks[0].identity.size += 1 << 20;
    let before = disk.sha256();
    let err = apply(&p, &BTreeMap::new(), &probe_system).unwrap_err();
    assert!(format!("{err:#}").contains("changed since the plan was made"), "{err:#}");
    assert_eq!(disk.sha256(), before, "apply wrote to a disk it refused");
    // A missing secret is refused before anything is touched, too.
    probe.disks.retain(|d| d.path == disk.dev);
    let luks = StorageSpec::from_toml(&format!(
        "[boot]\nbootloader = \"none\"\n[[disk]]\nmatch = {{ path = \"{}\" }}\n[[disk.partition]]\nsize = \"rest\"\ntype = \"linux\"\ncontent = {{ type = \"luks\", name = \"x\", passphrase = \"nope\", content = {{ type = \"filesystem\", format = \"ext4\", mountpoint = \"/\" }} }}\n",
        disk.dev
    ))
    .unwrap();
    let p = plan(&luks, &probe, &t).unwrap();
    let err = apply(&p, &BTreeMap::new(), &probe_system).unwrap_err();
    assert!(err.to_string().contains("was not given") && !err.to_string().contains("nope"), "{err:#}");
    assert_eq!(disk.sha256(), before);
}

#[test]
fn preserved_partition_keeps_its_data_across_a_reinstall() {
    let disk = Loop::new(600);
    let (_d, t) = target();
    let layout = |keep: bool| {
        format!(
            r#"
[boot]
bootloader = "none"
[[disk]]
match = {{ path = "{}" }}
[[disk.partition]]
size = "200MiB"
type = "linux"
content = {{ type = "filesystem", format = "ext4", label = "root", mountpoint = "/" }}
[[disk.partition]]
size = "rest"
type = "linux"
preserve = {keep}
content = {{ type = "filesystem", format = "ext4", label = "home", mountpoint = "/home" }}
"#,
            disk.dev
        )
    };
    let first = run(&layout(false), &t);
    std::fs::write(t.join("home/keep.txt"), "user data").unwrap();
    std::fs::write(t.join("etc-old"), "old root").unwrap();
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
    let second = run(&layout(true), &t);
    assert_eq!(
        std::fs::read_to_string(t.join("home/keep.txt")).unwrap(),
        "user data",
        "kept partition lost data"
    );
    assert!(!t.join("etc-old").exists(), "the root partition was not formatted again");
    let uuid = |a: &installer::storage::apply::Applied, label: &str| {
        a.devices.iter().find(|d| d.label.as_deref() == Some(label)).and_then(|d| d.uuid.clone()).unwrap()
    };
    assert_eq!(uuid(&first, "home"), uuid(&second, "home"));
    assert_ne!(uuid(&first, "root"), uuid(&second, "root"));
    teardown(&t, std::slice::from_ref(&disk.dev)).unwrap();
}
