//! The firmware's boot entries read back from the EFI variables (`BootOrder`, `Boot####`) with
//! the `efivar` crate, to show and check what the bootloader step registered.

use efivar::boot::{BootEntry, BootEntryAttributes};
use efivar::efi::Variable;

/// One `Boot####` entry, in `BootOrder`'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfiBootEntry {
    pub number: u16,
    pub description: String,
    /// The loader's path on its partition (none for the firmware's own entries: DVD, network).
    pub loader: Option<String>,
    pub active: bool,
}

impl std::fmt::Display for EfiBootEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boot{:04X}{} {}", self.number, if self.active { "*" } else { "" }, self.description)?;
        if let Some(l) = &self.loader {
            write!(f, " ({l})")?;
        }
        Ok(())
    }
}

/// An entry from a `Boot####` variable's value (an EFI_LOAD_OPTION); `None` if it cannot be read.
pub fn parse_entry(number: u16, value: Vec<u8>) -> Option<EfiBootEntry> {
    let e = BootEntry::parse(value).ok()?;
    Some(EfiBootEntry {
        number,
        description: e.description,
        loader: e.file_path_list.map(|l| l.file_path.path),
        active: e.attributes.contains(BootEntryAttributes::LOAD_OPTION_ACTIVE),
    })
}

/// `BootOrder`'s numbers from its value (little-endian u16s).
pub fn parse_order(value: &[u8]) -> Vec<u16> {
    value.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
}

/// The running machine's boot entries in boot order (empty without UEFI or readable variables);
/// an entry that cannot be parsed is shown by its number alone.
pub fn efi_boot_entries() -> Vec<EfiBootEntry> {
    if !std::path::Path::new("/sys/firmware/efi/efivars").is_dir() {
        return vec![];
    }
    let vars = efivar::system();
    let Ok((order, _)) = vars.read(&Variable::new("BootOrder")) else { return vec![] };
    parse_order(&order)
        .into_iter()
        .map(|n| {
            vars.read(&Variable::new(&format!("Boot{n:04X}")))
                .ok()
                .and_then(|(v, _)| parse_entry(n, v))
                .unwrap_or(EfiBootEntry {
                    number: n,
                    description: "(unreadable)".into(),
                    loader: None,
                    active: false,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EFI_LOAD_OPTION as efibootmgr writes it: active, "installer", HD(1, GPT) then
    /// \EFI\installer\grubx64.efi.
    fn load_option() -> Vec<u8> {
        let mut v = vec![1, 0, 0, 0];
        let ucs2 = |s: &str| -> Vec<u8> { s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect() };
        let mut paths = vec![4, 1, 42, 0];
        paths.extend(1u32.to_le_bytes()); // partition number
        paths.extend(2048u64.to_le_bytes()); // start
        paths.extend(204800u64.to_le_bytes()); // size
        paths.extend([0x11; 16]); // partition GUID
        paths.extend([2, 2]); // GPT, GUID signature
        let file = ucs2("\\EFI\\installer\\grubx64.efi");
        paths.extend([4, 4]);
        paths.extend(((4 + file.len()) as u16).to_le_bytes());
        paths.extend(file);
        paths.extend([0x7f, 0xff, 4, 0]);
        v.extend((paths.len() as u16).to_le_bytes());
        v.extend(ucs2("installer"));
        v.extend(paths);
        v
    }

    #[test]
    fn reads_an_entry_and_the_order() {
        let e = parse_entry(4, load_option()).unwrap();
        assert_eq!(e.to_string(), "Boot0004* installer (\\EFI\\installer\\grubx64.efi)");
        assert_eq!(parse_order(&[4, 0, 1, 0, 0x10, 0]), [4, 1, 16]);
        assert_eq!(parse_entry(1, vec![1, 0]), None);
    }
}
