//! Kickstart storage as a storage spec: `part`, `raid`, `volgroup`, `logvol`, `autopart`,
//! `reqpart` on the disks `clearpart` allows to erase (`ignoredisk --only-use` picks the default
//! disk, else the largest). The plan erases whole disks: a file that keeps partitions
//! (`clearpart --none`, no `clearpart`, `--onpart`, `--noformat`) is refused, not guessed at.

use std::collections::BTreeMap;

use super::lex::Command;
use super::opts::{Grammar, Opts};
use super::{Cx, Note};
use crate::storage::size::{Size, MIB};
use crate::storage::spec::*;

/// Where partitions go: a disk path, or the default disk.
type DiskKey = Option<String>;

#[derive(Default)]
struct Storage {
    /// `clearpart`: `None` for `--all`, else the disks it lists.
    clear: Option<Option<Vec<String>>>,
    only_use: Vec<String>,
    ignored_disks: Vec<String>,
    table: TableKind,
    disks: Vec<(DiskKey, Vec<PartitionSpec>, Note)>,
    raids: Vec<RaidSpec>,
    vgs: Vec<VgSpec>,
    /// `pv.01` → its volume group, `raid.01` → its array.
    pv_vg: BTreeMap<String, String>,
    member_array: BTreeMap<String, String>,
    /// (passphrase, secret name), one secret per distinct passphrase.
    passphrases: Vec<(String, String)>,
}

/// `sda` → `/dev/sda`; `disk/by-id/x` → `/dev/disk/by-id/x`.
fn dev_path(d: &str) -> String {
    if d.starts_with("/dev/") {
        d.to_string()
    } else {
        format!("/dev/{d}")
    }
}

fn mib(n: u64) -> Size {
    Size::Bytes(n.saturating_mul(MIB))
}

fn part_spec(size: Size, kind: PartType, content: Option<Content>) -> PartitionSpec {
    PartitionSpec { name: None, size, kind, bootable: false, preserve: false, number: None, content }
}

fn filesystem(
    format: FsFormat,
    mountpoint: Option<&str>,
    label: Option<&str>,
    options: Vec<String>,
) -> Content {
    Content::Filesystem {
        format,
        label: label.map(String::from),
        mountpoint: mountpoint.map(String::from),
        options,
        subvolumes: vec![],
    }
}

/// The storage commands of `commands` into the answer's `[storage]` and `[secrets]`.
pub fn translate(commands: &[Command], cx: &mut Cx) {
    let mut st = Storage::default();
    let of =
        |n: &[&str]| -> Vec<&Command> { commands.iter().filter(|c| n.contains(&c.name.as_str())).collect() };
    for c in of(&["clearpart", "zerombr", "ignoredisk", "volgroup", "raid"]) {
        st.first_pass(c, cx);
    }
    for c in of(&["reqpart", "autopart", "part", "partition", "raid", "logvol"]) {
        match c.name.as_str() {
            "reqpart" => st.reqpart(c, cx),
            "autopart" => st.autopart(c, cx),
            "part" | "partition" => st.part(c, cx),
            "raid" => st.raid(c, cx),
            _ => st.logvol(c, cx),
        }
    }
    st.finish(commands, cx);
}

impl Storage {
    fn first_pass(&mut self, c: &Command, cx: &mut Cx) {
        match c.name.as_str() {
            "clearpart" => self.clearpart(c, cx),
            "ignoredisk" => {
                let g = Grammar { values: &["only-use", "drives"], flags: &["interactive"], ignored: &[] };
                let Some(o) = cx.opts(c, &g) else { return };
                self.only_use = o.list("only-use").iter().map(|d| dev_path(d)).collect();
                self.ignored_disks = o.list("drives").iter().map(|d| dev_path(d)).collect();
            }
            "volgroup" => self.volgroup(c, cx),
            "raid" => {
                let Some(o) = cx.opts(c, &RAID) else { return };
                let Some(device) = o.value("device").map(|d| d.trim_start_matches("/dev/md/").to_string())
                else {
                    return cx.error(&c.at, "raid needs --device (the array's name, like md0)");
                };
                for m in o.positional.iter().skip(1) {
                    self.member_array.insert(m.clone(), device.clone());
                }
            }
            _ => {} // zerombr: the plan writes new tables anyway.
        }
    }

