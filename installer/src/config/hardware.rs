//! `generate-config`: hardware detection (the facts nixos-generate-config reads, gathered from
//! `/sys`, `/proc` and `/dev/disk` into a [`Snapshot`]) and the two files it writes.
//! Detection is a pure function of the snapshot, so captured snapshots are golden-testable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::nix_syntax::{string as nix_str, string_list as nix_list};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PciDevice {
    pub slot: String,
    /// e.g. 0x010601 (AHCI).
    pub class: u32,
    pub vendor: u16,
    pub device: u16,
    /// The kernel module bound to it (driver/module); none for built-in drivers.
    pub module: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsbInterface {
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
    pub module: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockDevice {
    pub name: String,
    /// `MAJ:MIN`, as in mountinfo.
    pub devno: String,
    pub module: Option<String>,
    pub dm_name: Option<String>,
    pub dm_uuid: Option<String>,
    pub slaves: Vec<String>,
    pub uuid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    pub pci: Vec<PciDevice>,
    pub usb: Vec<UsbInterface>,
    pub block: Vec<BlockDevice>,
    pub mmc_modules: Vec<String>,
    pub cpu_vendor: String,
    pub cpu_flags: Vec<String>,
    pub cpus: u32,
    pub sys_vendor: String,
    pub product_name: String,
    pub uefi: bool,
    pub mountinfo: String,
    pub swaps: String,
    /// Network interfaces but `lo` (`/sys/class/net`), for the commented per-interface DHCP lines.
    #[serde(default)]
    pub net: Vec<String>,
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

fn hex<T: TryFrom<u64>>(s: Option<String>) -> Option<T> {
    let s = s?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok().and_then(|v| T::try_from(v).ok())
}

fn link_name(p: &Path) -> Option<String> {
    std::fs::read_link(p).ok()?.file_name().map(|n| n.to_string_lossy().to_string())
}

/// The module behind a sysfs device directory (`driver/module`); none for built-in drivers.
fn module_of(dev: &Path) -> Option<String> {
    link_name(&dev.join("driver/module"))
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

impl Snapshot {
    /// Reads the running machine (`sys`, `proc` and `dev` are normally `/sys`, `/proc`, `/dev`).
    pub fn from_system() -> Snapshot {
        let sys = Path::new("/sys");
        let mut s = Snapshot::default();
        for d in entries(&sys.join("bus/pci/devices")) {
            s.pci.push(PciDevice {
                slot: d.file_name().unwrap_or_default().to_string_lossy().to_string(),
                class: hex(read(&d.join("class"))).unwrap_or(0),
                vendor: hex(read(&d.join("vendor"))).unwrap_or(0),
                device: hex(read(&d.join("device"))).unwrap_or(0),
                module: module_of(&d),
            });
        }
        for d in entries(&sys.join("bus/usb/devices")) {
            if let Some(class) = hex::<u8>(read(&d.join("bInterfaceClass"))) {
                s.usb.push(UsbInterface {
                    class,
                    subclass: hex(read(&d.join("bInterfaceSubClass"))).unwrap_or(0),
                    protocol: hex(read(&d.join("bInterfaceProtocol"))).unwrap_or(0),
                    module: module_of(&d),
                });
            }
        }
        let by_uuid: BTreeMap<String, String> = entries(Path::new("/dev/disk/by-uuid"))
            .into_iter()
            .filter_map(|p| {
                let target = std::fs::canonicalize(&p).ok()?;
                Some((
                    target.file_name()?.to_string_lossy().to_string(),
                    p.file_name()?.to_string_lossy().to_string(),
                ))
            })
            .collect();
        for d in entries(&sys.join("class/block")) {
            let name = d.file_name().unwrap_or_default().to_string_lossy().to_string();
            if name.starts_with("loop") || name.starts_with("ram") {
                continue;
            }
            let uuid = by_uuid.get(&name).cloned().or_else(|| {
                let out = runner::Cmd::new("reading a filesystem UUID", "blkid")
                    .args(["-p", "-o", "value", "-s", "UUID", &format!("/dev/{name}")])
                    .ok_codes(&[2])
                    .run()
                    .ok()?;
                Some(out.stdout.trim().to_string()).filter(|u| !u.is_empty())
            });
            s.block.push(BlockDevice {
                devno: read(&d.join("dev")).unwrap_or_default(),
                module: module_of(&d.join("device")),
                dm_name: read(&d.join("dm/name")),
                dm_uuid: read(&d.join("dm/uuid")),
                slaves: entries(&d.join("slaves"))
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
                    .collect(),
                uuid,
                name,
            });
        }
        for d in entries(&sys.join("class/mmc_host")) {
            if let Some(m) = module_of(&d.join("device")) {
                s.mmc_modules.push(m);
            }
        }
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        s.cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count() as u32;
        for line in cpuinfo.lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim() {
                    "vendor_id" if s.cpu_vendor.is_empty() => s.cpu_vendor = v.trim().to_string(),
                    "flags" if s.cpu_flags.is_empty() => {
                        s.cpu_flags = v.split_whitespace().map(str::to_string).collect()
                    }
                    _ => {}
                }
            }
        }
        s.sys_vendor = read(&sys.join("class/dmi/id/sys_vendor")).unwrap_or_default();
        s.product_name = read(&sys.join("class/dmi/id/product_name")).unwrap_or_default();
        s.uefi = sys.join("firmware/efi").exists();
        s.mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        s.swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
        s.net = entries(&sys.join("class/net"))
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .filter(|n| n != "lo")
            .collect();
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Virt {
    None,
    Qemu,
    VirtualBox,
    HyperV,
}

pub fn detect_virt(s: &Snapshot) -> Virt {
    let vendor = s.sys_vendor.as_str();
    let product = s.product_name.as_str();
    if product == "VirtualBox" || vendor == "innotek GmbH" || s.pci.iter().any(|p| p.vendor == 0x80ee) {
        Virt::VirtualBox
    } else if vendor == "Microsoft Corporation" && product == "Virtual Machine" {
        Virt::HyperV
    } else if vendor == "QEMU"
        || product.contains("KVM")
        || (s.cpu_flags.iter().any(|f| f == "hypervisor") && s.pci.iter().any(|p| p.vendor == 0x1af4))
    {
        Virt::Qemu
    } else {
        Virt::None
    }
}

const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "pstore",
    "efivarfs",
    "bpf",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "ramfs",
    "overlay",
    "squashfs",
    "iso9660",
    "fuse.gvfsd-fuse",
];

/// What generate-config found, rendered by [`hardware_configuration`].
#[derive(Debug, Default)]
pub struct Findings {
    pub imports: Vec<String>,
    pub initrd_available: Vec<String>,
    pub initrd_modules: Vec<String>,
    pub kernel_modules: Vec<String>,
    /// The last lines (`nixpkgs.hostPlatform`, microcode, guest additions, swraid), in order.
    pub attrs: Vec<String>,
    /// Whether filesystems and swap were looked at (not with `--no-filesystems`).
    pub filesystems: bool,
    /// (mount point, device, type, options), in the mount table's order.
    pub file_systems: Vec<(String, String, String, Vec<String>)>,
    pub luks: Vec<LuksDevice>,
    pub swaps: Vec<String>,
    /// Network interfaces, for the commented per-interface DHCP lines.
    pub net: Vec<String>,
}

/// A LUKS device under a filesystem or swap device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuksDevice {
    /// Its device-mapper name.
    pub name: String,
    /// Its stable path.
    pub device: String,
    /// The mount point of the first filesystem it backs, whose entry it follows (none: it backs
    /// only swap, and comes after the filesystems).
    pub after: Option<String>,
}

/// The system the configuration is for: the evaluator and the live system are x86_64 Linux.
pub const HOST_PLATFORM: &str = "x86_64-linux";

/// Mount points whose filesystems are the running system's own, never the configuration's.
fn is_special(mountpoint: &str) -> bool {
    let under = |d: &str| mountpoint == d || mountpoint.starts_with(&format!("{d}/"));
    ["/proc", "/dev", "/sys", "/run"].iter().any(|d| under(d)) || mountpoint == "/var/lib/nfs/rpc_pipefs"
}

fn push_unique(v: &mut Vec<String>, s: impl Into<String>) {
    let s = s.into();
    if !v.contains(&s) {
        v.push(s);
    }
}

/// The hardware and filesystems of `snapshot`, for a system to be mounted at `root`.
pub fn detect(s: &Snapshot, root: &Path, filesystems: bool) -> Findings {
    let mut f = Findings { net: s.net.clone(), ..Default::default() };
    f.attrs.push(format!("nixpkgs.hostPlatform = lib.mkDefault {};", nix_str(HOST_PLATFORM)));
    initrd_modules(s, &mut f);
    virtualisation(s, &mut f);
    if !filesystems {
        return f;
    }
    f.filesystems = true;
    let devices = Devices { block: &s.block };
    let mut chains = vec![];
    file_systems(s, &devices, root, &mut f, &mut chains);
    swaps(s, &devices, &mut f, &mut chains);
    stacks(&devices, &chains, &mut f);
    f
}

/// The modules stage 1 needs for storage (PCI mass storage and USB controllers, USB storage and
/// keyboards, block devices' drivers, MMC) and kvm.
fn initrd_modules(s: &Snapshot, f: &mut Findings) {
    for p in &s.pci {
        let class = p.class >> 8;
        let wanted = (class >> 8) == 0x01 || class == 0x0c00 || class == 0x0c03;
        if let (true, Some(m)) = (wanted, &p.module) {
            push_unique(&mut f.initrd_available, m.clone());
        }
        if p.vendor == 0x1af4 && (p.device == 0x1004 || p.device == 0x1048) {
            push_unique(&mut f.initrd_available, "virtio_scsi");
        }
    }
    for u in &s.usb {
        if u.class == 0x08 || (u.class == 0x03 && u.subclass == 0x01 && u.protocol == 0x01) {
            if let Some(m) = &u.module {
                push_unique(&mut f.initrd_available, m.clone());
            }
        }
    }
    for m in s.block.iter().filter_map(|b| b.module.as_ref()).chain(&s.mmc_modules) {
        push_unique(&mut f.initrd_available, m.clone());
    }
    if s.cpu_flags.iter().any(|x| x == "vmx") {
        push_unique(&mut f.kernel_modules, "kvm-intel");
    }
    if s.cpu_flags.iter().any(|x| x == "svm") {
        push_unique(&mut f.kernel_modules, "kvm-amd");
    }
}

/// Guest support for the hypervisor, or on bare metal the microcode.
fn virtualisation(s: &Snapshot, f: &mut Findings) {
    match detect_virt(s) {
        Virt::VirtualBox => f.attrs.push("virtualisation.virtualbox.guest.enable = true;".into()),
        Virt::HyperV => f.attrs.push("virtualisation.hypervGuest.enable = true;".into()),
        Virt::Qemu => f.imports.push("(modulesPath + \"/profiles/qemu-guest.nix\")".into()),
        Virt::None => {
            f.imports.push("<nixpkgs/nixos/modules/installer/scan/not-detected.nix>".into());
            if s.cpu_vendor == "GenuineIntel" {
                f.attrs.push("hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;".into());
            } else if s.cpu_vendor == "AuthenticAMD" {
                f.attrs.push("hardware.cpu.amd.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;".into());
            }
        }
    }
}

/// The block devices of the snapshot, looked up.
struct Devices<'a> {
    block: &'a [BlockDevice],
}

