//! [`DataType`]: areaDetector's `NDDataType_t`, the element type of an
//! array, as `DataType` and `DataType_RBV` name it.

use std::fmt;
use std::str::FromStr;

use ophyd_core::Enum;

/// The element type of an areaDetector array: the index of the `DataType`
/// enum (`Int8` is 0 ... `Float64` is 9) and its numpy type.
///
/// ```
/// use ophyd_areadetector::DataType;
/// assert_eq!(DataType::UInt16.dtype_numpy(), "<u2");
/// assert_eq!(DataType::UInt8.dtype_numpy(), "|u1");
/// assert_eq!("Float32".parse::<DataType>(), Ok(DataType::Float32));
/// assert_eq!(DataType::from_index(3), Some(DataType::UInt16));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Signed 8-bit integers.
    Int8,
    /// Unsigned 8-bit integers.
    UInt8,
    /// Signed 16-bit integers.
    Int16,
    /// Unsigned 16-bit integers.
    UInt16,
    /// Signed 32-bit integers.
    Int32,
    /// Unsigned 32-bit integers.
    UInt32,
    /// Signed 64-bit integers.
    Int64,
    /// Unsigned 64-bit integers.
    UInt64,
    /// 32-bit floating point.
    Float32,
    /// 64-bit floating point.
    Float64,
}

impl DataType {
    /// Every data type, in the enum's order.
    pub const ALL: [DataType; 10] = [
        DataType::Int8,
        DataType::UInt8,
        DataType::Int16,
        DataType::UInt16,
        DataType::Int32,
        DataType::UInt32,
        DataType::Int64,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
    ];

    /// The enum strings of `DataType` and `DataType_RBV`, in order.
    pub const LABELS: [&'static str; 10] =
        ["Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float32", "Float64"];

    /// The data type at `index` of the enum.
    pub fn from_index(index: u16) -> Option<DataType> {
        DataType::ALL.get(usize::from(index)).copied()
    }

    /// The data type an enum value read from `DataType` or `DataType_RBV`
    /// stands for (by index, or by label).
    pub fn from_enum(value: &Enum) -> Option<DataType> {
        match value.index() {
            Some(index) => DataType::from_index(index),
            None => value.label()?.parse().ok(),
        }
    }

    /// The index in the enum.
    pub fn index(self) -> u16 {
        DataType::ALL.iter().position(|&t| t == self).expect("every data type is listed") as u16
    }

    /// The enum string (`"UInt16"`).
    pub fn label(self) -> &'static str {
        DataType::LABELS[usize::from(self.index())]
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DataType::Int8 | DataType::UInt8 => 1,
            DataType::Int16 | DataType::UInt16 => 2,
            DataType::Int32 | DataType::UInt32 | DataType::Float32 => 4,
            DataType::Int64 | DataType::UInt64 | DataType::Float64 => 8,
        }
    }

    /// The numpy dtype string, as event-model's `dtype_numpy` and
    /// ophyd-async give it (`np.dtype("uint16").str`): `"<u2"`, `"|u1"`,
    /// `"<f8"` (little-endian; one-byte types have no byte order).
    pub fn dtype_numpy(self) -> &'static str {
        match self {
            DataType::Int8 => "|i1",
            DataType::UInt8 => "|u1",
            DataType::Int16 => "<i2",
            DataType::UInt16 => "<u2",
            DataType::Int32 => "<i4",
            DataType::UInt32 => "<u4",
            DataType::Int64 => "<i8",
            DataType::UInt64 => "<u8",
            DataType::Float32 => "<f4",
            DataType::Float64 => "<f8",
        }
    }

    /// Whether the elements are floating point.
    pub fn is_float(self) -> bool {
        matches!(self, DataType::Float32 | DataType::Float64)
    }

    /// The least and greatest value an element holds, as `f64`.
    pub fn range(self) -> (f64, f64) {
        match self {
            DataType::Int8 => (i8::MIN.into(), i8::MAX.into()),
            DataType::UInt8 => (0.0, u8::MAX.into()),
            DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
            DataType::UInt16 => (0.0, u16::MAX.into()),
            DataType::Int32 => (i32::MIN.into(), i32::MAX.into()),
            DataType::UInt32 => (0.0, u32::MAX.into()),
            DataType::Int64 => (i64::MIN as f64, i64::MAX as f64),
            DataType::UInt64 => (0.0, u64::MAX as f64),
            DataType::Float32 => (-f64::from(f32::MAX), f64::from(f32::MAX)),
            DataType::Float64 => (f64::MIN, f64::MAX),
        }
    }

    /// `value` as an element of this type holds it: rounded toward zero
    /// and saturated for integers, as a cast in the driver would.
    pub fn hold(self, value: f64) -> f64 {
        match self {
            DataType::Float64 => value,
            DataType::Float32 => f64::from(value as f32),
            _ => {
                let (low, high) = self.range();
                value.trunc().clamp(low, high)
            }
        }
    }

    /// `values`, each held as an element of this type, as little-endian bytes.
    pub fn to_le_bytes(self, values: &[f64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(values.len() * self.size());
        for &x in values {
            match self {
                DataType::Int8 => out.extend((x as i8).to_le_bytes()),
                DataType::UInt8 => out.extend((x as u8).to_le_bytes()),
                DataType::Int16 => out.extend((x as i16).to_le_bytes()),
                DataType::UInt16 => out.extend((x as u16).to_le_bytes()),
                DataType::Int32 => out.extend((x as i32).to_le_bytes()),
                DataType::UInt32 => out.extend((x as u32).to_le_bytes()),
                DataType::Int64 => out.extend((x as i64).to_le_bytes()),
                DataType::UInt64 => out.extend((x as u64).to_le_bytes()),
                DataType::Float32 => out.extend((x as f32).to_le_bytes()),
                DataType::Float64 => out.extend(x.to_le_bytes()),
            }
        }
        out
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A string that names no data type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an areaDetector data type (Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64)")]
pub struct UnknownDataType(pub String);

impl FromStr for DataType {
    type Err = UnknownDataType;

    fn from_str(s: &str) -> Result<DataType, UnknownDataType> {
        DataType::ALL.into_iter().find(|t| t.label() == s).ok_or_else(|| UnknownDataType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_at_its_index_under_its_label() {
        for (i, t) in DataType::ALL.into_iter().enumerate() {
            assert_eq!(DataType::from_index(i as u16), Some(t));
            assert_eq!(t.index() as usize, i);
            assert_eq!(t.label().parse::<DataType>(), Ok(t));
            assert_eq!(DataType::from_enum(&Enum::from(t.label())), Some(t));
        }
        assert_eq!(DataType::from_index(10), None);
        assert!("Int128".parse::<DataType>().unwrap_err().to_string().contains("Int128"));
    }

    #[test]
    fn values_are_held_as_the_driver_casts_them() {
        assert_eq!(DataType::UInt8.hold(300.0), 255.0);
        assert_eq!(DataType::UInt8.hold(-3.0), 0.0);
        assert_eq!(DataType::Int16.hold(2.9), 2.0);
        assert_eq!(DataType::Float64.hold(2.9), 2.9);
        assert_eq!(DataType::UInt16.to_le_bytes(&[1.0, 513.0]), [1, 0, 1, 2]);
        assert_eq!(DataType::Float32.to_le_bytes(&[1.0]).len(), 4);
    }
}
