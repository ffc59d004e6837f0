//! Recognising the live medium: the ISO 9660 primary volume descriptor (`CD001` at byte 32769,
//! the 32-byte volume id at byte 32808) and ext2/3/4 and FAT labels, read directly from the device.

use std::io::{Read, Seek, SeekFrom};

fn read_at(r: &mut (impl Read + Seek), offset: u64, len: usize) -> Option<Vec<u8>> {
    r.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn trimmed(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches(['\0', ' ']).to_string()
}

/// The ISO 9660 volume id, if the device holds an ISO 9660 filesystem.
pub fn iso9660_volume_id(r: &mut (impl Read + Seek)) -> Option<String> {
    let pvd = read_at(r, 32768, 72)?;
    if &pvd[1..6] != b"CD001" || pvd[0] != 1 {
        return None;
    }
    Some(trimmed(&pvd[40..72]))
}

/// The ext2/3/4 volume label.
pub fn ext_label(r: &mut (impl Read + Seek)) -> Option<String> {
    let sb = read_at(r, 1024, 136)?;
    if sb[56..58] != [0x53, 0xef] {
        return None;
    }
    Some(trimmed(&sb[120..136])).filter(|l| !l.is_empty())
}

/// The FAT12/16/32 volume label from the boot sector.
pub fn fat_label(r: &mut (impl Read + Seek)) -> Option<String> {
    let bs = read_at(r, 0, 512)?;
    if bs[510..512] != [0x55, 0xaa] {
        return None;
    }
    let (sig, label) = if &bs[82..87] == b"FAT32" { (66, 71) } else { (38, 43) };
    if bs[sig] != 0x29 {
        return None;
    }
    Some(trimmed(&bs[label..label + 11])).filter(|l| !l.is_empty() && l != "NO NAME")
}

fn uuid_string(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A filesystem (or LUKS header) found on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub fs_type: &'static str,
    pub uuid: String,
    pub label: Option<String>,
}

/// Recognises ext2/3/4, btrfs, xfs, FAT and LUKS by their superblocks (as blkid would), with the
/// UUID in blkid's spelling (FAT: `ABCD-1234`).
pub fn identify(r: &mut (impl Read + Seek)) -> Option<Identity> {
    if let Some(h) = read_at(r, 0, 208) {
        if &h[0..6] == b"LUKS\xba\xbe" {
            let uuid = trimmed(&h[168..208]);
            return Some(Identity { fs_type: "crypto_LUKS", uuid, label: None });
        }
        if &h[0..4] == b"XFSB" {
            let label = Some(trimmed(&h[108..120])).filter(|l| !l.is_empty());
            return Some(Identity { fs_type: "xfs", uuid: uuid_string(&h[32..48]), label });
        }
    }
    if let Some(sb) = read_at(r, 1024, 256) {
        if sb[56..58] == [0x53, 0xef] {
            let features_compat = u32::from_le_bytes(sb[92..96].try_into().ok()?);
            let incompat = u32::from_le_bytes(sb[96..100].try_into().ok()?);
            let fs_type = if incompat & 0x40 != 0 || incompat & 0x200 != 0 {
                "ext4"
            } else if features_compat & 0x4 != 0 {
                "ext3"
            } else {
                "ext2"
            };
            let label = Some(trimmed(&sb[120..136])).filter(|l| !l.is_empty());
            return Some(Identity { fs_type, uuid: uuid_string(&sb[104..120]), label });
        }
    }
    if let Some(sb) = read_at(r, 65536, 0x12b + 256) {
        if &sb[0x40..0x48] == b"_BHRfS_M" {
            let label = Some(trimmed(&sb[0x12b..0x12b + 256])).filter(|l| !l.is_empty());
            return Some(Identity { fs_type: "btrfs", uuid: uuid_string(&sb[0x20..0x30]), label });
        }
    }
    if let Some(bs) = read_at(r, 0, 512) {
        if bs[510..512] == [0x55, 0xaa] && (&bs[82..87] == b"FAT32" || &bs[54..57] == b"FAT") {
            let serial_at = if &bs[82..87] == b"FAT32" { 67 } else { 39 };
            let s = u32::from_le_bytes(bs[serial_at..serial_at + 4].try_into().ok()?);
            let uuid = format!("{:04X}-{:04X}", s >> 16, s & 0xffff);
            return Some(Identity { fs_type: "vfat", uuid, label: fat_label(r) });
        }
    }
    None
}

/// Every name the device answers to (ISO volume id first).
pub fn labels(r: &mut (impl Read + Seek)) -> Vec<String> {
    [iso9660_volume_id(r), ext_label(r), fat_label(r)].into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn reads_the_iso_volume_id() {
        let mut img = vec![0u8; 40000];
        img[32768] = 1;
        img[32769..32774].copy_from_slice(b"CD001");
        let id = b"INSTALLER_0_1                   ";
        img[32808..32840].copy_from_slice(id);
        assert_eq!(iso9660_volume_id(&mut Cursor::new(&img)).as_deref(), Some("INSTALLER_0_1"));
        assert_eq!(labels(&mut Cursor::new(&img)), ["INSTALLER_0_1"]);
        img[32769] = b'X';
        assert_eq!(iso9660_volume_id(&mut Cursor::new(&img)), None);
    }

    #[test]
    fn identifies_filesystems_by_superblock() {
        let mut ext = vec![0u8; 4096];
        ext[1024 + 56] = 0x53;
        ext[1024 + 57] = 0xef;
        ext[1024 + 96] = 0x40; // extents: ext4
        for (i, b) in (1024 + 104..1024 + 120).enumerate() {
            ext[b] = i as u8;
        }
        let id = identify(&mut Cursor::new(&ext)).unwrap();
        assert_eq!(id.fs_type, "ext4");
        assert_eq!(id.uuid, "00010203-0405-0607-0809-0a0b0c0d0e0f");
        let mut btrfs = vec![0u8; 65536 + 4096];
        btrfs[65536 + 0x40..65536 + 0x48].copy_from_slice(b"_BHRfS_M");
        btrfs[65536 + 0x12b..65536 + 0x12f].copy_from_slice(b"root");
        let id = identify(&mut Cursor::new(&btrfs)).unwrap();
        assert_eq!((id.fs_type, id.label.as_deref()), ("btrfs", Some("root")));
        let mut fat = vec![0u8; 512];
        fat[510] = 0x55;
        fat[511] = 0xaa;
        fat[82..87].copy_from_slice(b"FAT32");
        fat[67..71].copy_from_slice(&0x1234abcdu32.to_le_bytes());
        assert_eq!(identify(&mut Cursor::new(&fat)).unwrap().uuid, "1234-ABCD");
        let mut luks = vec![0u8; 4096];
        luks[0..6].copy_from_slice(b"LUKS\xba\xbe");
        luks[168..172].copy_from_slice(b"abcd");
        assert_eq!(identify(&mut Cursor::new(&luks)).unwrap().uuid, "abcd");
        assert_eq!(identify(&mut Cursor::new(vec![0u8; 70000])), None);
    }

    #[test]
    fn reads_ext_and_fat_labels() {
        let mut img = vec![0u8; 4096];
        img[1024 + 56] = 0x53;
        img[1024 + 57] = 0xef;
        img[1024 + 120..1024 + 126].copy_from_slice(b"nixos\0");
        assert_eq!(ext_label(&mut Cursor::new(&img)).as_deref(), Some("nixos"));
        let mut fat = vec![0u8; 512];
        fat[510] = 0x55;
        fat[511] = 0xaa;
        fat[82..87].copy_from_slice(b"FAT32");
        fat[66] = 0x29;
        fat[71..82].copy_from_slice(b"ANSWERS    ");
        assert_eq!(fat_label(&mut Cursor::new(&fat)).as_deref(), Some("ANSWERS"));
    }
}