/// A block device under a filesystem or swap device, with the mount point it is under.
type Chain<'a> = (&'a BlockDevice, Option<String>);

impl<'a> Devices<'a> {
    fn by_devno(&self, devno: &str) -> Option<&'a BlockDevice> {
        self.block.iter().find(|b| b.devno == devno)
    }

    fn by_name(&self, name: &str) -> Option<&'a BlockDevice> {
        self.block.iter().find(|b| b.name == name)
    }

    /// The stable name of a block device: /dev/mapper/<name> for device-mapper, else by-uuid.
    fn stable(b: &BlockDevice, fallback: &str) -> String {
        if let Some(n) = &b.dm_name {
            format!("/dev/mapper/{n}")
        } else if let Some(u) = &b.uuid {
            format!("/dev/disk/by-uuid/{u}")
        } else {
            fallback.to_string()
        }
    }

    /// `b` and every device below it.
    fn walk(&self, b: &'a BlockDevice, under: &Option<String>, out: &mut Vec<Chain<'a>>) {
        out.push((b, under.clone()));
        for sl in &b.slaves {
            if let Some(x) = self.by_name(sl) {
                self.walk(x, under, out);
            }
        }
    }
}

/// The `fileSystems` entries, in the mount table's order, and the devices under them.
fn file_systems<'a>(
    s: &Snapshot,
    devices: &Devices<'a>,
    root: &Path,
    f: &mut Findings,
    chains: &mut Vec<Chain<'a>>,
) {
    let root_s = root.to_string_lossy().trim_end_matches('/').to_string();
    // A mount point as the installed system sees it (none: outside the root).
    let relative = |mountpoint: &str| -> Option<String> {
        if root_s.is_empty() {
            Some(mountpoint.to_string())
        } else if mountpoint == root_s {
            Some("/".to_string())
        } else {
            mountpoint.strip_prefix(&format!("{root_s}/")).map(|r| format!("/{r}"))
        }
    };
    let mounts = runner::mountinfo::parse(&s.mountinfo);
    for m in &mounts {
        let Some(rel) = relative(&m.mountpoint) else { continue };
        // The running system's own mounts, and /tmp on tmpfs (it comes from the configuration's
        // boot.tmpOnTmpfs); other tmpfs mounts are kept, as nixos-generate-config keeps them.
        let tmpfs = m.fstype == "tmpfs";
        if is_special(&rel)
            || PSEUDO.contains(&m.fstype.as_str())
            || (tmpfs && rel == "/tmp")
            || (!tmpfs && !m.source.starts_with('/'))
        {
            continue;
        }
        // A bind mount: the same device mounted elsewhere with a different root (not btrfs subvolumes).
        // Its source is that filesystem's mount point in the installed system (under the root).
        let bind_of = (m.fstype != "btrfs" && m.root != "/")
            .then(|| {
                mounts.iter().find_map(|o| {
                    (o.devno == m.devno && o.root == "/" && o.mountpoint != m.mountpoint)
                        .then(|| relative(&o.mountpoint))
                        .flatten()
                })
            })
            .flatten();
        let entry = match bind_of {
            Some(base) => {
                (format!("{}{}", base.trim_end_matches('/'), m.root), "none".into(), vec!["bind".to_string()])
            }
            None => {
                // btrfs mounts carry an anonymous device number: find the device by its name then.
                let b = devices
                    .by_devno(&m.devno)
                    .or_else(|| devices.by_name(m.source.rsplit('/').next().unwrap_or_default()));
                if let Some(b) = b {
                    devices.walk(b, &Some(rel.clone()), chains);
                }
                let device = b.map(|b| Devices::stable(b, &m.source)).unwrap_or_else(|| m.source.clone());
                (device, m.fstype.clone(), mount_options(m))
            }
        };
        if !f.file_systems.iter().any(|(mp, ..)| *mp == rel) {
            let (device, fstype, options) = entry;
            f.file_systems.push((rel, device, fstype, options));
        }
    }
}

