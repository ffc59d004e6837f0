//! The harness's own test initrd: busybox, the guest agent, and the modules for virtio, SATA, NVMe,
//! USB storage and the virtio console. Its `/init` mounts the pseudo filesystems, loads the modules,
//! starts the agent, prints [`READY_MARKER`] and keeps a shell on the console.

use std::path::Path;

use initrd::cpio::Archive;
use initrd::modules::ModuleTree;

use crate::error::{Error, Result};

/// Printed on the console when the test initrd's agent has been started.
pub const READY_MARKER: &str = "test-init: ready";

/// Modules the test initrd loads at boot (dependencies are resolved from `modules.dep`).
pub const MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_console",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "ahci",
    "sd_mod",
    "sr_mod",
    "nvme",
    "xhci_pci",
    "usb_storage",
    "uas",
    "ext4",
    "squashfs",
    "overlay",
];

/// The serial of the read-only disk that carries a Debian test root (see [`debian_machine`]).
pub const ROOT_SERIAL: &str = "vmh-root";

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
if grep -q vmharness.probe /proc/cmdline; then
    echo vmharness-probe-ok
    poweroff -f
fi
kver=$(uname -r)
while read -r ko; do
    insmod "/lib/modules/$kver/$ko" || echo "test-init: insmod $ko failed"
done < /etc/modules.order
mdev -s 2>/dev/null
# vmharness.root=serial:S: boot the Debian root in the squashfs on the virtio disk with serial S,
# under a tmpfs overlay, with systemd.
serial=$(sed -n 's/.*vmharness.root=serial:\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$serial" ]; then
    dev=""
    i=0
    while [ -z "$dev" ] && [ $i -lt 300 ]; do
        for d in /sys/block/*; do
            [ "$(cat $d/serial 2>/dev/null)" = "$serial" ] && dev=/dev/${d##*/}
        done
        [ -n "$dev" ] && [ -b "$dev" ] || { dev=""; sleep 0.1; }
        i=$((i + 1))
    done
    [ -n "$dev" ] || echo "test-init: no disk with serial $serial"
    mkdir -p /ro /rw /newroot
    mount -t squashfs -o ro "$dev" /ro || echo "test-init: mounting $dev failed"
    mount -t tmpfs -o size=80% tmpfs /rw
    mkdir -p /rw/upper /rw/work
    mount -t overlay overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work /newroot
    # Tell the installer which disk holds the running system, as our stage-1 does.
    mkdir -p /run/installer
    echo "$dev" > /run/installer/boot-device
    mkdir -p /newroot/run
    mount --move /run /newroot/run
    umount /dev/pts /sys /proc
    umount /dev
    echo "test-init: switching to the Debian root on $dev"
    exec switch_root /newroot /sbin/init
fi
/sbin/vm-harness-agent 2>/dev/console &
echo "test-init: ready"
while true; do
    setsid cttyhack sh -l
done
"#;

/// A machine that boots the Debian test root `root_squashfs` (systemd, the storage tools and the
/// agent) with the cached kernel and the test initrd. Wait for it with `wait_for_agent`.
pub fn debian_machine(name: &str, assets: &crate::TestAssets, root_squashfs: &Path) -> crate::MachineBuilder {
    crate::machine(name)
        .memory_mib(1024)
        .kernel(
            &assets.kernel,
            Some(assets.initrd.clone()),
            &format!("console=ttyS0 vmharness.root=serial:{ROOT_SERIAL} systemd.show_status=0 quiet"),
        )
        .disk(crate::Disk::file(root_squashfs, "raw").serial(ROOT_SERIAL).readonly().id("vmhroot"))
}

/// What the live test image prints on its serial console when it is ready for an install.
pub const LIVE_READY: &str = "installer ready";

/// The serial of the live machine's disk 1, which no install may write.
pub const BYSTANDER: &str = "BYSTANDER";

/// Empty PCIe ports of the live machine: tests plug an answer disk and more blank disks into the
/// resumed live system ([`crate::Machine::hotplug_disk`]).
pub const LIVE_HOTPLUG_PORTS: u32 = 3;

/// How long the live image may take to get there (TCG on a slow day, with time to spare).
pub const LIVE_BOOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(420);

