//! systemd-boot: `loader/loader.conf` and one `loader/entries/*.conf` per generation; the kernels
//! live on the ESP under `EFI/installer/`.

use crate::{BootError, Generation};

/// The entry file name of a generation.
pub fn entry_name(g: &Generation) -> String {
    format!("installer-generation-{}.conf", g.number)
}

/// `loader.conf`: the newest generation is the default; `timeout_secs` None shows the menu until
/// a key is pressed, 0 boots at once.
pub fn render_loader(generations: &[Generation], timeout_secs: Option<u32>) -> Result<String, BootError> {
    let newest = generations.last().ok_or(BootError::NoGenerations)?;
    let timeout = timeout_secs.map_or("menu-force".to_string(), |t| t.to_string());
    Ok(format!("timeout {timeout}\ndefault {}\nconsole-mode keep\neditor no\n", entry_name(newest)))
}

/// Entry files (name, content), one per generation.
pub fn render_entries(title: &str, generations: &[Generation]) -> Vec<(String, String)> {
    generations
        .iter()
        .map(|g| {
            (
                entry_name(g),
                format!(
                    "title {title}\nversion Generation {} ({}, kernel {})\nsort-key installer\nlinux {}\ninitrd {}\noptions {}\n",
                    g.number, g.date, g.kernel_version, g.kernel, g.initrd, g.params
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_generation_and_the_newest_is_default() {
        let g = |n: u32| Generation {
            number: n,
            date: "d".into(),
            kernel_version: "k".into(),
            kernel: format!("/EFI/installer/generation-{n}-vmlinuz"),
            initrd: format!("/EFI/installer/generation-{n}-initrd"),
            params: "ro".into(),
        };
        let gens = [g(1), g(3)];
        assert_eq!(
            render_loader(&gens, Some(3)).unwrap(),
            "timeout 3\ndefault installer-generation-3.conf\nconsole-mode keep\neditor no\n"
        );
        let e = render_entries("Debian", &gens);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, "installer-generation-1.conf");
        assert_eq!(
            e[1].1,
            "title Debian\nversion Generation 3 (d, kernel k)\nsort-key installer\nlinux /EFI/installer/generation-3-vmlinuz\ninitrd /EFI/installer/generation-3-initrd\noptions ro\n"
        );
        assert!(render_loader(&[], Some(3)).is_err());
        assert!(render_loader(&gens, None).unwrap().starts_with("timeout menu-force\n"));
        assert!(render_loader(&gens, Some(0)).unwrap().starts_with("timeout 0\n"));
    }
}
