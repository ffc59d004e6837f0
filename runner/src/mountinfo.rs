//! The kernel's mount table, `/proc/self/mountinfo` (proc(5)), parsed in one place for hardware
//! detection, the disk engine's teardown and the bootloader step.

use std::path::Path;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the filesystem's device (an anonymous one for btrfs).
    pub devno: String,
    /// The directory of the filesystem mounted here (not `/` for bind mounts and btrfs subvolumes).
    pub root: String,
    pub mountpoint: String,
    pub fstype: String,
    pub source: String,
    /// The mount's options, then the superblock's (e.g. btrfs's `subvol=`).
    pub options: Vec<String>,
}

impl Mount {
    /// Whether the mount itself is read-write (its first option; the superblock's `rw` that
    /// follows says nothing of this mount).
    pub fn writable(&self) -> bool {
        self.options.first().is_some_and(|o| o == "rw")
    }

    /// The value of option `name=` (mount or superblock).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().find_map(|o| o.strip_prefix(name)?.strip_prefix('='))
    }
}

/// The kernel's octal escapes of space, tab, newline and backslash.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// Parses mountinfo text; lines it cannot read are skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some(Mount {
                root: unescape(f.get(3)?),
                mountpoint: unescape(f.get(4)?),
                devno: f.get(2)?.to_string(),
                options: f
                    .get(5)?
                    .split(',')
                    .chain(f.get(sep + 3).map(|o| o.split(',')).into_iter().flatten())
                    .map(str::to_string)
                    .collect(),
                fstype: f.get(sep + 1)?.to_string(),
                source: unescape(f.get(sep + 2)?),
            })
        })
        .collect()
}

/// The mounts of this process's namespace.
pub fn read() -> std::io::Result<Vec<Mount>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The mount holding `path`: the last-mounted of the longest mount points above it.
pub fn mount_of<'m>(mounts: &'m [Mount], path: &Path) -> Option<&'m Mount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path.starts_with(&m.mountpoint))
        .max_by_key(|(i, m)| (m.mountpoint.len(), *i))
        .map(|(_, m)| m)
}

/// The mount points at or below `root` (none for an empty root), deepest first, each once.
pub fn below(mounts: &[Mount], root: &Path) -> Vec<String> {
    let root = root.to_string_lossy().trim_end_matches('/').to_string();
    if root.is_empty() {
        return vec![];
    }
    let mut below: Vec<String> = mounts
        .iter()
        .map(|m| m.mountpoint.clone())
        .filter(|m| *m == root || m.starts_with(&format!("{root}/")))
        .collect();
    below.sort_by_key(|m| (std::cmp::Reverse(m.len()), m.clone()));
    below.dedup();
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:45 /@home /home rw,relatime shared:5 - btrfs /dev/vdb2 rw,space_cache=v2,subvolid=257,subvol=/@home
31 22 252:1 /srv/data /mnt/my\\040data rw - ext4 /dev/vda1 rw
32 22 0:30 / /mnt rw - tmpfs tmpfs rw,size=10m
33 32 0:31 / /mnt/boot rw - vfat /dev/vda2 rw,fmask=0022,dmask=0022
34 22 0:32 / /sys/firmware/efi/efivars ro,nosuid shared:4 - efivarfs efivarfs rw
garbage line
";

    #[test]
    fn parses_fields_escapes_and_both_option_lists() {
        let m = parse(TEXT);
        assert_eq!(m.len(), 6, "the garbage line is skipped");
        assert!(m[0].writable());
        assert!(!m[5].writable(), "a read-only mount of a read-write superblock");
        assert_eq!(m[1].root, "/@home");
        assert_eq!(m[1].devno, "0:45");
        assert_eq!(m[1].option("subvol"), Some("/@home"));
        assert_eq!(m[1].option("relatime"), None);
        assert_eq!(m[2].mountpoint, "/mnt/my data");
        assert_eq!(m[4].fstype, "vfat");
        assert_eq!(m[4].source, "/dev/vda2");
        assert!(m[4].options.contains(&"fmask=0022".to_string()));
    }

    #[test]
    fn the_mount_holding_a_path_and_the_mounts_below_a_root() {
        let m = parse(TEXT);
        assert_eq!(mount_of(&m, Path::new("/mnt/boot/EFI")).unwrap().fstype, "vfat");
        assert_eq!(mount_of(&m, Path::new("/mnt/bootx")).unwrap().fstype, "tmpfs");
        assert_eq!(mount_of(&m, Path::new("/etc")).unwrap().mountpoint, "/");
        assert_eq!(below(&m, Path::new("/mnt/")), ["/mnt/my data", "/mnt/boot", "/mnt"]);
        assert!(below(&m, Path::new("/")).is_empty(), "the root of everything is never torn down");
    }
}