    fn clearpart(&mut self, c: &Command, cx: &mut Cx) {
        let g = Grammar {
            values: &["drives", "disklabel", "list", "cdl"],
            flags: &["all", "linux", "none", "initlabel"],
            ignored: &["cdl"],
        };
        let Some(o) = cx.opts(c, &g) else { return };
        if o.flag("none") || o.flag("linux") || o.value("list").is_some() {
            return cx.error(
                &c.at,
                "clearpart keeping partitions (--none, --linux, --list) has no equivalent: the plan erases whole disks; keep partitions with preserve = true in an answer file",
            );
        }
        let drives: Vec<String> = o.list("drives").iter().map(|d| dev_path(d)).collect();
        self.clear = Some(if drives.is_empty() { None } else { Some(drives) });
        match o.value("disklabel") {
            None | Some("gpt") => {}
            Some("msdos") | Some("mbr") => self.table = TableKind::Mbr,
            Some(l) => cx.error(&c.at, &format!("clearpart --disklabel={l}: gpt or msdos")),
        }
    }

    fn volgroup(&mut self, c: &Command, cx: &mut Cx) {
        let g = Grammar {
            values: &["pesize", "reserved-space", "reserved-percent"],
            flags: &["noformat", "useexisting"],
            ignored: &["pesize", "reserved-space", "reserved-percent"],
        };
        let Some(o) = cx.opts(c, &g) else { return };
        if o.flag("noformat") || o.flag("useexisting") {
            return cx
                .error(&c.at, "volgroup --useexisting/--noformat: reusing a volume group has no equivalent");
        }
        let Some((name, pvs)) = o.positional.split_first() else {
            return cx.error(&c.at, "volgroup takes a name and its physical volumes (pv.01 …)");
        };
        for pv in pvs {
            self.pv_vg.insert(pv.clone(), name.clone());
        }
        self.vgs.push(VgSpec { name: name.clone(), lvs: vec![] });
    }

    /// The partitions of disk `key`, made when first used.
    fn disk(&mut self, key: DiskKey, at: &Note) -> &mut Vec<PartitionSpec> {
        let i = match self.disks.iter().position(|(k, ..)| *k == key) {
            Some(i) => i,
            None => {
                self.disks.push((key, vec![], at.clone()));
                self.disks.len() - 1
            }
        };
        &mut self.disks[i].1
    }

    /// The secret holding `passphrase` (one per distinct passphrase).
    fn passphrase_secret(&mut self, passphrase: &str, cx: &mut Cx) -> String {
        if let Some((_, name)) = self.passphrases.iter().find(|(p, _)| p == passphrase) {
            return name.clone();
        }
        let name = match self.passphrases.len() {
            0 => "luks-passphrase".to_string(),
            n => format!("luks-passphrase-{}", n + 1),
        };
        self.passphrases.push((passphrase.to_string(), name.clone()));
        cx.answer.secrets.insert(name.clone(), passphrase.to_string());
        name
    }