/// The options a filesystem entry keeps: a btrfs subvolume, a vfat's masks.
fn mount_options(m: &runner::mountinfo::Mount) -> Vec<String> {
    let mut options = vec![];
    if m.fstype == "btrfs" && m.root != "/" {
        options.push(format!("subvol={}", m.root.trim_start_matches('/')));
    }
    if m.fstype == "vfat" {
        options
            .extend(m.options.iter().filter(|o| o.starts_with("fmask=") || o.starts_with("dmask=")).cloned());
    }
    options
}

/// Swap partitions in use, and the devices under them.
fn swaps<'a>(s: &Snapshot, devices: &Devices<'a>, f: &mut Findings, chains: &mut Vec<Chain<'a>>) {
    for line in s.swaps.lines().skip(1) {
        let mut w = line.split_whitespace();
        let (Some(dev), Some("partition")) = (w.next(), w.next()) else { continue };
        let name = dev.rsplit('/').next().unwrap_or(dev);
        let b = devices
            .by_name(name)
            .or_else(|| devices.block.iter().find(|b| b.dm_name.as_deref() == Some(name)));
        if let Some(b) = b {
            devices.walk(b, &None, chains);
            f.swaps.push(Devices::stable(b, dev));
        } else {
            f.swaps.push(dev.to_string());
        }
    }
}