/// The live test image booted directly (its `bzImage` and `initrd`, the ISO as the CD, our
/// stage-1 finding the squashfs on it by label) with 1.5 GiB, a blank 4 GiB disk with serial
/// TARGET as disk 0 and a blank 256 MiB disk with serial [`BYSTANDER`] as disk 1 (no test may
/// write it: installs prove they touch only their plan); `extra` goes after the live parameters. With no `extra` and no more devices,
/// machines of this shape resume from one saved boot per run (see
/// [`crate::MachineBuilder::resume_after`]), made after [`READ_THE_LIVE_ROOT`]: this is the
/// boot most install tests share, and the one `cargo xtask test` times to tell how fast TCG runs
/// today (to ready, before the read).
pub fn live_machine(name: &str, assets: &crate::TestAssets, extra: &str) -> Result<crate::MachineBuilder> {
    let iso = assets
        .live_iso
        .clone()
        .ok_or_else(|| Error::Setup("no live test ISO: run `cargo xtask assets`".into()))?;
    let dir = iso.parent().unwrap_or(Path::new(".")).to_path_buf();
    let volid = format!("INSTALLER_{}", env!("CARGO_PKG_VERSION").replace('.', "_"));
    Ok(crate::machine(name)
        .memory_mib(1536)
        .kernel(
            dir.join("bzImage"),
            Some(dir.join("initrd")),
            format!("root=live:LABEL={volid} console=ttyS0,115200 {extra}").trim_end(),
        )
        .cdrom(&iso)
        .disk(crate::Disk::new_qcow2(4 << 30).serial("TARGET"))
        .disk(crate::Disk::new_qcow2(256 << 20).serial(BYSTANDER))
        .hotplug_ports(LIVE_HOTPLUG_PORTS)
        .resume_after(LIVE_READY, LIVE_BOOT_TIMEOUT)
        .before_save(READ_THE_LIVE_ROOT, LIVE_BOOT_TIMEOUT))
}

/// What the saved live boot does before its state is saved: read every file of the live root
/// once, as an install's copy does, so that the machines resumed from it find the root in the page
/// cache instead of reading it again from the emulated CD (a cold read of it takes 27-31 s under
/// TCG, most of an install's copy). The copy itself still goes through the squashfs mount; the
/// tests that boot the live system read it cold. GNU tar reads nothing when it writes to
/// /dev/null itself, hence the pipe.
pub const READ_THE_LIVE_ROOT: &str = "tar -C /run/installer/squashfs -cf - . | cat >/dev/null";

/// Builds the gzip-compressed test initrd.
pub fn build(modules_dir: &Path, busybox: &Path, agent: &Path) -> Result<Vec<u8>> {
    let setup = |e: &dyn std::fmt::Display| Error::Setup(format!("building the test initrd: {e}"));
    let tree = ModuleTree::open(modules_dir).map_err(|e| setup(&e))?;
    let order = tree.resolve(MODULES).map_err(|e| setup(&e))?;
    let kver = modules_dir
        .file_name()
        .ok_or_else(|| setup(&"module directory has no version component"))?
        .to_string_lossy()
        .into_owned();
    let mut a = Archive::new();
    a.base_layout().map_err(|e| setup(&e))?;
    a.dir("usr/bin", 0o755).map_err(|e| setup(&e))?;
    a.dir("usr/sbin", 0o755).map_err(|e| setup(&e))?;
    a.host_file("bin/busybox", busybox).map_err(|e| setup(&e))?;
    a.symlink("bin/sh", "busybox").map_err(|e| setup(&e))?;
    a.host_file("sbin/vm-harness-agent", agent).map_err(|e| setup(&e))?;
    a.file("init", 0o755, INIT).map_err(|e| setup(&e))?;
    a.file("etc/modules.order", 0o644, order.join("\n") + "\n").map_err(|e| setup(&e))?;
    a.file("etc/profile", 0o644, "export PS1='test# '\nexport PATH=/sbin:/bin:/usr/sbin:/usr/bin\n")
        .map_err(|e| setup(&e))?;
    for ko in &order {
        a.host_file(&format!("lib/modules/{kver}/{ko}"), &modules_dir.join(ko)).map_err(|e| setup(&e))?;
    }
    a.to_gzip().map_err(|e| setup(&e))
}