    /// `inner` in LUKS when the command says `--encrypted`.
    fn maybe_luks(&mut self, o: &Opts, inner: Content, what: &str, cx: &mut Cx) -> Option<Content> {
        if !o.flag("encrypted") {
            return Some(inner);
        }
        let Some(p) = o.value("passphrase") else {
            cx.error(&o.at, "--encrypted needs --passphrase (nobody is asked during an unattended install)");
            return None;
        };
        let version = match o.value("luks-version") {
            None | Some("luks2") => 2,
            Some("luks1") => 1,
            Some(v) => {
                cx.error(&o.at, &format!("--luks-version={v}: luks1 or luks2"));
                return None;
            }
        };
        let secret = self.passphrase_secret(p, cx);
        let name = format!("luks-{}", what.trim_matches('/').replace(['/', '.'], "-"));
        let name = if name == "luks-" { "luks-root".to_string() } else { name };
        Some(Content::Luks {
            name,
            version,
            cipher: o.value("cipher").map(String::from),
            pbkdf: if o.value("pbkdf") == Some("pbkdf2") { PbkdfKind::Pbkdf2 } else { PbkdfKind::Argon2id },
            iter_time_ms: None,
            passphrase: Some(secret),
            keyfile: None,
            content: Box::new(inner),
        })
    }
}

const PART: Grammar = Grammar {
    values: &[
        "size",
        "maxsize",
        "ondisk",
        "ondrive",
        "fstype",
        "label",
        "passphrase",
        "luks-version",
        "fsoptions",
        "cipher",
        "pbkdf",
        "mkfsoptions",
        "fsprofile",
        "onpart",
        "usepart",
        "start",
        "end",
        "escrowcert",
        "pbkdf-memory",
        "pbkdf-time",
        "pbkdf-iterations",
        "fsuuid",
    ],
    flags: &[
        "grow",
        "asprimary",
        "encrypted",
        "noformat",
        "recommended",
        "hibernation",
        "backuppassphrase",
        "resize",
    ],
    ignored: &[
        "maxsize",
        "asprimary",
        "mkfsoptions",
        "fsprofile",
        "start",
        "end",
        "escrowcert",
        "pbkdf-memory",
        "pbkdf-time",
        "pbkdf-iterations",
        "backuppassphrase",
        "fsuuid",
    ],
};

const RAID: Grammar = Grammar {
    values: &[
        "level",
        "device",
        "fstype",
        "label",
        "passphrase",
        "luks-version",
        "fsoptions",
        "cipher",
        "pbkdf",
        "mkfsoptions",
        "fsprofile",
        "spares",
        "chunksize",
        "escrowcert",
    ],
    flags: &["encrypted", "noformat", "useexisting", "backuppassphrase"],
    ignored: &["mkfsoptions", "fsprofile", "spares", "chunksize", "escrowcert", "backuppassphrase"],
};

const LOGVOL: Grammar = Grammar {
    values: &[
        "vgname",
        "name",
        "size",
        "percent",
        "maxsize",
        "fstype",
        "label",
        "passphrase",
        "luks-version",
        "fsoptions",
        "cipher",
        "pbkdf",
        "mkfsoptions",
        "fsprofile",
        "poolname",
        "chunksize",
        "metadatasize",
        "cachesize",
        "cachemode",
        "cachepvs",
        "escrowcert",
    ],
    flags: &[
        "grow",
        "encrypted",
        "noformat",
        "useexisting",
        "recommended",
        "hibernation",
        "thinpool",
        "thin",
        "backuppassphrase",
        "resize",
    ],
    ignored: &[
        "maxsize",
        "mkfsoptions",
        "fsprofile",
        "chunksize",
        "metadatasize",
        "cachesize",
        "cachemode",
        "cachepvs",
        "escrowcert",
        "backuppassphrase",
    ],
};

/// A filesystem type Kickstart names, as one this installer makes.
fn format_of(o: &Opts, cx: &mut Cx) -> Option<FsFormat> {
    match o.value("fstype").unwrap_or("ext4") {
        "ext4" => Some(FsFormat::Ext4),
        "xfs" => Some(FsFormat::Xfs),
        "btrfs" => Some(FsFormat::Btrfs),
        "vfat" | "efi" => Some(FsFormat::Vfat),
        t @ ("ext2" | "ext3") => {
            cx.warn(&o.at, &format!("--fstype={t}: made as ext4"));
            Some(FsFormat::Ext4)
        }
        t => {
            cx.error(&o.at, &format!("--fstype={t}: this installer makes ext4, xfs, btrfs, vfat and swap"));
            None
        }
    }
}

