//! [`Kind`]: which of a device's reads a component takes part in.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The data-acquisition kind of a component, with ophyd's bit semantics.
///
/// | kind      | bits    | in `read()` | in `read_configuration()` | in `hints` |
/// |-----------|---------|-------------|---------------------------|------------|
/// | `Omitted` | `0b000` | no          | no                        | no         |
/// | `Normal`  | `0b001` | yes         | no                        | no         |
/// | `Config`  | `0b010` | no          | yes                       | no         |
/// | `Hinted`  | `0b101` | yes         | no                        | yes        |
///
/// Kinds combine as bit sets; a device's `Normal` kind also implies `Config`
/// (ophyd's `Device._validate_kind`), so a nested device contributes both its
/// readings and its configuration unless told otherwise.
///
/// ```
/// use ophyd_core::Kind;
/// assert!(Kind::Hinted.contains(Kind::Normal));
/// assert!(!Kind::Config.contains(Kind::Normal));
/// assert_eq!("hinted".parse::<Kind>().unwrap(), Kind::Hinted);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind(u8);

#[allow(non_upper_case_globals)]
impl Kind {
    /// Never read.
    pub const Omitted: Kind = Kind(0b000);
    /// Read by `read()`.
    pub const Normal: Kind = Kind(0b001);
    /// Read by `read_configuration()`.
    pub const Config: Kind = Kind(0b010);
    /// Read by `read()` and listed in `hints`.
    pub const Hinted: Kind = Kind(0b101);

    /// The names accepted by [`Kind::from_str`], in the order ophyd lists them.
    pub const NAMES: [&'static str; 4] = ["normal", "config", "hinted", "omitted"];

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// A kind from raw bits (only the three kind bits are kept).
    pub const fn from_bits(bits: u8) -> Kind {
        Kind(bits & 0b111)
    }

    /// Whether every bit of `other` is set in `self` (`Hinted` contains `Normal`).
    pub const fn contains(self, other: Kind) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether `self` and `other` share a bit (ophyd's `kind & other`).
    pub const fn intersects(self, other: Kind) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether a component of this kind is listed in `hints`.
    pub const fn is_hinted(self) -> bool {
        self.0 & 0b100 != 0
    }

    /// The kind a device stores when given `self`: `Normal` implies `Config`.
    pub const fn for_device(self) -> Kind {
        if self.0 & Kind::Normal.0 != 0 {
            Kind(self.0 | Kind::Config.0)
        } else {
            self
        }
    }
}

impl std::ops::BitOr for Kind {
    type Output = Kind;
    fn bitor(self, rhs: Kind) -> Kind {
        Kind(self.0 | rhs.0)
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Kind::Omitted => "omitted",
            Kind::Normal => "normal",
            Kind::Config => "config",
            Kind::Hinted => "hinted",
            _ => {
                let mut parts = Vec::new();
                if self.0 & 0b001 != 0 {
                    parts.push(if self.is_hinted() { "hinted" } else { "normal" });
                }
                if self.0 & 0b010 != 0 {
                    parts.push("config");
                }
                return f.write_str(&parts.join("|"));
            }
        };
        f.write_str(name)
    }
}

/// The error for a kind name that is not one of [`Kind::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`: expected one of \"normal\", \"config\", \"hinted\", \"omitted\"")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Kind::Normal),
            "config" => Ok(Kind::Config),
            "hinted" => Ok(Kind::Hinted),
            "omitted" => Ok(Kind::Omitted),
            _ => Err(UnknownKind(s.to_owned())),
        }
    }
}

/// A [`Kind`] that can be changed at run time through a shared reference, as
/// ophyd allows (`det.reading.kind = "hinted"`).
#[derive(Debug)]
pub struct AtomicKind(AtomicU8);

impl AtomicKind {
    /// A cell holding `kind`.
    pub const fn new(kind: Kind) -> Self {
        AtomicKind(AtomicU8::new(kind.0))
    }

    /// The current kind.
    pub fn get(&self) -> Kind {
        Kind(self.0.load(Ordering::Relaxed))
    }

    /// Replace the kind.
    pub fn set(&self, kind: Kind) {
        self.0.store(kind.0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hinted_is_normal_but_normal_is_not_hinted() {
        assert!(Kind::Hinted.contains(Kind::Normal));
        assert!(!Kind::Normal.is_hinted());
        assert!(Kind::Hinted.is_hinted());
    }

    #[test]
    fn omitted_intersects_nothing() {
        for k in [Kind::Normal, Kind::Config, Kind::Hinted] {
            assert!(!Kind::Omitted.intersects(k));
        }
    }

    #[test]
    fn device_kind_normal_implies_config() {
        assert!(Kind::Normal.for_device().intersects(Kind::Config));
        assert_eq!(Kind::Config.for_device(), Kind::Config);
        assert_eq!(Kind::Omitted.for_device(), Kind::Omitted);
    }

    #[test]
    fn unknown_kind_names_the_valid_ones() {
        let err = "hint".parse::<Kind>().unwrap_err().to_string();
        assert!(err.contains("`hint`") && err.contains("\"hinted\""), "{err}");
    }
}
