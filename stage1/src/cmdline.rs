//! The kernel command line as stage-1 reads it.

/// What stage-1 was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmdline {
    /// `root=live:LABEL=<label>`: the volume id or filesystem label of the live medium.
    pub live_label: Option<String>,
    /// `root=live:http://…`: a squashfs to download (after DHCP on every wired NIC).
    pub live_url: Option<String>,
    /// `root=live:initrd`: the squashfs is inside the initrd (netboot).
    pub live_initrd: bool,
    /// `root=UUID=…`, `root=LABEL=…`, `root=/dev/…`: the installed system's root (overrides the
    /// root description in the initrd).
    pub root: Option<String>,
    /// `rootfstype=`, `rootflags=`.
    pub root_fs_type: Option<String>,
    pub root_flags: Option<String>,
    /// `findiso=/path/x.iso`: the medium is an ISO file on some filesystem.
    pub findiso: Option<String>,
    pub copytoram: bool,
    pub shell_on_fail: bool,
    pub debug1: bool,
    pub trace: bool,
    pub panic_on_fail: bool,
    /// `rd.timeout=S`: how long to wait for the medium (default 60).
    pub timeout_secs: u64,
    /// `rd.modules=a,b`: extra modules to load.
    pub modules: Vec<String>,
    /// `init=`: what to run in the new root (default /sbin/init).
    pub init: String,
}

impl Cmdline {
    pub fn parse(text: &str) -> Cmdline {
        let mut c = Cmdline { timeout_secs: 60, init: "/sbin/init".into(), ..Default::default() };
        for w in text.split_whitespace() {
            let (k, v) = w.split_once('=').unwrap_or((w, ""));
            match k {
                "root" => {
                    if let Some(l) = v.strip_prefix("live:LABEL=") {
                        c.live_label = Some(l.to_string());
                    } else if v == "live:initrd" {
                        c.live_initrd = true;
                    } else if let Some(u) = v.strip_prefix("live:") {
                        if u.starts_with("http://") || u.starts_with("https://") {
                            c.live_url = Some(u.to_string());
                        }
                    } else if !v.is_empty() {
                        c.root = Some(v.to_string());
                    }
                }
                "rootfstype" => c.root_fs_type = Some(v.to_string()),
                "rootflags" => c.root_flags = Some(v.to_string()),
                "findiso" => c.findiso = Some(v.to_string()),
                "copytoram" => c.copytoram = v != "0",
                "boot.shell_on_fail" => c.shell_on_fail = true,
                "boot.debug1" => c.debug1 = true,
                "boot.trace" => c.trace = true,
                "boot.panic_on_fail" => c.panic_on_fail = true,
                "rd.timeout" => c.timeout_secs = v.parse().unwrap_or(60),
                "rd.modules" => c.modules.extend(v.split(',').filter(|m| !m.is_empty()).map(str::to_string)),
                "init" if !v.is_empty() => c.init = v.to_string(),
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_init_keeps_the_default() {
        // Found by the property tests: `init=` used to leave nothing to run in the new root.
        assert_eq!(Cmdline::parse("init= quiet").init, "/sbin/init");
        assert_eq!(Cmdline::parse("init=/bin/sh").init, "/bin/sh");
    }

    #[test]
    fn parses_live_parameters() {
        let c = Cmdline::parse("BOOT_IMAGE=/boot/vmlinuz root=live:LABEL=INSTALLER_0.1 copytoram boot.shell_on_fail boot.trace installer.answer=file:/a.toml rd.modules=e1000,vfat");
        assert_eq!(c.live_label.as_deref(), Some("INSTALLER_0.1"));
        assert!(c.copytoram && c.shell_on_fail && c.trace && !c.debug1 && !c.panic_on_fail);
        assert_eq!(c.modules, ["e1000", "vfat"]);
        assert_eq!(c.init, "/sbin/init");
        let h = Cmdline::parse("root=live:http://10.0.2.2:8000/live.squashfs boot.debug1 rd.timeout=5");
        assert_eq!(h.live_url.as_deref(), Some("http://10.0.2.2:8000/live.squashfs"));
        assert!(h.debug1);
        assert_eq!(h.timeout_secs, 5);
        let i = Cmdline::parse("root=UUID=1234 rootflags=subvol=@ rootfstype=btrfs");
        assert_eq!(i.root.as_deref(), Some("UUID=1234"));
        assert_eq!((i.root_fs_type.as_deref(), i.root_flags.as_deref()), (Some("btrfs"), Some("subvol=@")));
        assert_eq!(i.live_label, None);
    }
}