impl Storage {
    /// What a `part`/`raid`/`logvol` with mount point `mnt` holds, and the partition type for it.
    fn content_for(&mut self, mnt: &str, o: &Opts, cx: &mut Cx) -> Option<(PartType, Option<Content>)> {
        let fstype = o.value("fstype");
        if mnt == "biosboot" || fstype == Some("biosboot") {
            return Some((PartType::BiosBoot, None));
        }
        if mnt == "swap" || fstype == Some("swap") {
            let swap = Content::Swap { label: o.value("label").map(String::from) };
            return Some((PartType::Swap, Some(self.maybe_luks(o, swap, "swap", cx)?)));
        }
        if let Some(vg) = mnt.starts_with("pv.").then(|| self.pv_vg.get(mnt).cloned()) {
            let Some(vg) = vg else {
                cx.error(&o.at, &format!("{mnt} is in no volgroup"));
                return None;
            };
            let kind = if o.flag("encrypted") { PartType::Linux } else { PartType::Lvm };
            return Some((kind, Some(self.maybe_luks(o, Content::LvmPv { vg }, mnt, cx)?)));
        }
        if let Some(array) = mnt.starts_with("raid.").then(|| self.member_array.get(mnt).cloned()) {
            let Some(array) = array else {
                cx.error(&o.at, &format!("{mnt} is in no raid"));
                return None;
            };
            return Some((PartType::Raid, Some(Content::RaidMember { array })));
        }
        if !mnt.starts_with('/') {
            cx.error(&o.at, &format!("{mnt:?}: a mount point, swap, biosboot, pv.* or raid.*"));
            return None;
        }
        let esp = mnt == "/boot/efi" || fstype == Some("efi");
        let format = format_of(o, cx)?;
        let options: Vec<String> = o.list("fsoptions");
        let fs = filesystem(format, Some(mnt), o.value("label"), options);
        let kind = if esp { PartType::Esp } else { PartType::Linux };
        if esp {
            return Some((kind, Some(fs)));
        }
        Some((kind, Some(self.maybe_luks(o, fs, mnt, cx)?)))
    }

    fn part(&mut self, c: &Command, cx: &mut Cx) {
        let Some(o) = cx.opts(c, &PART) else { return };
        if o.flag("noformat")
            || o.value("onpart").is_some()
            || o.value("usepart").is_some()
            || o.flag("resize")
        {
            return cx.error(&c.at, "part --onpart/--usepart/--noformat/--resize: reusing partitions has no equivalent here (the plan erases whole disks)");
        }
        let [mnt] = o.positional.as_slice() else {
            return cx.error(&c.at, "part takes one mount point (or swap, biosboot, pv.*, raid.*)");
        };
        let Some((kind, content)) = self.content_for(mnt, &o, cx) else { return };
        let size = match (o.flag("grow"), o.number("size"), kind) {
            (_, Err(e), _) => return cx.errors.push(e),
            (true, ..) => Size::Rest,
            (false, Ok(Some(n)), _) => mib(n),
            (false, Ok(None), PartType::BiosBoot) => mib(1),
            (false, Ok(None), PartType::Esp) => mib(600),
            (false, Ok(None), PartType::Swap) if o.flag("recommended") => mib(2048),
            (false, Ok(None), _) => return cx.error(&c.at, "part needs --size (in MiB) or --grow"),
        };
        let key = o.value("ondisk").or(o.value("ondrive")).map(dev_path);
        let parts = self.disk(key, &c.at);
        if size == Size::Rest && parts.iter().any(|p| p.size == Size::Rest) {
            return cx
                .error(&c.at, "a second --grow on this disk: here one partition per disk takes the rest");
        }
        parts.push(part_spec(size, kind, content));
    }

