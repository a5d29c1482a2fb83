//! [`EpicsValue`]: which Rust value types fit which PV types.

use ophyd_core::{Enum, SignalValue};

use crate::transport::{NativeType, PvInfo};

/// A value type an EPICS signal can hold, and the PVs it fits: those every
/// value of which it holds exactly, so that a value read and written back
/// (staging's restore) is the value the PV had. A signal on a PV that does
/// not fit fails at connect with a type-mismatch error.
///
/// | value type | native types it fits |
/// |---|---|
/// | `f64` | DOUBLE, FLOAT, LONG, SHORT, CHAR |
/// | `f32` | FLOAT, SHORT, CHAR |
/// | `i64`, `i32` | LONG, SHORT, CHAR |
/// | `i16` | SHORT, CHAR |
/// | `u8` | CHAR |
/// | `String` | STRING; CHAR, as an array (a long string); ENUM (its labels) |
/// | `Enum` | ENUM; LONG, SHORT, CHAR (a choice served as a number) |
///
/// The numbers fit scalars, and their `Vec`s fit arrays of the same types
/// (`Vec<String>` too). So `f32` does not fit a DOUBLE PV (0.1 would come
/// back as 0.10000000149011612, 1e39 as infinity) nor a LONG one (integers
/// above 2^24 would be rounded), and `i16` does not fit a LONG one.
///
/// Two fits follow what Python ophyd reads, for areaDetector's PVs:
///
/// - `String` reads a CHAR array as the text up to its first NUL and writes
///   it with its NUL (ophyd's `string=True` on a waveform: areaDetector's
///   file paths and names, longer than a STRING's 39 bytes; bytes after the
///   NUL are not kept), and an ENUM as the label of its index, written by
///   label (ophyd's `string=True` on an enum).
/// - `Enum` reads an integer PV as the index it holds (caproto's
///   areaDetector simulation serves `ImageMode` and the other choices as
///   LONGs); a value that is no index (negative, above 65535) fails its
///   read, naming the PV, rather than being changed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value type of an EPICS signal",
    note = "EPICS signals hold f64, f32, i64, i32, i16, u8, String, Enum, or a Vec of these"
)]
pub trait EpicsValue: SignalValue + Default {
    /// The native type of a PV made for this value type (by the
    /// [mock IOC](crate::mock::MockIoc)): the first in the table above,
    /// whose every value the type holds and which holds every value of it
    /// (`DOUBLE` for `f64`, `LONG` for `i32` and `i64`). Its element type,
    /// for a `Vec`.
    const NATIVE: NativeType;

    /// Whether `Self` can hold every value of a PV of type `info` exactly.
    fn fits(info: PvInfo) -> bool;
}

/// Each type, then the native types it holds every value of exactly, the
/// one a PV made for it has first: the type fits scalars of those, its
/// `Vec` arrays of them.
macro_rules! fits {
    ($($t:ty => $first:ident $(| $native:ident)*;)*) => {$(
        impl EpicsValue for $t {
            const NATIVE: NativeType = NativeType::$first;

            fn fits(info: PvInfo) -> bool {
                info.count == 1 && matches!(info.native, NativeType::$first $(| NativeType::$native)*)
            }
        }

        impl EpicsValue for Vec<$t> {
            const NATIVE: NativeType = NativeType::$first;

            fn fits(info: PvInfo) -> bool {
                matches!(info.native, NativeType::$first $(| NativeType::$native)*)
            }
        }
    )*};
}
fits! {
    f64 => Double | Float | Long | Short | Char;
    f32 => Float | Short | Char;
    i64 => Long | Short | Char;
    i32 => Long | Short | Char;
    i16 => Short | Char;
    u8 => Char;
}

impl EpicsValue for String {
    const NATIVE: NativeType = NativeType::String;

    fn fits(info: PvInfo) -> bool {
        match info.native {
            NativeType::String | NativeType::Enum => info.count == 1,
            // Of any length: caproto serves its `str` PVs as CHAR arrays
            // that claim one element. What does not fit with its NUL is
            // refused before it is sent.
            NativeType::Char => true,
            _ => false,
        }
    }
}

impl EpicsValue for Vec<String> {
    const NATIVE: NativeType = NativeType::String;

    fn fits(info: PvInfo) -> bool {
        info.native == NativeType::String
    }
}

impl EpicsValue for Enum {
    const NATIVE: NativeType = NativeType::Enum;

    fn fits(info: PvInfo) -> bool {
        info.count == 1
            && matches!(info.native, NativeType::Enum | NativeType::Long | NativeType::Short | NativeType::Char)
    }
}

/// How a signal holding text (`String`) reaches a PV of type `info` that is
/// not a STRING: the text of a CHAR array, or the labels of an ENUM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextOn {
    /// A CHAR array: NUL-terminated bytes.
    Chars,
    /// An ENUM: the label of its index.
    Labels,
}

impl TextOn {
    /// How a signal holding `T` reaches a PV of type `info`; `None` when it
    /// holds the PV's own values (everything but text off a STRING).
    pub(crate) fn of<T: EpicsValue>(info: PvInfo) -> Option<TextOn> {
        if T::DTYPE != ophyd_core::Dtype::String {
            return None;
        }
        match info.native {
            NativeType::Char => Some(TextOn::Chars),
            NativeType::Enum => Some(TextOn::Labels),
            _ => None,
        }
    }
}

