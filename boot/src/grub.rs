//! Our own `grub.cfg` (not update-grub): the newest generation as the default entry and every
//! generation in an "All configurations" submenu.

use crate::{BootError, Generation, Serial};

/// What the menu needs besides the generations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The distribution name shown in entries, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub title: String,
    /// The UUID of the filesystem holding the kernels (GRUB searches it).
    pub boot_fs_uuid: String,
    /// Seconds until the default entry boots (0: at once, without the menu); None waits for a key.
    pub timeout_secs: Option<u32>,
    pub serial: Option<Serial>,
    /// Newest last.
    pub generations: Vec<Generation>,
}

/// A word in grub.cfg: always single-quoted, as grub-mkconfig writes menu entry titles (GRUB's
/// script grammar is its own, not the POSIX shell's shlex quotes for), a single quote as `'\''`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn entry(out: &mut String, indent: &str, title: &str, id: &str, g: &Generation) {
    out.push_str(&format!("{indent}menuentry {} --id {id} {{\n", quote(title)));
    out.push_str(&format!("{indent}  echo {}\n", quote(&format!("Loading generation {}", g.number))));
    out.push_str(&format!("{indent}  linux {} {}\n", g.kernel, g.params));
    out.push_str(&format!("{indent}  initrd {}\n", g.initrd));
    out.push_str(&format!("{indent}}}\n"));
}

/// Renders grub.cfg.
pub fn render(m: &Menu) -> Result<String, BootError> {
    let newest = m.generations.last().ok_or(BootError::NoGenerations)?;
    let mut out = String::from("# Written by the installer; regenerated for every new generation.\n");
    if let Some(s) = m.serial {
        out.push_str(&format!(
            "serial --unit={} --speed={}\nterminal_input serial console\nterminal_output serial console\n",
            s.unit, s.speed
        ));
    }
    out.push_str("insmod part_msdos\ninsmod part_gpt\ninsmod ext2\ninsmod btrfs\ninsmod xfs\ninsmod fat\n");
    out.push_str(&format!("search --no-floppy --fs-uuid --set=root {}\n", m.boot_fs_uuid));
    let timeout = m.timeout_secs.map_or("-1".to_string(), |t| t.to_string());
    out.push_str(&format!("set default=0\nset timeout={timeout}\n\n"));
    entry(&mut out, "", &m.title, "default", newest);
    out.push_str(&format!("\nsubmenu {} --id all {{\n", quote(&format!("{} - All configurations", m.title))));
    for g in m.generations.iter().rev() {
        let title =
            format!("{} - Generation {} ({}, kernel {})", m.title, g.number, g.date, g.kernel_version);
        entry(&mut out, "  ", &title, &format!("generation-{}", g.number), g);
    }
    out.push_str("}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(n: u32) -> Generation {
        Generation {
            number: n,
            date: "2026-11-25 18:00".into(),
            kernel_version: "6.1.0-56-amd64".into(),
            kernel: format!("/boot/kernels/generation-{n}-vmlinuz"),
            initrd: format!("/boot/kernels/generation-{n}-initrd"),
            params: "console=ttyS0,115200 quiet".into(),
        }
    }

    #[test]
    fn the_newest_generation_is_the_default_and_all_are_in_the_submenu() {
        let m = Menu {
            title: "Debian GNU/Linux 12 (bookworm)".into(),
            boot_fs_uuid: "1234-ABCD".into(),
            timeout_secs: Some(5),
            serial: Some(Serial { unit: 0, speed: 115200 }),
            generations: vec![gen(1), gen(2)],
        };
        let cfg = render(&m).unwrap();
        let expected = "# Written by the installer; regenerated for every new generation.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod part_msdos
insmod part_gpt
insmod ext2
insmod btrfs
insmod xfs
insmod fat
search --no-floppy --fs-uuid --set=root 1234-ABCD
set default=0
set timeout=5

menuentry 'Debian GNU/Linux 12 (bookworm)' --id default {
  echo 'Loading generation 2'
  linux /boot/kernels/generation-2-vmlinuz console=ttyS0,115200 quiet
  initrd /boot/kernels/generation-2-initrd
}

submenu 'Debian GNU/Linux 12 (bookworm) - All configurations' --id all {
  menuentry 'Debian GNU/Linux 12 (bookworm) - Generation 2 (2026-11-25 18:00, kernel 6.1.0-56-amd64)' --id generation-2 {
    echo 'Loading generation 2'
    linux /boot/kernels/generation-2-vmlinuz console=ttyS0,115200 quiet
    initrd /boot/kernels/generation-2-initrd
  }
  menuentry 'Debian GNU/Linux 12 (bookworm) - Generation 1 (2026-11-25 18:00, kernel 6.1.0-56-amd64)' --id generation-1 {
    echo 'Loading generation 1'
    linux /boot/kernels/generation-1-vmlinuz console=ttyS0,115200 quiet
    initrd /boot/kernels/generation-1-initrd
  }
}
";
        assert_eq!(cfg, expected);
    }

    #[test]
    fn no_generation_is_an_error_and_quotes_are_escaped() {
        let mut m = Menu {
            title: "it's".into(),
            boot_fs_uuid: "u".into(),
            timeout_secs: Some(0),
            serial: None,
            generations: vec![],
        };
        assert!(matches!(render(&m), Err(BootError::NoGenerations)));
        m.generations.push(gen(1));
        assert!(render(&m).unwrap().contains("menuentry 'it'\\''s' --id default"));
        assert!(render(&m).unwrap().contains("\nset timeout=0\n"));
        m.timeout_secs = None;
        assert!(render(&m).unwrap().contains("\nset timeout=-1\n"), "no timeout: the menu waits for a key");
    }
}