    fn raid(&mut self, c: &Command, cx: &mut Cx) {
        let Some(o) = cx.opts(c, &RAID) else { return };
        if o.flag("noformat") || o.flag("useexisting") {
            return cx.error(&c.at, "raid --useexisting/--noformat: reusing an array has no equivalent here");
        }
        let (Some(mnt), Some(device)) = (o.positional.first(), o.value("device")) else {
            return cx.error(&c.at, "raid takes a mount point, --device and its members");
        };
        let level = o.value("level").unwrap_or("").to_ascii_lowercase();
        let Ok(level) = level.trim_start_matches("raid").parse::<u8>() else {
            return cx.error(&c.at, "raid needs --level (RAID0, RAID1, RAID5 or RAID10)");
        };
        let mnt = mnt.clone();
        let Some((_, Some(content))) = self.content_for(&mnt, &o, cx) else {
            return cx.error(&c.at, "raid: an array holds a filesystem, swap or a physical volume");
        };
        let metadata = if mnt == "/boot/efi" { RaidMetadata::V1_0 } else { RaidMetadata::V1_2 };
        let name = device.trim_start_matches("/dev/md/").to_string();
        self.raids.push(RaidSpec { name, level, metadata, content });
    }

    fn logvol(&mut self, c: &Command, cx: &mut Cx) {
        let Some(o) = cx.opts(c, &LOGVOL) else { return };
        if ["noformat", "useexisting", "thinpool", "thin", "resize"].iter().any(|f| o.flag(f)) {
            return cx.error(
                &c.at,
                "logvol --useexisting/--noformat/--thin/--thinpool/--resize has no equivalent here",
            );
        }
        let ([mnt], Some(vg), Some(name)) = (o.positional.as_slice(), o.value("vgname"), o.value("name"))
        else {
            return cx.error(&c.at, "logvol takes a mount point, --vgname and --name");
        };
        let (mnt, vg, name) = (mnt.clone(), vg.to_string(), name.to_string());
        let Some((_, Some(content))) = self.content_for(&mnt, &o, cx) else { return };
        let size = match (o.flag("grow"), o.number("percent"), o.number("size")) {
            (_, Err(e), _) | (_, _, Err(e)) => return cx.errors.push(e),
            (true, ..) => Size::Rest,
            (false, Ok(Some(p)), _) => Size::Percent(p as f64),
            (false, _, Ok(Some(n))) => mib(n),
            (false, _, Ok(None)) if mnt == "swap" && o.flag("recommended") => mib(2048),
            _ => return cx.error(&c.at, "logvol needs --size (in MiB), --percent or --grow"),
        };
        match self.vgs.iter_mut().find(|v| v.name == vg) {
            Some(v) => v.lvs.push(LvSpec { name, size, content }),
            None => cx.error(&c.at, &format!("logvol --vgname={vg}: no volgroup {vg}")),
        }
    }
}

impl Storage {
    /// The partitions firmware needs: a BIOS boot partition and an ESP, so the disk boots
    /// either way; `--add-boot` adds /boot.
    fn reqpart(&mut self, c: &Command, cx: &mut Cx) {
        let g = Grammar { values: &[], flags: &["add-boot"], ignored: &[] };
        let Some(o) = cx.opts(c, &g) else { return };
        let mut parts = vec![
            part_spec(mib(1), PartType::BiosBoot, None),
            part_spec(
                mib(600),
                PartType::Esp,
                Some(filesystem(FsFormat::Vfat, Some("/boot/efi"), None, vec![])),
            ),
        ];
        if o.flag("add-boot") {
            parts.push(part_spec(
                mib(1024),
                PartType::Linux,
                Some(filesystem(FsFormat::Ext4, Some("/boot"), None, vec![])),
            ));
        }
        let disk = self.disk(None, &c.at);
        for (i, p) in parts.into_iter().enumerate() {
            disk.insert(i, p);
        }
    }

