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
