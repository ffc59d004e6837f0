//! What udev would have recorded for the device-mapper and md devices stage 1 made without it.
//!
//! The installed system's udev coldplugs every device with an "add" event. Its device-mapper rules
//! (55-dm.rules) treat an "add" for a dm device as a real activation only when the udev database of
//! the device says `DM_UDEV_PRIMARY_SOURCE_FLAG=1`, which an initrd running udev leaves behind in
//! /run/udev/data (Debian's initramfs, dracut). Without it the device gets no symlinks, no blkid,
//! no LVM scan: an LV of a volume group on a LUKS device opened here (say /home next to the root)
//! would never appear. Stage 1 has no udev, so it writes those records itself; /run moves into the
//! installed system.

use std::path::Path;

/// The udev database records (`b<major>:<minor>`, content) for the active dm and md devices under
/// `sys_block` (`/sys/block`).
pub fn records(sys_block: &Path) -> Vec<(String, String)> {
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(sys_block) else { return out };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let dir = e.path();
        let Ok(dev) = std::fs::read_to_string(dir.join("dev")) else { continue };
        let file = format!("b{}", dev.trim());
        if name.starts_with("dm-") {
            out.push((file, "E:DM_UDEV_PRIMARY_SOURCE_FLAG=1\nE:DM_UDEV_RULES_VSN=2\n".to_string()));
        } else if name.starts_with("md") {
            let state = std::fs::read_to_string(dir.join("md/array_state")).unwrap_or_default();
            if !matches!(state.trim(), "" | "inactive" | "clear") {
                // 69-lvm.rules scans an md PV on "add" only when this is recorded.
                out.push((file, "E:LVM_MD_PV_ACTIVATED=1\n".to_string()));
            }
        }
    }
    out.sort();
    out
}

/// Writes [`records`] into `udev_data` (`/run/udev/data`), keeping records already there.
pub fn write(sys_block: &Path, udev_data: &Path) -> std::io::Result<usize> {
    let recs = records(sys_block);
    if recs.is_empty() {
        return Ok(0);
    }
    std::fs::create_dir_all(udev_data)?;
    let mut n = 0;
    for (file, content) in recs {
        let path = udev_data.join(file);
        if !path.exists() {
            std::fs::write(path, content)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_devices_and_running_md_arrays_get_records() {
        let sys = tempfile::tempdir().unwrap();
        let dev = |name: &str, devno: &str| {
            let d = sys.path().join(name);
            std::fs::create_dir_all(d.join("md")).unwrap();
            std::fs::write(d.join("dev"), format!("{devno}\n")).unwrap();
            d
        };
        dev("dm-0", "253:0");
        dev("dm-1", "253:1");
        std::fs::write(dev("md127", "9:127").join("md/array_state"), "clean\n").unwrap();
        std::fs::write(dev("md1", "9:1").join("md/array_state"), "inactive\n").unwrap();
        dev("vda", "254:0");
        let recs = records(sys.path());
        let files: Vec<&str> = recs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["b253:0", "b253:1", "b9:127"]);
        assert!(recs[0].1.contains("DM_UDEV_PRIMARY_SOURCE_FLAG=1"));
        assert_eq!(recs[2].1, "E:LVM_MD_PV_ACTIVATED=1\n");

        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("b253:1"), "E:KEEP=1\n").unwrap();
        assert_eq!(write(sys.path(), data.path()).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(data.path().join("b253:1")).unwrap(), "E:KEEP=1\n");
        assert!(data.path().join("b253:0").exists());
    }
}