    /// Anaconda's automatic layout on the default disk: the firmware's partitions, /boot, then
    /// LVM (swap, root, home), plain partitions or btrfs subvolumes; `--encrypted` puts all but
    /// /boot in LUKS.
    fn autopart(&mut self, c: &Command, cx: &mut Cx) {
        let g = Grammar {
            values: &[
                "type",
                "fstype",
                "passphrase",
                "luks-version",
                "cipher",
                "pbkdf",
                "escrowcert",
                "pbkdf-memory",
                "pbkdf-time",
                "pbkdf-iterations",
            ],
            flags: &["encrypted", "nolvm", "nohome", "noboot", "noswap", "hibernation", "backuppassphrase"],
            ignored: &[
                "escrowcert",
                "pbkdf-memory",
                "pbkdf-time",
                "pbkdf-iterations",
                "backuppassphrase",
                "hibernation",
            ],
        };
        let Some(o) = cx.opts(c, &g) else { return };
        let kind = match (o.value("type"), o.flag("nolvm")) {
            (_, true) | (Some("plain"), _) => "plain",
            (None | Some("lvm"), _) => "lvm",
            (Some("thinp"), _) => {
                cx.warn(&c.at, "autopart --type=thinp: made as plain LVM");
                "lvm"
            }
            (Some("btrfs"), _) => "btrfs",
            (Some(t), _) => {
                return cx.error(&c.at, &format!("autopart --type={t}: lvm, plain, btrfs or thinp"))
            }
        };
        let Some(format) = format_of(&o, cx) else { return };
        self.reqpart(&Command { args: vec![], ..c.clone() }, cx);
        let (home, swap) = (!o.flag("nohome"), !o.flag("noswap"));
        let mut parts = vec![];
        if !o.flag("noboot") {
            parts.push(part_spec(
                mib(1024),
                PartType::Linux,
                Some(filesystem(FsFormat::Ext4, Some("/boot"), None, vec![])),
            ));
        }
        let more = match kind {
            "lvm" => self.autopart_lvm(&o, format, home, swap, cx),
            "btrfs" => self.autopart_btrfs(&o, home, swap, cx),
            _ => self.autopart_plain(&o, format, home, swap, cx),
        };
        let Some(more) = more else { return };
        parts.extend(more);
        self.disk(None, &c.at).extend(parts);
    }

    /// autopart's LVM: one physical volume (in LUKS when encrypted) with swap, root and home.
    fn autopart_lvm(
        &mut self,
        o: &Opts,
        format: FsFormat,
        home: bool,
        swap: bool,
        cx: &mut Cx,
    ) -> Option<Vec<PartitionSpec>> {
        let pv = self.maybe_luks(o, Content::LvmPv { vg: "vg0".into() }, "pv", cx)?;
        let pv_kind = if o.flag("encrypted") { PartType::Linux } else { PartType::Lvm };
        let mut lvs = vec![];
        if swap {
            lvs.push(LvSpec { name: "swap".into(), size: mib(2048), content: Content::Swap { label: None } });
        }
        let root_size = if home { Size::Percent(50.0) } else { Size::Rest };
        lvs.push(LvSpec {
            name: "root".into(),
            size: root_size,
            content: filesystem(format, Some("/"), None, vec![]),
        });
        if home {
            let h = filesystem(format, Some("/home"), None, vec![]);
            lvs.push(LvSpec { name: "home".into(), size: Size::Rest, content: h });
        }
        self.vgs.push(VgSpec { name: "vg0".into(), lvs });
        Some(vec![part_spec(Size::Rest, pv_kind, Some(pv))])
    }