/// What the devices under filesystems and swap need: LUKS devices, dm-snapshot for LVM, swraid.
fn stacks(devices: &Devices, chains: &[Chain], f: &mut Findings) {
    for (b, under) in chains {
        let dm_uuid = b.dm_uuid.as_deref().unwrap_or("");
        if dm_uuid.starts_with("CRYPT-LUKS") {
            if let (Some(name), Some(slave)) =
                (&b.dm_name, b.slaves.first().and_then(|sl| devices.by_name(sl)))
            {
                let device = match &slave.uuid {
                    Some(u) => format!("/dev/disk/by-uuid/{u}"),
                    None => format!("/dev/{}", slave.name),
                };
                if !f.luks.iter().any(|l| l.name == *name) {
                    f.luks.push(LuksDevice { name: name.clone(), device, after: under.clone() });
                }
            }
        }
        if dm_uuid.starts_with("LVM-") {
            push_unique(&mut f.initrd_modules, "dm-snapshot");
        }
        if b.name.starts_with("md") && !f.attrs.iter().any(|a| a.starts_with("boot.swraid")) {
            f.attrs.push("boot.swraid.enable = true;".into());
        }
    }
}

fn attr_name(mp: &str) -> String {
    nix_str(mp)
}

/// A list over several lines, or ` [ ]`, as nixos-generate-config's `multiLineList` writes it.
fn multi_line_list(indent: &str, items: &[String]) -> String {
    if items.is_empty() {
        return " [ ]".into();
    }
    let mut o = format!("\n{indent}[ ");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.push_str(indent);
            o.push_str("  ");
        }
        o.push_str(item);
        o.push('\n');
    }
    o.push_str(indent);
    o.push(']');
    o
}

