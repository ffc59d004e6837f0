//! The hybrid ISO: one file that boots as a CD and as a `dd`-ed USB stick or disk, under BIOS
//! (isolinux, El Torito + isohybrid MBR) and UEFI (GRUB in an El Torito EFI image that is also a
//! GPT ESP partition), as Debian's images are built.

use std::path::{Path, PathBuf};

use runner::Cmd;

use crate::rootfs::{io, RootfsError};

/// Boot menu entries: (label, title, extra kernel parameters).
/// The GRUB modules the ISO's EFI image loads: find this medium, read its config, boot Linux on
/// the screen and the serial line.
const GRUB_EFI_MODULES: &str =
    "part_gpt part_msdos iso9660 fat search search_fs_file configfile linux normal serial terminal all_video";

pub fn menu(serial_default: bool) -> Vec<(&'static str, &'static str, String)> {
    let console = if serial_default { "console=tty0 console=ttyS0,115200" } else { "" };
    vec![
        ("live", "Installer", console.to_string()),
        ("copytoram", "Installer (copy to RAM)", format!("{console} copytoram")),
        (
            "debug",
            "Installer (debug: shell on failure, trace)",
            format!("{console} boot.shell_on_fail boot.trace"),
        ),
        ("serial", "Installer (serial console)", "console=tty0 console=ttyS0,115200".to_string()),
    ]
}

#[derive(Debug)]
pub struct IsoInputs<'a> {
    pub volid: &'a str,
    pub kernel: &'a Path,
    pub initrd: &'a Path,
    pub squashfs: &'a Path,
    /// Parameters every entry gets (from the profile).
    pub kernel_params: &'a [String],
    /// Put the serial console on the default entry (test images, CI).
    pub serial_default: bool,
    /// Extra files on the medium (e.g. an answer file), path on the ISO → host path.
    pub extra_files: &'a [(String, PathBuf)],
}

pub fn build(inp: &IsoInputs, out: &Path, work: &Path) -> Result<(), RootfsError> {
    if inp.volid.len() > 32 {
        return Err(RootfsError::Io {
            context: format!("volume id {:?}", inp.volid),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "at most 32 characters"),
        });
    }
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(io("clearing the ISO staging directory"))?;
    }
    let stage = work.join("iso");
    for d in ["boot/grub", "isolinux", "live", ".disk"] {
        std::fs::create_dir_all(stage.join(d)).map_err(io(format!("creating {d}")))?;
    }
    let link_or_copy = |from: &Path, to: &Path| -> Result<(), RootfsError> {
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).map_err(io(format!("copying {}", from.display())))?;
        }
        Ok(())
    };
    link_or_copy(inp.kernel, &stage.join("boot/vmlinuz"))?;
    link_or_copy(inp.initrd, &stage.join("boot/initrd"))?;
    link_or_copy(inp.squashfs, &stage.join("live/filesystem.squashfs"))?;
    for (path, host) in inp.extra_files {
        let dest = stage.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().expect("has parent")).map_err(io("creating a directory"))?;
        std::fs::copy(host, &dest).map_err(io(format!("copying {}", host.display())))?;
    }
    let marker = format!(".disk/installer-{}", inp.volid);
    std::fs::write(stage.join(&marker), format!("{}\n", inp.volid)).map_err(io("writing the marker"))?;
    let params = inp.kernel_params.join(" ");
    let root = format!("root=live:LABEL={}", inp.volid);
    // BIOS: isolinux.
    std::fs::copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", stage.join("isolinux/ldlinux.c32"))
        .map_err(io("copying ldlinux.c32 (is syslinux-common installed?)"))?;
    std::fs::copy("/usr/lib/ISOLINUX/isolinux.bin", stage.join("isolinux/isolinux.bin"))
        .map_err(io("copying isolinux.bin (is isolinux installed?)"))?;
    let mut cfg = String::from("SERIAL 0 115200\nPROMPT 1\nTIMEOUT 20\nDEFAULT live\n");
    for (label, title, extra) in menu(inp.serial_default) {
        cfg.push_str(&format!(
            "\nLABEL {label}\n  MENU LABEL {title}\n  KERNEL /boot/vmlinuz\n  INITRD /boot/initrd\n  APPEND {root} {params} {extra}\n"
        ));
    }
    std::fs::write(stage.join("isolinux/isolinux.cfg"), cfg).map_err(io("writing isolinux.cfg"))?;
    // UEFI: GRUB with an embedded config that finds this medium by its marker file.
    let mut grub = String::from("serial --unit=0 --speed=115200\nterminal_input console serial\nterminal_output console serial\nset timeout=2\nset default=0\n");
    for (_, title, extra) in menu(inp.serial_default) {
        grub.push_str(&format!(
            "menuentry '{title}' {{\n  linux /boot/vmlinuz initrd=initrd {root} {params} {extra}\n  initrd /boot/initrd\n}}\n"
        ));
    }
    std::fs::write(stage.join("boot/grub/grub.cfg"), grub).map_err(io("writing grub.cfg"))?;
    let embedded = work.join("embedded.cfg");
    std::fs::write(&embedded, format!("search --no-floppy --set=root --file /{marker}\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n"))
        .map_err(io("writing the embedded GRUB config"))?;
    let bootx64 = work.join("BOOTX64.EFI");
    Cmd::new("building the EFI GRUB image", "grub-mkstandalone")
        .args(["-O", "x86_64-efi", "--locales=", "--fonts=", "--themes="])
        .arg(format!("--modules={GRUB_EFI_MODULES}"))
        // Only these (and what they need) in the image's memdisk: 1.2 MB instead of 3.5 MB.
        .arg(format!("--install-modules={GRUB_EFI_MODULES} echo"))
        .arg("-o")
        .arg(&bootx64)
        .arg(format!("boot/grub/grub.cfg={}", embedded.display()))
        .run()?;
    let efi_img = stage.join("boot/grub/efi.img");
    let size_kib =
        (std::fs::metadata(&bootx64).map_err(io("sizing BOOTX64.EFI"))?.len() / 1024 + 512).max(2048);
    Cmd::new("making the EFI image", "mkfs.vfat").arg("-C").arg(&efi_img).arg(size_kib.to_string()).run()?;
    Cmd::new("making EFI directories", "mmd")
        .arg("-i")
        .arg(&efi_img)
        .args(["::/EFI", "::/EFI/BOOT"])
        .run()?;
    Cmd::new("copying BOOTX64.EFI", "mcopy")
        .arg("-i")
        .arg(&efi_img)
        .arg(&bootx64)
        .arg("::/EFI/BOOT/BOOTX64.EFI")
        .run()?;
    let _ = std::fs::remove_file(out);
    Cmd::new("writing the hybrid ISO", "xorriso")
        .args(["-as", "mkisofs", "-r", "-J", "-joliet-long", "-V", inp.volid, "-o"])
        .arg(out)
        .args(["-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin"])
        .args([
            "-b",
            "isolinux/isolinux.bin",
            "-c",
            "isolinux/boot.cat",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-no-emul-boot",
        ])
        .args(["-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat"])
        .arg(&stage)
        .run()?;
    Ok(())
}