    /// autopart's btrfs: swap, then one btrfs (in LUKS when encrypted) with root and home subvolumes.
    fn autopart_btrfs(
        &mut self,
        o: &Opts,
        home: bool,
        swap: bool,
        cx: &mut Cx,
    ) -> Option<Vec<PartitionSpec>> {
        let mut parts = vec![];
        if swap {
            parts.push(part_spec(mib(2048), PartType::Swap, Some(Content::Swap { label: None })));
        }
        let sv = |name: &str, mp: &str| Subvolume {
            name: name.into(),
            mountpoint: Some(mp.into()),
            options: vec![],
        };
        let mut subvolumes = vec![sv("root", "/")];
        if home {
            subvolumes.push(sv("home", "/home"));
        }
        let fs = Content::Filesystem {
            format: FsFormat::Btrfs,
            label: None,
            mountpoint: None,
            options: vec![],
            subvolumes,
        };
        parts.push(part_spec(Size::Rest, PartType::Linux, Some(self.maybe_luks(o, fs, "/", cx)?)));
        Some(parts)
    }

    /// autopart's plain partitions: swap, root and home (each in LUKS when encrypted).
    fn autopart_plain(
        &mut self,
        o: &Opts,
        format: FsFormat,
        home: bool,
        swap: bool,
        cx: &mut Cx,
    ) -> Option<Vec<PartitionSpec>> {
        let mut parts = vec![];
        if swap {
            let s = self.maybe_luks(o, Content::Swap { label: None }, "swap", cx)?;
            parts.push(part_spec(mib(2048), PartType::Swap, Some(s)));
        }
        let root_size = if home { Size::Percent(50.0) } else { Size::Rest };
        let root = self.maybe_luks(o, filesystem(format, Some("/"), None, vec![]), "/", cx)?;
        parts.push(part_spec(root_size, PartType::Linux, Some(root)));
        if home {
            let h = self.maybe_luks(o, filesystem(format, Some("/home"), None, vec![]), "/home", cx)?;
            parts.push(part_spec(Size::Rest, PartType::Linux, Some(h)));
        }
        Some(parts)
    }

    /// The disks as the answer's: each checked against what `clearpart` and `ignoredisk` allow.
    fn finish(self, commands: &[Command], cx: &mut Cx) {
        if self.disks.is_empty() {
            let at = commands.first().map(|c| c.at.with("")).unwrap_or_else(|| Note::new("", 1, ""));
            return cx.error(
                &at,
                "no storage: the file has no part, autopart or reqpart (an unattended install needs one)",
            );
        }
        let default = self.only_use.first().cloned();
        for (key, parts, at) in self.disks {
            let path = key.clone().or(default.clone());
            let erasable = match (&self.clear, &path) {
                (None, _) => Err("there is no clearpart: Kickstart would keep what is on the disk, this install erases it; add clearpart --all (or --drives=) to say which disks may be erased".to_string()),
                (Some(None), _) => Ok(()),
                (Some(Some(drives)), Some(p)) if drives.contains(p) => Ok(()),
                (Some(Some(drives)), p) => Err(format!(
                    "{} is not among the disks clearpart --drives allows to erase ({})",
                    p.as_deref().unwrap_or("the largest disk"),
                    drives.join(", ")
                )),
            };
            if let Err(m) = erasable {
                cx.error(&at, &m);
                continue;
            }
            if path.as_ref().is_some_and(|p| self.ignored_disks.contains(p)) {
                cx.error(
                    &at,
                    &format!("{} is a disk ignoredisk --drives leaves alone", path.unwrap_or_default()),
                );
                continue;
            }
            if !self.only_use.is_empty() && path.as_ref().is_some_and(|p| !self.only_use.contains(p)) {
                cx.error(&at, &format!("{} is not among ignoredisk --only-use", path.unwrap_or_default()));
                continue;
            }
            let selector = match path {
                Some(p) => DiskSelector { path: Some(p), ..Default::default() },
                None => {
                    cx.warn(&at, "no --ondisk and no ignoredisk --only-use: the largest disk is used");
                    DiskSelector { largest: true, ..Default::default() }
                }
            };
            cx.answer.storage.disks.push(DiskSpec {
                id: None,
                selectors: Selectors::One(selector),
                table: self.table,
                partitions: parts,
            });
        }
        cx.answer.storage.raids = self.raids;
        cx.answer.storage.vgs = self.vgs;
    }
}