fn luks_line(l: &LuksDevice) -> String {
    format!("  boot.initrd.luks.devices.{}.device = {};\n\n", nix_str(&l.name), nix_str(&l.device))
}

/// The filesystems (each followed by the LUKS device under it) and the swap devices.
fn file_systems_and_swap(f: &Findings) -> String {
    let mut o = String::from("\n");
    for (mp, device, fstype, options) in &f.file_systems {
        o.push_str(&format!(
            "  fileSystems.{} =\n    {{ device = {};\n      fsType = {};\n",
            attr_name(mp),
            nix_str(device),
            nix_str(fstype)
        ));
        if !options.is_empty() {
            o.push_str(&format!("      options = {};\n", nix_list(options)));
        }
        o.push_str("    };\n\n");
        for l in f.luks.iter().filter(|l| l.after.as_deref() == Some(mp.as_str())) {
            o.push_str(&luks_line(l));
        }
    }
    for l in
        f.luks.iter().filter(|l| l.after.as_ref().is_none_or(|a| !f.file_systems.iter().any(|fs| fs.0 == *a)))
    {
        o.push_str(&luks_line(l));
    }
    let swaps: Vec<String> = f.swaps.iter().map(|s| format!("{{ device = {}; }}", nix_str(s))).collect();
    o.push_str(&format!("  swapDevices ={};\n", multi_line_list("    ", &swaps)));
    o
}

/// Today's DHCP lines: the global switch on by default, one commented line per interface.
fn networking(f: &Findings) -> String {
    let mut o = String::from(
        "  # Enables DHCP on each ethernet and wireless interface. In case of scripted networking\n  \
         # (the default) this is the recommended approach. When using systemd-networkd it's\n  \
         # still possible to use this option, but it's recommended to use it in conjunction\n  \
         # with explicit per-interface declarations with `networking.interfaces.<interface>.useDHCP`.\n  \
         networking.useDHCP = lib.mkDefault true;\n",
    );
    for dev in &f.net {
        o.push_str(&format!("  # networking.interfaces.{dev}.useDHCP = lib.mkDefault true;\n"));
    }
    o
}

/// `hardware-configuration.nix`, laid out as today's nixos-generate-config writes it.
pub fn hardware_configuration(f: &Findings) -> String {
    let mut o = String::new();
    o.push_str("# Do not modify this file!  It was generated by `installer generate-config'\n");
    o.push_str("# and may be overwritten by future invocations.  Please make changes\n");
    o.push_str("# to /etc/nixos/configuration.nix instead.\n");
    o.push_str("{ config, lib, pkgs, modulesPath, ... }:\n\n{\n");
    o.push_str(&format!("  imports ={};\n\n", multi_line_list("    ", &f.imports)));
    o.push_str(&format!("  boot.initrd.availableKernelModules = {};\n", nix_list(&f.initrd_available)));
    o.push_str(&format!("  boot.initrd.kernelModules = {};\n", nix_list(&f.initrd_modules)));
    o.push_str(&format!("  boot.kernelModules = {};\n", nix_list(&f.kernel_modules)));
    o.push_str("  boot.extraModulePackages = [ ];\n");
    if f.filesystems {
        o.push_str(&file_systems_and_swap(f));
    }
    o.push('\n');
    o.push_str(&networking(f));
    o.push('\n');
    let mut seen = std::collections::BTreeSet::new();
    for a in f.attrs.iter().filter(|a| seen.insert(a.as_str())) {
        o.push_str(&format!("  {a}\n"));
    }
    o.push_str("}\n");
    o
}

