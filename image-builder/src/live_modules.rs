//! The kernel modules the live system may load: those an installer needs (storage, filesystems,
//! device-mapper, md, crypto, wired network, USB, input, framebuffer and console, virtualisation).
//! The live root keeps every module file, because the installed system gets them all, but its
//! module index (depmod's output, what modprobe and udev look modules up in) lists only these:
//! graphics, sound, media, wireless, Bluetooth and the like are never loaded by the live system.
//! The full index waits in [`initrd::modules::FULL_INDEX_DIR`]; an install puts it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use initrd::modules::{DEPMOD_OUTPUTS, FULL_INDEX_DIR};
use runner::Cmd;

use crate::rootfs::RootfsError;

/// The module paths (below the module directory, as `modules.dep` names them) an installer does
/// not need: a module in one of these directories is left out of the live index, and so is a
/// module that needs one that is left out.
pub const NOT_FOR_THE_INSTALLER: &[&str] = &[
    "kernel/sound/",
    "kernel/drivers/media/",
    "kernel/drivers/staging/",
    "kernel/drivers/iio/",
    "kernel/drivers/hwmon/",
    "kernel/drivers/isdn/",
    "kernel/drivers/infiniband/",
    "kernel/drivers/bluetooth/",
    "kernel/net/bluetooth/",
    "kernel/drivers/nfc/",
    "kernel/net/nfc/",
    // Wireless: the live system configures wired links only, and has no firmware for radios.
    "kernel/drivers/net/wireless/",
    "kernel/net/wireless/",
    "kernel/net/mac80211/",
    // GPUs beyond a framebuffer (simpledrm, bochs, cirrus, virtio, QXL, VMware, Hyper-V, the
    // server BMCs' ast and mgag200 stay): the TUI is text on the firmware's or a simple framebuffer.
    "kernel/drivers/gpu/drm/amd/",
    "kernel/drivers/gpu/drm/radeon/",
    "kernel/drivers/gpu/drm/nouveau/",
    "kernel/drivers/gpu/drm/i915/",
    "kernel/drivers/gpu/drm/gma500/",
];

/// Parses `modules.dep`: each module's path and the paths it needs.
fn parse_dep(text: &str) -> BTreeMap<&str, Vec<&str>> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(m, deps)| (m.trim(), deps.split_whitespace().collect()))
        .collect()
}

/// The modules (paths, as `modules.dep` names them) the live index lists: those outside
/// [`NOT_FOR_THE_INSTALLER`] whose dependencies are all listed too.
pub fn installer_modules(modules_dep: &str) -> BTreeSet<String> {
    let deps = parse_dep(modules_dep);
    let mut keep: BTreeSet<&str> =
        deps.keys().copied().filter(|m| !NOT_FOR_THE_INSTALLER.iter().any(|p| m.starts_with(p))).collect();
    loop {
        let out: Vec<&str> =
            keep.iter().copied().filter(|m| deps[m].iter().any(|d| !keep.contains(d))).collect();
        if out.is_empty() {
            return keep.into_iter().map(str::to_string).collect();
        }
        for m in out {
            keep.remove(m);
        }
    }
}

