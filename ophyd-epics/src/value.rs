//! [`EpicsValue`]: which Rust value types fit which PV types.

use ophyd_core::{Enum, SignalValue};

use crate::transport::{NativeType, PvInfo};

/// A value type an EPICS signal can hold, and the PVs it fits. A signal on a
/// PV that does not fit fails at connect with a type-mismatch error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value type of an EPICS signal",
    note = "EPICS signals hold f64, f32, i32, i16, u8, String, Enum, or a Vec of these"
)]
pub trait EpicsValue: SignalValue + Default {
    /// Whether a PV of type `info` can be read and written as `Self`.
    fn fits(info: PvInfo) -> bool;
}

macro_rules! scalar {
    ($($t:ty => |$n:ident| $fits:expr),* $(,)?) => {$(
        impl EpicsValue for $t {
            fn fits(info: PvInfo) -> bool {
                let $n = info.native;
                info.count == 1 && $fits
            }
        }
    )*};
}
scalar!(
    f64 => |n| n.is_numeric() && n != NativeType::Enum,
    f32 => |n| n.is_numeric() && n != NativeType::Enum,
    i64 => |n| n.is_integer() && n != NativeType::Enum,
    i32 => |n| n.is_integer() && n != NativeType::Enum,
    i16 => |n| matches!(n, NativeType::Short | NativeType::Char),
    u8 => |n| n == NativeType::Char,
    String => |n| n == NativeType::String,
    Enum => |n| n == NativeType::Enum,
);

macro_rules! array {
    ($($t:ty => |$n:ident| $fits:expr),* $(,)?) => {$(
        impl EpicsValue for Vec<$t> {
            fn fits(info: PvInfo) -> bool {
                let $n = info.native;
                $fits
            }
        }
    )*};
}
array!(
    f64 => |n| n.is_numeric() && n != NativeType::Enum,
    f32 => |n| n.is_numeric() && n != NativeType::Enum,
    i64 => |n| n.is_integer() && n != NativeType::Enum,
    i32 => |n| n.is_integer() && n != NativeType::Enum,
    i16 => |n| matches!(n, NativeType::Short | NativeType::Char),
    u8 => |n| n == NativeType::Char,
    String => |n| n == NativeType::String,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn info(native: NativeType, count: usize) -> PvInfo {
        PvInfo { native, count }
    }

    #[test]
    fn floats_fit_numeric_scalars_but_not_strings_enums_or_arrays() {
        assert!(f64::fits(info(NativeType::Double, 1)));
        assert!(f64::fits(info(NativeType::Long, 1)));
        assert!(!f64::fits(info(NativeType::String, 1)));
        assert!(!f64::fits(info(NativeType::Enum, 1)));
        assert!(!f64::fits(info(NativeType::Double, 10)));
    }

    #[test]
    fn enums_fit_only_enum_pvs() {
        assert!(Enum::fits(info(NativeType::Enum, 1)));
        assert!(!Enum::fits(info(NativeType::Short, 1)));
    }

    #[test]
    fn vectors_fit_waveforms_of_any_length() {
        assert!(Vec::<f64>::fits(info(NativeType::Double, 100)));
        assert!(Vec::<f64>::fits(info(NativeType::Double, 1)));
        assert!(!Vec::<String>::fits(info(NativeType::Double, 4)));
    }
}