/// `configuration.nix` for a new system (written only when absent, or with --force), as today's
/// nixos-generate-config writes it, with the options we have: today's names only (the 16.09
/// template's `boot.loader.grub.version`, `i18n.consoleKeyMap` and `users.extraUsers` are
/// reported as renamed or retired when evaluated).
pub fn configuration(uefi: bool) -> String {
    let boot = if uefi {
        "  # Use the systemd-boot EFI boot loader.\n  boot.loader.systemd-boot.enable = true;\n  boot.loader.efi.canTouchEfiVariables = true;\n"
    } else {
        "  # Use the GRUB 2 boot loader.\n  boot.loader.grub.enable = true;\n  # boot.loader.grub.efiSupport = true;\n  # boot.loader.grub.efiInstallAsRemovable = true;\n  # boot.loader.efi.efiSysMountPoint = \"/boot/efi\";\n  # Define on which hard drive you want to install Grub.\n  # boot.loader.grub.device = \"/dev/sda\"; # or \"nodev\" for efi only\n"
    };
    format!(
        r#"# Edit this configuration file to define what should be installed on
# your system.  Help is available in the configuration.nix(5) man page
# and in the NixOS manual (accessible by running `installer options`).

{{ config, lib, pkgs, ... }}:

{{
  imports =
    [ # Include the results of the hardware scan.
      ./hardware-configuration.nix
    ];

{boot}
  # networking.hostName = "nixos"; # Define your hostname.

  # Set your time zone.
  # time.timeZone = "Europe/Amsterdam";

  # Select internationalisation properties.
  # i18n.defaultLocale = "en_US.UTF-8";
  # console = {{
  #   keyMap = "us";
  # }};

  # Define a user account. Don't forget to set a password with ‘passwd’.
  # users.users.alice = {{
  #   isNormalUser = true;
  #   extraGroups = [ "wheel" ]; # Enable ‘sudo’ for the user.
  # }};

  # List packages installed in system profile. To search by name, run:
  # installer options | grep -A3 systemPackages
  # environment.systemPackages = with pkgs; [
  #   vim # Do not forget to add an editor to edit configuration.nix! The Nano editor is also installed by default.
  #   wget
  # ];

  # Enable the OpenSSH daemon.
  # services.openssh.enable = true;

  # Open ports in the firewall.
  # networking.firewall.allowedTCPPorts = [ ... ];
  # networking.firewall.allowedUDPPorts = [ ... ];
  # Or disable the firewall altogether.
  # networking.firewall.enable = false;

  # The NixOS release to be compatible with for stateful data such as databases.
  system.stateVersion = "16.09";
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blk(name: &str, devno: &str) -> BlockDevice {
        BlockDevice {
            name: name.into(),
            devno: devno.into(),
            module: None,
            dm_name: None,
            dm_uuid: None,
            slaves: vec![],
            uuid: Some(format!("uuid-{name}")),
        }
    }

    fn bare_metal() -> Snapshot {
        Snapshot {
            cpu_vendor: "GenuineIntel".into(),
            cpu_flags: vec!["fpu".into(), "vmx".into()],
            cpus: 8,
            sys_vendor: "Dell Inc.".into(),
            product_name: "OptiPlex 7080".into(),
            pci: vec![
                PciDevice {
                    slot: "0000:00:17.0".into(),
                    class: 0x010601,
                    vendor: 0x8086,
                    device: 0x06d2,
                    module: Some("ahci".into()),
                },
                PciDevice {
                    slot: "0000:00:14.0".into(),
                    class: 0x0c0330,
                    vendor: 0x8086,
                    device: 0x06ed,
                    module: Some("xhci_pci".into()),
                },
                PciDevice {
                    slot: "0000:00:02.0".into(),
                    class: 0x030000,
                    vendor: 0x8086,
                    device: 0x9bc8,
                    module: Some("i915".into()),
                },
                PciDevice {
                    slot: "0000:01:00.0".into(),
                    class: 0x010000,
                    vendor: 0x1af4,
                    device: 0x1048,
                    module: None,
                },
            ],
            usb: vec![UsbInterface { class: 3, subclass: 1, protocol: 1, module: Some("usbhid".into()) }],
            ..Default::default()
        }
    }

    #[test]
    fn bare_metal_gets_microcode_not_detected_and_controller_modules() {
        let s = bare_metal();
        let f = detect(&s, Path::new("/mnt"), true);
        assert_eq!(f.initrd_available, ["ahci", "xhci_pci", "virtio_scsi", "usbhid"]);
        assert_eq!(f.kernel_modules, ["kvm-intel"]);
        assert_eq!(f.imports, ["<nixpkgs/nixos/modules/installer/scan/not-detected.nix>"]);
        assert!(f.attrs.iter().any(|a| a.starts_with("hardware.cpu.intel.updateMicrocode")));
        let text = hardware_configuration(&f);
        assert!(text.ends_with(
            "  nixpkgs.hostPlatform = lib.mkDefault \"x86_64-linux\";\n  \
             hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;\n}\n"
        ), "{text}");
        assert!(!text.contains("maxJobs"), "{text}");
    }

    #[test]
    fn hyper_v_and_virtualbox_by_pci_vendor() {
        let mut s = bare_metal();
        s.sys_vendor = "Microsoft Corporation".into();
        s.product_name = "Virtual Machine".into();
        assert_eq!(detect_virt(&s), Virt::HyperV);
        let f = detect(&s, Path::new("/mnt"), false);
        assert!(f.attrs.contains(&"virtualisation.hypervGuest.enable = true;".to_string()));
        assert!(!f.attrs.iter().any(|a| a.contains("Microcode")), "no microcode in a VM");
        let mut s = bare_metal();
        s.pci.push(PciDevice {
            slot: "x".into(),
            class: 0x088000,
            vendor: 0x80ee,
            device: 0xcafe,
            module: None,
        });
        assert_eq!(detect_virt(&s), Virt::VirtualBox);
    }

    #[test]
    fn bind_mounts_raid_vfat_masks_and_swap() {
        let mut s = bare_metal();
        let mut md = blk("md127", "9:127");
        md.slaves = vec!["sda2".into(), "sdb2".into()];
        s.block = vec![blk("sda1", "8:1"), blk("sda2", "8:2"), blk("sdb2", "8:18"), md, blk("sda3", "8:3")];
        s.mountinfo = [
            "30 1 9:127 / /mnt rw,relatime shared:1 - ext4 /dev/md127 rw",
            "31 30 8:1 / /mnt/boot rw,relatime shared:2 - vfat /dev/sda1 rw,fmask=0077,dmask=0077,codepage=437",
            "32 30 9:127 /srv/data /mnt/data rw,relatime shared:1 - ext4 /dev/md127 rw",
            "33 1 0:22 / /proc rw - proc proc rw",
            "34 1 8:3 / /elsewhere rw - ext4 /dev/sda3 rw",
        ]
        .join("\n");
        s.swaps =
            "Filename Type Size Used Priority\n/dev/sda3 partition 1048572 0 -2\n/swapfile file 1000 0 -3\n"
                .into();
        let f = detect(&s, Path::new("/mnt"), true);
        let fs: Vec<(String, String, String, Vec<String>)> = f.file_systems.clone();
        assert_eq!(fs[0], ("/".into(), "/dev/disk/by-uuid/uuid-md127".into(), "ext4".into(), vec![]));
        assert_eq!(
            fs[1],
            (
                "/boot".into(),
                "/dev/disk/by-uuid/uuid-sda1".into(),
                "vfat".into(),
                vec!["fmask=0077".into(), "dmask=0077".into()]
            )
        );
        // A bind mount's source as the installed system sees it, not under --root.
        assert_eq!(fs[2], ("/data".into(), "/srv/data".into(), "none".into(), vec!["bind".into()]));
        assert_eq!(fs.len(), 3, "mounts outside the root and pseudo filesystems are left out");
        assert!(f.attrs.contains(&"boot.swraid.enable = true;".to_string()));
        assert_eq!(f.swaps, ["/dev/disk/by-uuid/uuid-sda3"], "swap files are not swap devices");
    }

    /// The layout of today's nixos-generate-config: one-line empty lists, filesystems in the mount
    /// table's order each followed by the LUKS device under it, the DHCP lines, then the attributes.
    #[test]
    fn text_as_nixos_writes_it() {
        let mut s = bare_metal();
        s.sys_vendor = "QEMU".into();
        s.net = vec!["ens3".into()];
        let mut luks = blk("dm-0", "254:0");
        luks.dm_name = Some("cryptroot".into());
        luks.dm_uuid = Some("CRYPT-LUKS2-abc-cryptroot".into());
        luks.slaves = vec!["vda2".into()];
        luks.uuid = Some("uuid-root".into());
        let mut swap = blk("dm-1", "254:1");
        swap.dm_name = Some("cryptswap".into());
        swap.dm_uuid = Some("CRYPT-LUKS2-def-cryptswap".into());
        swap.slaves = vec!["vda3".into()];
        s.block = vec![blk("vda1", "252:1"), blk("vda2", "252:2"), blk("vda3", "252:3"), luks, swap];
        s.mountinfo = [
            "30 1 254:0 / /mnt rw - ext4 /dev/mapper/cryptroot rw",
            "31 30 252:1 / /mnt/boot rw - ext4 /dev/vda1 rw",
            "32 30 0:40 / /mnt/tmp rw - tmpfs tmpfs rw",
            "33 30 0:41 / /mnt/scratch rw - tmpfs tmpfs rw,size=1g",
            "34 30 0:42 / /mnt/run/user rw - tmpfs tmpfs rw",
        ]
        .join("\n");
        s.swaps = "Filename Type Size Used Priority\n/dev/dm-1 partition 1048572 0 -2\n".into();
        let text = hardware_configuration(&detect(&s, Path::new("/mnt"), true));
        let want = r#"# Do not modify this file!  It was generated by `installer generate-config'
# and may be overwritten by future invocations.  Please make changes
# to /etc/nixos/configuration.nix instead.
{ config, lib, pkgs, modulesPath, ... }:

{
  imports =
    [ (modulesPath + "/profiles/qemu-guest.nix")
    ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "virtio_scsi" "usbhid" ];
  boot.initrd.kernelModules = [ ];
  boot.kernelModules = [ "kvm-intel" ];
  boot.extraModulePackages = [ ];

  fileSystems."/" =
    { device = "/dev/mapper/cryptroot";
      fsType = "ext4";
    };

  boot.initrd.luks.devices."cryptroot".device = "/dev/disk/by-uuid/uuid-vda2";

  fileSystems."/boot" =
    { device = "/dev/disk/by-uuid/uuid-vda1";
      fsType = "ext4";
    };

  fileSystems."/scratch" =
    { device = "tmpfs";
      fsType = "tmpfs";
    };

  boot.initrd.luks.devices."cryptswap".device = "/dev/disk/by-uuid/uuid-vda3";

  swapDevices =
    [ { device = "/dev/mapper/cryptswap"; }
    ];

  # Enables DHCP on each ethernet and wireless interface. In case of scripted networking
  # (the default) this is the recommended approach. When using systemd-networkd it's
  # still possible to use this option, but it's recommended to use it in conjunction
  # with explicit per-interface declarations with `networking.interfaces.<interface>.useDHCP`.
  networking.useDHCP = lib.mkDefault true;
  # networking.interfaces.ens3.useDHCP = lib.mkDefault true;

  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
}
"#;
        assert_eq!(text, want);
        // Empty lists on one line; --no-filesystems leaves filesystems and swap out.
        s.cpu_flags.clear();
        s.pci.clear();
        s.usb.clear();
        s.sys_vendor = "QEMU".into();
        let text = hardware_configuration(&detect(&s, Path::new("/mnt"), false));
        assert!(text.contains("  boot.initrd.availableKernelModules = [ ];\n"), "{text}");
        assert!(!text.contains("swapDevices") && !text.contains("fileSystems."), "{text}");
        let mut none = bare_metal();
        none.sys_vendor = "QEMU".into();
        none.mountinfo = "30 1 252:1 / /mnt rw - ext4 /dev/vda1 rw".into();
        none.block = vec![blk("vda1", "252:1")];
        let text = hardware_configuration(&detect(&none, Path::new("/mnt"), true));
        assert!(text.contains("\n  swapDevices = [ ];\n"), "{text}");
    }
}