/// Gives each kernel of `root` (a private hard-linked work copy: only renames and new files
/// here) a live index of [`installer_modules`], built by depmod over a tree of links to just
/// those, and moves the full index into [`FULL_INDEX_DIR`]. `scratch` is an empty directory
/// outside `root`.
pub fn index_installer_modules(root: &Path, scratch: &Path) -> Result<(), RootfsError> {
    let io = |what: String| move |source| RootfsError::Io { context: what, source };
    let base = root.join("usr/lib/modules");
    let Ok(versions) = std::fs::read_dir(&base) else { return Ok(()) };
    for v in versions.flatten() {
        let dir = v.path();
        let dep = dir.join("modules.dep");
        let Ok(text) = std::fs::read_to_string(&dep) else { continue };
        let version = v.file_name();
        let sub = scratch.join("lib/modules").join(&version);
        for m in installer_modules(&text) {
            let to = sub.join(&m);
            let parent = to.parent().expect("a module has a directory");
            std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
            std::fs::hard_link(dir.join(&m), &to).map_err(io(format!("linking {m}")))?;
        }
        for input in ["modules.order", "modules.builtin", "modules.builtin.modinfo"] {
            if dir.join(input).exists() {
                std::fs::copy(dir.join(input), sub.join(input)).map_err(io(format!("copying {input}")))?;
            }
        }
        Cmd::new("indexing the installer's kernel modules", "depmod")
            .arg("-b")
            .arg(scratch)
            .arg(&version)
            .run()?;
        let full = dir.join(FULL_INDEX_DIR);
        std::fs::create_dir_all(&full).map_err(io(format!("creating {}", full.display())))?;
        for f in DEPMOD_OUTPUTS {
            if dir.join(f).exists() {
                std::fs::rename(dir.join(f), full.join(f)).map_err(io(format!("moving {f}")))?;
            }
            if sub.join(f).exists() {
                std::fs::copy(sub.join(f), dir.join(f)).map_err(io(format!("writing the live {f}")))?;
            }
        }
        std::fs::remove_dir_all(scratch).map_err(io(format!("removing {}", scratch.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_index_leaves_out_what_no_installer_loads_and_what_needs_it() {
        let dep = "kernel/drivers/md/dm-crypt.ko.zst: kernel/drivers/md/dm-mod.ko.zst\n\
                   kernel/drivers/md/dm-mod.ko.zst:\n\
                   kernel/sound/core/snd.ko.zst: kernel/sound/soundcore.ko.zst\n\
                   kernel/sound/soundcore.ko.zst:\n\
                   kernel/drivers/gpu/drm/drm.ko.zst:\n\
                   kernel/drivers/gpu/drm/tiny/bochs.ko.zst: kernel/drivers/gpu/drm/drm.ko.zst\n\
                   kernel/drivers/gpu/drm/i915/i915.ko.zst: kernel/drivers/gpu/drm/drm.ko.zst\n\
                   kernel/drivers/hid/hid-sensor-hub.ko.zst:\n\
                   kernel/drivers/platform/x86/needs-sound.ko.zst: kernel/sound/core/snd.ko.zst kernel/drivers/md/dm-mod.ko.zst\n\
                   kernel/drivers/platform/x86/needs-that.ko.zst: kernel/drivers/platform/x86/needs-sound.ko.zst\n";
        let keep = installer_modules(dep);
        assert_eq!(
            keep.iter().map(String::as_str).collect::<Vec<_>>(),
            [
                "kernel/drivers/gpu/drm/drm.ko.zst",
                "kernel/drivers/gpu/drm/tiny/bochs.ko.zst",
                "kernel/drivers/hid/hid-sensor-hub.ko.zst",
                "kernel/drivers/md/dm-crypt.ko.zst",
                "kernel/drivers/md/dm-mod.ko.zst",
            ]
        );
    }

    /// A kernel module as depmod reads it: an object with a `.modinfo` section.
    fn module(path: &Path, modinfo: &[&str]) {
        let asm: String = [".section .modinfo,\"a\""]
            .into_iter()
            .map(str::to_string)
            .chain(modinfo.iter().map(|i| format!(".asciz \"{i}\"")))
            .map(|l| l + "\n")
            .collect();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Cmd::new("assembling a module", "as").arg("-o").arg(path).stdin(asm).run().unwrap();
    }

    /// depmod itself over a small tree: the live index lists the kept module, the full one all.
    #[test]
    fn the_live_root_gets_the_installers_index_and_keeps_the_full_one_aside() {
        let t = tempfile::tempdir().unwrap();
        let (root, scratch) = (t.path().join("root"), t.path().join("scratch"));
        let dir = root.join("usr/lib/modules/6.1.0-test");
        module(
            &dir.join("kernel/drivers/md/dm-mod.ko"),
            &["license=GPL", "alias=dm-any", "depends=", "name=dm_mod"],
        );
        module(
            &dir.join("kernel/sound/core/snd-x.ko"),
            &["license=GPL", "alias=pci:v00008086d*", "depends=", "name=snd_x"],
        );
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        Cmd::new("indexing", "depmod").arg("-b").arg(&root).arg("6.1.0-test").run().unwrap();
        index_installer_modules(&root, &scratch).unwrap();
        let live = std::fs::read_to_string(dir.join("modules.dep")).unwrap();
        let full = std::fs::read_to_string(dir.join(FULL_INDEX_DIR).join("modules.dep")).unwrap();
        assert_eq!(live, "kernel/drivers/md/dm-mod.ko:\n");
        assert!(full.contains("dm-mod") && full.contains("snd-x"), "{full}");
        let alias = std::fs::read_to_string(dir.join("modules.alias")).unwrap();
        assert!(alias.contains("dm-any") && !alias.contains("snd_x"), "{alias}");
        assert!(
            dir.join("modules.dep.bin").exists() && dir.join(FULL_INDEX_DIR).join("modules.dep.bin").exists()
        );
        assert!(dir.join("kernel/sound/core/snd-x.ko").exists(), "every module file stays");
        assert!(!scratch.exists());
    }
}
