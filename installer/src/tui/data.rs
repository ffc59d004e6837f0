//! What the live system offers: keymaps, locales, time zones, network interfaces. Read once when
//! the TUI starts; each reader falls back to a short list when the data is not installed.

use std::path::Path;

use super::model::{Interface, LiveData};

/// Console keymaps ([`crate::livedata::keymaps`]), `us` when none are installed.
pub fn keymaps(root: &Path) -> Vec<String> {
    let mut out = crate::livedata::keymaps(root).unwrap_or_default();
    if out.is_empty() {
        out.push("us".into());
    }
    out
}

/// Locales glibc supports ([`crate::livedata::locales`]) and the two every system has.
pub fn locales(root: &Path) -> Vec<String> {
    let mut out = crate::livedata::locales(root).unwrap_or_default();
    for d in ["C.UTF-8", "en_US.UTF-8"] {
        if !out.iter().any(|l| l == d) {
            out.push(d.into());
        }
    }
    out.sort();
    out
}

/// Time zones of tzdata's `zone1970.tab`, plus UTC.
pub fn zones(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("usr/share/zoneinfo/zone1970.tab")).unwrap_or_default();
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').nth(2))
        .map(str::to_string)
        .collect();
    out.push("UTC".into());
    out.sort();
    out.dedup();
    out
}

/// Network interfaces but loopback, with link state, MAC and addresses (`ip -j addr`).
pub fn interfaces() -> Vec<Interface> {
    let json = std::process::Command::new("ip")
        .args(["-j", "addr", "show"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    parse_ip_addr(&json)
}

/// Parses `ip -j addr show`.
pub fn parse_ip_addr(json: &str) -> Vec<Interface> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let mut out = vec![];
    for i in v.as_array().into_iter().flatten() {
        let name = i["ifname"].as_str().unwrap_or("").to_string();
        if name.is_empty() || name == "lo" || i["link_type"].as_str() == Some("loopback") {
            continue;
        }
        let up = i["operstate"].as_str() == Some("UP");
        let mac = i["address"].as_str().unwrap_or("").to_string();
        let addresses = i["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["scope"].as_str() == Some("global"))
            .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"].as_u64()?)))
            .collect();
        out.push(Interface { name, up, mac, addresses });
    }
    out
}

/// The terminal the TUI reads keys from (`/dev/tty1`, `/dev/ttyS0`, `/dev/pts/0`…).
pub fn stdin_tty() -> Option<String> {
    std::fs::read_link("/proc/self/fd/0").ok().map(|p| p.to_string_lossy().to_string())
}

/// Everything, from the running system.
pub fn live() -> LiveData {
    let root = Path::new("/");
    let tty = stdin_tty().unwrap_or_default();
    let vt = tty.starts_with("/dev/tty") && tty["/dev/tty".len()..].chars().all(|c| c.is_ascii_digit());
    LiveData {
        keymaps: keymaps(root),
        locales: locales(root),
        zones: zones(root),
        interfaces: interfaces(),
        vt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_from_a_root_and_falls_back() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(keymaps(t.path()), vec!["us"]);
        assert_eq!(locales(t.path()), vec!["C.UTF-8", "en_US.UTF-8"]);
        assert_eq!(zones(t.path()), vec!["UTC"]);
        let km = t.path().join("usr/share/keymaps/i386/qwertz");
        std::fs::create_dir_all(&km).unwrap();
        std::fs::write(km.join("de.kmap.gz"), "").unwrap();
        std::fs::create_dir_all(t.path().join("usr/share/i18n")).unwrap();
        std::fs::write(t.path().join("usr/share/i18n/SUPPORTED"), "de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n")
            .unwrap();
        std::fs::create_dir_all(t.path().join("usr/share/zoneinfo")).unwrap();
        std::fs::write(
            t.path().join("usr/share/zoneinfo/zone1970.tab"),
            "# comment\nNL\t+5222+00454\tEurope/Amsterdam\nDE,DK\t+5230+01322\tEurope/Berlin\tmost of Germany\n",
        )
        .unwrap();
        assert_eq!(keymaps(t.path()), vec!["de"]);
        assert_eq!(locales(t.path()), vec!["C.UTF-8", "de_DE.UTF-8", "en_US.UTF-8"]);
        assert_eq!(zones(t.path()), vec!["Europe/Amsterdam", "Europe/Berlin", "UTC"]);
    }

    #[test]
    fn parses_ip_json() {
        let j = r#"[{"ifname":"lo","link_type":"loopback","operstate":"UNKNOWN","address":"00:00:00:00:00:00","addr_info":[]},
            {"ifname":"ens3","operstate":"UP","address":"52:54:00:12:34:56","link_type":"ether",
             "addr_info":[{"family":"inet","local":"10.0.2.15","prefixlen":24,"scope":"global"},
                          {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]"#;
        let i = parse_ip_addr(j);
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].name, "ens3");
        assert!(i[0].up);
        assert_eq!(i[0].addresses, vec!["10.0.2.15/24"]);
    }
}