/// The value type to declare for a PV of type `info`, named as in Rust
/// (`"f64"`, `"Vec<f64>"`, `"Enum"`): one that fits it, the widest of its
/// kind where several do, as a Python ophyd user would expect (`f64` for
/// any floating-point PV). `None` for an array of enums, which no type fits.
pub(crate) fn value_type_for(info: PvInfo) -> Option<&'static str> {
    let (scalar, array) = match info.native {
        NativeType::Double | NativeType::Float => ("f64", "Vec<f64>"),
        NativeType::Long => ("i32", "Vec<i32>"),
        NativeType::Short => ("i16", "Vec<i16>"),
        NativeType::Char => ("u8", "Vec<u8>"),
        NativeType::String => ("String", "Vec<String>"),
        NativeType::Enum if info.count == 1 => return Some("Enum"),
        NativeType::Enum => return None,
    };
    Some(if info.count == 1 { scalar } else { array })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ophyd_core::Value;

    const NUMERIC: [NativeType; 5] =
        [NativeType::Double, NativeType::Float, NativeType::Long, NativeType::Short, NativeType::Char];

    fn info(native: NativeType, count: usize) -> PvInfo {
        PvInfo { native, count }
    }

    /// The extreme and awkward values of each numeric native type, as a
    /// transport delivers them.
    fn witnesses(native: NativeType) -> Vec<Value> {
        let floats = |xs: &[f64]| xs.iter().map(|&x| Value::Float(x)).collect();
        let ints = |xs: &[i64]| xs.iter().map(|&x| Value::Int(x)).collect();
        match native {
            NativeType::Double => floats(&[0.1, 1e39, f64::MAX, -f64::MAX, 5e-324]),
            NativeType::Float => floats(&[
                f64::from(0.1f32),
                f64::from(f32::MAX),
                f64::from(-f32::MAX),
                f64::from(f32::from_bits(1)), // the smallest subnormal
            ]),
            NativeType::Long => ints(&[i32::MIN.into(), i32::MAX.into(), (1 << 24) + 1]),
            NativeType::Short => ints(&[i16::MIN.into(), i16::MAX.into()]),
            NativeType::Char => ints(&[0, 255]),
            NativeType::String | NativeType::Enum => unreachable!("not numeric"),
        }
    }

    /// Whether `T` reads `value` and gives back the very same number.
    fn keeps<T: SignalValue>(value: &Value) -> bool {
        let Some(back) = T::from_value(value).map(|t| t.to_value()) else { return false };
        match (&back, value) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Float(a), Value::Int(b)) | (Value::Int(b), Value::Float(a)) => *a == *b as f64 && *a as i64 == *b,
            _ => false,
        }
    }

    /// `T` fits exactly the numeric types whose every value it keeps, and
    /// `Vec<T>` fits their arrays.
    fn fits_exactly_what_it_keeps<T: EpicsValue>()
    where
        Vec<T>: EpicsValue,
    {
        for native in NUMERIC {
            let keeps_all = witnesses(native).iter().all(keeps::<T>);
            assert_eq!(T::fits(info(native, 1)), keeps_all, "{} on a {native} PV", T::TYPE_NAME);
            assert_eq!(Vec::<T>::fits(info(native, 8)), keeps_all, "{} on a {native} array", T::TYPE_NAME);
        }
        assert!(!T::fits(info(NativeType::Enum, 1)), "{} on an ENUM: that is what Enum is for", T::TYPE_NAME);
        assert!(!T::fits(info(NativeType::String, 1)));
    }

    #[test]
    fn number_types_fit_the_pvs_whose_every_value_they_hold_exactly() {
        fits_exactly_what_it_keeps::<f64>();
        fits_exactly_what_it_keeps::<f32>();
        fits_exactly_what_it_keeps::<i64>();
        fits_exactly_what_it_keeps::<i32>();
        fits_exactly_what_it_keeps::<i16>();
        fits_exactly_what_it_keeps::<u8>();
    }

    #[test]
    fn the_documented_table() {
        use NativeType::*;
        let fitting = |fits: fn(PvInfo) -> bool| -> Vec<NativeType> {
            [Double, Float, Long, Short, Char, String, Enum].into_iter().filter(|&n| fits(info(n, 1))).collect()
        };
        assert_eq!(fitting(f64::fits), [Double, Float, Long, Short, Char]);
        assert_eq!(fitting(f32::fits), [Float, Short, Char]);
        assert_eq!(fitting(i64::fits), [Long, Short, Char]);
        assert_eq!(fitting(i32::fits), [Long, Short, Char]);
        assert_eq!(fitting(i16::fits), [Short, Char]);
        assert_eq!(fitting(u8::fits), [Char]);
        assert_eq!(fitting(<std::string::String as EpicsValue>::fits), [Char, String, Enum]);
        assert_eq!(fitting(ophyd_core::Enum::fits), [Long, Short, Char, Enum]);
        // A long string: a CHAR array.
        assert!(<std::string::String as EpicsValue>::fits(info(Char, 256)));
        assert!(!<std::string::String as EpicsValue>::fits(info(Long, 256)));
        assert!(!Vec::<std::string::String>::fits(info(Char, 256)));
    }

    #[test]
    fn a_lossy_type_would_change_the_value_on_restore() {
        // What refusing f32 on DOUBLE and i16 on LONG prevents.
        assert_eq!(f32::from_value(&Value::Float(0.1)).map(|x| x.to_value()), Some(Value::Float(0.10000000149011612)));
        assert_eq!(f32::from_value(&Value::Float(1e39)), Some(f32::INFINITY));
        assert_eq!(f32::from_value(&Value::Int((1 << 24) + 1)), Some(16_777_216.0));
        assert!(!f32::fits(info(NativeType::Double, 1)));
        assert!(!f32::fits(info(NativeType::Long, 1)));
        assert!(!i16::fits(info(NativeType::Long, 1)));
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
    fn the_value_type_suggested_for_a_pv_fits_it() {
        fn fits_by_name(name: &str) -> fn(PvInfo) -> bool {
            match name {
                "f64" => f64::fits,
                "i32" => i32::fits,
                "i16" => i16::fits,
                "u8" => u8::fits,
                "String" => <String as EpicsValue>::fits,
                "Enum" => Enum::fits,
                "Vec<f64>" => Vec::<f64>::fits,
                "Vec<i32>" => Vec::<i32>::fits,
                "Vec<i16>" => Vec::<i16>::fits,
                "Vec<u8>" => Vec::<u8>::fits,
                "Vec<String>" => Vec::<String>::fits,
                other => panic!("suggested a type the test does not know: {other}"),
            }
        }
        use NativeType as N;
        for native in [N::Double, N::Float, N::Long, N::Short, N::Char, N::String, N::Enum] {
            for count in [1, 8] {
                let pv = info(native, count);
                match value_type_for(pv) {
                    Some(name) => assert!(fits_by_name(name)(pv), "{name} suggested for {pv} does not fit it"),
                    None => assert_eq!((native, count), (N::Enum, 8), "only an enum array has no type"),
                }
            }
        }
        assert_eq!(value_type_for(info(N::Enum, 1)), Some("Enum"));
        assert_eq!(value_type_for(info(N::String, 1)), Some("String"));
        assert_eq!(value_type_for(info(N::Float, 1)), Some("f64"));
    }

    #[test]
    fn a_pv_made_for_a_value_type_is_one_it_fits() {
        fn check<T: EpicsValue>()
        where
            Vec<T>: EpicsValue,
        {
            assert!(T::fits(info(T::NATIVE, 1)), "{} on a {} PV made for it", T::TYPE_NAME, T::NATIVE);
            assert!(Vec::<T>::fits(info(Vec::<T>::NATIVE, 8)), "{}", Vec::<T>::TYPE_NAME);
        }
        check::<f64>();
        check::<f32>();
        check::<i64>();
        check::<i32>();
        check::<i16>();
        check::<u8>();
        check::<String>();
        assert!(Enum::fits(info(Enum::NATIVE, 1)));
        assert_eq!((f64::NATIVE, i32::NATIVE, Enum::NATIVE), (NativeType::Double, NativeType::Long, NativeType::Enum));
    }

    #[test]
    fn enums_fit_enum_and_integer_scalars_only() {
        assert!(Enum::fits(info(NativeType::Enum, 1)));
        assert!(Enum::fits(info(NativeType::Long, 1)), "caproto serves areaDetector's choices as LONGs");
        assert!(!Enum::fits(info(NativeType::Double, 1)));
        assert!(!Enum::fits(info(NativeType::String, 1)));
        assert!(!Enum::fits(info(NativeType::Long, 4)));
        // A value that is no index is not read as one (so never written back changed).
        assert_eq!(Enum::from_value(&Value::Int(-1)), None);
        assert_eq!(Enum::from_value(&Value::Int(65536)), None);
    }

    #[test]
    fn text_reaches_char_arrays_and_enums_through_their_own_form() {
        type Text = std::string::String;
        assert_eq!(TextOn::of::<Text>(info(NativeType::Char, 256)), Some(TextOn::Chars));
        assert_eq!(TextOn::of::<Text>(info(NativeType::Enum, 1)), Some(TextOn::Labels));
        assert_eq!(TextOn::of::<Text>(info(NativeType::String, 1)), None);
        assert_eq!(TextOn::of::<Vec<u8>>(info(NativeType::Char, 256)), None, "bytes stay bytes");
        assert_eq!(TextOn::of::<Enum>(info(NativeType::Enum, 1)), None);
    }

    #[test]
    fn vectors_fit_waveforms_of_any_length() {
        assert!(Vec::<f64>::fits(info(NativeType::Double, 100)));
        assert!(Vec::<f64>::fits(info(NativeType::Double, 1)));
        assert!(!Vec::<String>::fits(info(NativeType::Double, 4)));
        assert!(!Vec::<f32>::fits(info(NativeType::Double, 4)));
    }
}
