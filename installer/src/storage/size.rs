//! Sizes in storage specs: a byte count, `512MiB`/`20GiB`/`1.5TB`, a percentage of the disk, or `rest`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;
pub const TIB: u64 = 1024 * GIB;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    Bytes(u64),
    /// Percent of the container's usable size (0 < p <= 100).
    Percent(f64),
    /// Whatever is left after every other item of the same container.
    Rest,
}

/// Parses `"rest"`, `"25%"`, `"512MiB"`, `"2G"`, `"1048576"`.
pub fn parse_size(s: &str) -> Result<Size, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("rest") {
        return Ok(Size::Rest);
    }
    if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| format!("bad percentage {s:?}"))?;
        if !(v > 0.0 && v <= 100.0) {
            return Err(format!("percentage {s:?} must be above 0 and at most 100"));
        }
        return Ok(Size::Percent(v));
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().map_err(|_| format!("bad size {s:?} (use e.g. 512MiB, 20GiB, 50%, rest)"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => KIB,
        "M" | "MiB" => MIB,
        "G" | "GiB" => GIB,
        "T" | "TiB" => TIB,
        "KB" | "kB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "TB" => 1000 * 1000 * 1000 * 1000,
        u => return Err(format!("unknown size unit {u:?} in {s:?} (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)")),
    };
    let bytes = num * mult as f64;
    if bytes < 1.0 {
        return Err(format!("size {s:?} is zero"));
    }
    // Far beyond any disk, and small enough that sums of sizes cannot overflow.
    if bytes > (1u64 << 50) as f64 * 1024.0 {
        return Err(format!("size {s:?} is larger than any disk (at most 1 EiB)"));
    }
    Ok(Size::Bytes(bytes.round() as u64))
}

/// Human form: the largest binary unit that keeps one decimal meaningful.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= TIB {
        format!("{:.1} TiB", b / TIB as f64)
    } else if bytes >= GIB {
        format!("{:.1} GiB", b / GIB as f64)
    } else if bytes >= MIB {
        format!("{:.1} MiB", b / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", b / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Bytes(b) if b % GIB == 0 => write!(f, "{}GiB", b / GIB),
            Size::Bytes(b) if b % MIB == 0 => write!(f, "{}MiB", b / MIB),
            Size::Bytes(b) => write!(f, "{b}"),
            Size::Percent(p) => write!(f, "{p}%"),
            Size::Rest => f.write_str("rest"),
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Size::Bytes(b) if b % MIB != 0 => s.serialize_u64(*b),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: bytes, \"512MiB\", \"20GiB\", \"50%\" or \"rest\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                if v == 0 {
                    return Err(E::custom("size is zero"));
                }
                Ok(Size::Bytes(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v).map_err(|_| E::custom("size is negative")).and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size range for disk selection: `"100GiB"` (exact) or `{ min = "..", max = ".." }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SizeMatch {
    Exact(Size),
    Range {
        #[serde(default)]
        min: Option<Size>,
        #[serde(default)]
        max: Option<Size>,
    },
}

impl SizeMatch {
    pub fn matches(&self, bytes: u64) -> bool {
        let b = |s: &Option<Size>| match s {
            Some(Size::Bytes(b)) => Some(*b),
            _ => None,
        };
        match self {
            SizeMatch::Exact(Size::Bytes(x)) => *x == bytes,
            SizeMatch::Exact(_) => false,
            SizeMatch::Range { min, max } => {
                b(min).is_none_or(|m| bytes >= m) && b(max).is_none_or(|m| bytes <= m)
            }
        }
    }
}

impl schemars::JsonSchema for Size {
    fn schema_name() -> String {
        "Size".into()
    }
    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut o = schemars::schema::SchemaObject {
            instance_type: Some(
                vec![schemars::schema::InstanceType::String, schemars::schema::InstanceType::Integer].into(),
            ),
            ..Default::default()
        };
        o.metadata().description = Some(
            "Bytes, or a string: \"512MiB\", \"20GiB\", \"10%\" (of the disk), \"rest\" (what is left)"
                .into(),
        );
        o.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_percent_and_rest() {
        assert_eq!(parse_size("512MiB").unwrap(), Size::Bytes(512 * MIB));
        assert_eq!(parse_size("2G").unwrap(), Size::Bytes(2 * GIB));
        assert_eq!(parse_size("1.5GiB").unwrap(), Size::Bytes(3 * GIB / 2));
        assert_eq!(parse_size("10GB").unwrap(), Size::Bytes(10_000_000_000));
        assert_eq!(parse_size("4096").unwrap(), Size::Bytes(4096));
        assert_eq!(parse_size("25%").unwrap(), Size::Percent(25.0));
        assert_eq!(parse_size("REST").unwrap(), Size::Rest);
        for bad in ["", "abc", "12XB", "0", "0%", "150%", "-5G"] {
            assert!(parse_size(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(human(512 * MIB), "512.0 MiB");
        assert_eq!(Size::Bytes(20 * GIB).to_string(), "20GiB");
    }

    #[test]
    fn huge_sizes_are_refused_not_wrapped() {
        assert!(parse_size("1024PiB").is_err());
        assert!(parse_size("99999999999999999999TiB").unwrap_err().contains("larger than any disk"));
        assert!(parse_size("1EiB").is_err(), "EiB is no unit");
        assert_eq!(parse_size("1024TiB").unwrap(), Size::Bytes(1 << 50));
    }

    #[test]
    fn size_ranges() {
        let r = SizeMatch::Range { min: Some(Size::Bytes(10 * GIB)), max: Some(Size::Bytes(20 * GIB)) };
        assert!(r.matches(16 * GIB) && !r.matches(8 * GIB) && !r.matches(30 * GIB));
        assert!(SizeMatch::Exact(Size::Bytes(GIB)).matches(GIB));
    }
}
