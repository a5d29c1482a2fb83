//! DBR payloads: which request types to ask libca for, how to turn what it
//! delivers (`DBR_TIME_*` values, `DBR_CTRL_*` metadata) into
//! [`PvReading`]s and [`PvMetadata`], and how to lay out a [`Value`] for a put.
//!
//! Text is decoded and encoded byte for byte (see
//! [`decode_text`](crate::signal::text::decode_text)): a string read and
//! written back gives the IOC the bytes it had.

use std::ffi::{c_char, c_long, c_void};
use std::mem::offset_of;
use std::ptr;

use epics_ca_sys as sys;
use ophyd_core::Value;

use crate::signal::text::{decode_text, encode_text};
use crate::transport::{NativeType, PvError, PvMetadata, PvReading};

/// Seconds from the Unix epoch (1970) to the EPICS epoch (1990).
const EPICS_EPOCH_UNIX_SECONDS: f64 = 631_152_000.0;

/// Bytes in a `DBR_STRING`, its terminating NUL included.
const STRING_SIZE: usize = sys::MAX_STRING_SIZE as usize;

/// The native type of a channel, from `ca_field_type`; `None` for a type
/// this crate does not handle (or a channel that is not connected).
pub(crate) fn native_type(field_type: i16) -> Option<NativeType> {
    Some(match i32::from(field_type) {
        sys::DBF_STRING => NativeType::String,
        sys::DBF_SHORT => NativeType::Short,
        sys::DBF_FLOAT => NativeType::Float,
        sys::DBF_ENUM => NativeType::Enum,
        sys::DBF_CHAR => NativeType::Char,
        sys::DBF_LONG => NativeType::Long,
        sys::DBF_DOUBLE => NativeType::Double,
        _ => return None,
    })
}

/// The `DBR_TIME_*` request for a native type: value, alarm and timestamp.
pub(crate) fn time_request(native: NativeType) -> c_long {
    c_long::from(match native {
        NativeType::String => sys::DBR_TIME_STRING,
        NativeType::Short => sys::DBR_TIME_SHORT,
        NativeType::Float => sys::DBR_TIME_FLOAT,
        NativeType::Enum => sys::DBR_TIME_ENUM,
        NativeType::Char => sys::DBR_TIME_CHAR,
        NativeType::Long => sys::DBR_TIME_LONG,
        NativeType::Double => sys::DBR_TIME_DOUBLE,
    })
}

/// The `DBR_CTRL_*` request for a native type, or `None` for strings, whose
/// control structure carries nothing but the alarm.
pub(crate) fn ctrl_request(native: NativeType) -> Option<c_long> {
    Some(c_long::from(match native {
        NativeType::String => return None,
        NativeType::Short => sys::DBR_CTRL_SHORT,
        NativeType::Float => sys::DBR_CTRL_FLOAT,
        NativeType::Enum => sys::DBR_CTRL_ENUM,
        NativeType::Char => sys::DBR_CTRL_CHAR,
        NativeType::Long => sys::DBR_CTRL_LONG,
        NativeType::Double => sys::DBR_CTRL_DOUBLE,
    }))
}

/// What libca delivered to a get, put or monitor callback.
pub(crate) struct Reply {
    /// The CA status (`ECA_NORMAL` on success).
    pub status: i32,
    /// The DBR type of `dbr`.
    pub dbr_type: c_long,
    /// The number of elements in `dbr`.
    pub count: usize,
    /// The payload, valid for the duration of the callback only; null for
    /// puts and failures.
    pub dbr: *const c_void,
    /// The channel's element count: 1 means the PV is a scalar. No reply
    /// holds more; one that claims to is not read.
    pub element_count: usize,
}

/// The fields every `DBR_TIME_*` structure starts with.
#[repr(C)]
struct TimeHeader {
    status: sys::dbr_short_t,
    severity: sys::dbr_short_t,
    stamp: sys::epicsTimeStamp,
}

/// Read `count` elements of type `T` starting `offset` bytes into `dbr`.
///
/// # Safety
/// `dbr` must point to a DBR structure whose value array starts at `offset`
/// and holds at least `count` elements of `T`, every bit pattern of which is
/// a valid `T`.
unsafe fn elements<T: Copy>(dbr: *const c_void, offset: usize, count: usize) -> Vec<T> {
    // SAFETY: `offset` is inside the structure `dbr` points to.
    let first = unsafe { dbr.cast::<u8>().add(offset) }.cast::<T>();
    (0..count)
        .map(|i| {
            // SAFETY: element `i < count` is inside the value array, which
            // holds valid `T`s; read unaligned, as libca promises no alignment.
            unsafe { ptr::read_unaligned(first.add(i)) }
        })
        .collect()
}

/// A C string in a fixed-size field: up to the first NUL.
fn c_text(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    decode_text(&bytes)
}

fn one_or_many<T>(scalar: bool, mut items: Vec<T>, one: fn(T) -> Value, many: fn(Vec<T>) -> Value) -> Value {
    if scalar && items.len() == 1 {
        one(items.remove(0))
    } else {
        many(items)
    }
}

fn ints<T: Into<i64>>(scalar: bool, items: Vec<T>) -> Value {
    one_or_many(scalar, items.into_iter().map(Into::into).collect(), Value::Int, Value::IntArray)
}

fn floats<T: Into<f64>>(scalar: bool, items: Vec<T>) -> Value {
    one_or_many(scalar, items.into_iter().map(Into::into).collect(), Value::Float, Value::FloatArray)
}

/// Decode a `DBR_TIME_*` reply: the value (a scalar when the PV holds one
/// element, an array otherwise), its timestamp in Unix seconds and its alarm
/// severity. A reply claiming more elements than the channel holds is an
/// error, not a read: nothing past what the channel can hold is touched.
///
/// # Safety
/// `reply.dbr` must be the payload libca delivered with `reply.dbr_type`
/// and `reply.count`, still valid (inside the callback).
pub(crate) unsafe fn decode_time(reply: &Reply) -> Result<PvReading, String> {
    if reply.dbr.is_null() {
        return Err("the server sent no data".into());
    }
    if reply.count > reply.element_count {
        return Err(format!(
            "a reply of {} elements from a channel that holds at most {}: not read",
            reply.count, reply.element_count
        ));
    }
    let scalar = reply.element_count <= 1;
    let (dbr, n) = (reply.dbr, reply.count);
    // libca's payload for `n` elements of a `DBR_TIME_*` type is the
    // structure that type names, whose `value` field holds the first
    // element, followed by the other `n - 1` (`dbr_size_n` bytes). The value
    // types are numbers and bytes, valid for every bit pattern.
    let value = match i32::try_from(reply.dbr_type).unwrap_or(-1) {
        sys::DBR_TIME_DOUBLE => {
            // SAFETY: the payload is a `dbr_time_double` and its `f64`s.
            let values = unsafe { elements::<f64>(dbr, offset_of!(sys::dbr_time_double, value), n) };
            floats(scalar, values)
        }
        sys::DBR_TIME_FLOAT => {
            // SAFETY: the payload is a `dbr_time_float` and its `f32`s.
            let values = unsafe { elements::<f32>(dbr, offset_of!(sys::dbr_time_float, value), n) };
            floats(scalar, values)
        }
        sys::DBR_TIME_LONG => {
            // SAFETY: the payload is a `dbr_time_long` and its `i32`s.
            let values = unsafe { elements::<i32>(dbr, offset_of!(sys::dbr_time_long, value), n) };
            ints(scalar, values)
        }
        sys::DBR_TIME_SHORT => {
            // SAFETY: the payload is a `dbr_time_short` and its `i16`s.
            let values = unsafe { elements::<i16>(dbr, offset_of!(sys::dbr_time_short, value), n) };
            ints(scalar, values)
        }
        sys::DBR_TIME_CHAR => {
            // SAFETY: the payload is a `dbr_time_char` and its `u8`s.
            let values = unsafe { elements::<u8>(dbr, offset_of!(sys::dbr_time_char, value), n) };
            ints(scalar, values)
        }
        sys::DBR_TIME_ENUM => {
            // SAFETY: the payload is a `dbr_time_enum` and its `u16`s.
            let values = unsafe { elements::<u16>(dbr, offset_of!(sys::dbr_time_enum, value), n) };
            ints(scalar, values)
        }
        sys::DBR_TIME_STRING => {
            // SAFETY: the payload is a `dbr_time_string` and its strings.
            let raw = unsafe { elements::<sys::dbr_string_t>(dbr, offset_of!(sys::dbr_time_string, value), n) };
            one_or_many(scalar, raw.iter().map(|s| c_text(s)).collect(), Value::String, Value::StringArray)
        }
        other => return Err(format!("unexpected reply type {other} to a DBR_TIME request")),
    };
    // SAFETY: every `DBR_TIME_*` structure starts with these fields, and the
    // payload holds a whole structure even for no elements.
    let header = unsafe { ptr::read_unaligned(dbr.cast::<TimeHeader>()) };
    let timestamp =
        EPICS_EPOCH_UNIX_SECONDS + f64::from(header.stamp.secPastEpoch) + f64::from(header.stamp.nsec) * 1e-9;
    Ok(PvReading { value, timestamp, severity: i32::from(header.severity) })
}

/// Decode a `DBR_CTRL_*` reply into what `describe()` reports, the way
/// ophyd 1.11 does: units and control limits for numbers (limits as
/// integers for integer PVs), precision for floating-point PVs, the strings
/// of an enum.
///
/// # Safety
/// As [`decode_time`]. libca allocates at least one whole structure even
/// for an empty array, so every field can be read.
pub(crate) unsafe fn decode_ctrl(reply: &Reply) -> Result<PvMetadata, String> {
    if reply.dbr.is_null() {
        return Err("the server sent no data".into());
    }
    let dbr = reply.dbr;
    // Each structure is read whole: libca delivers at least one for a
    // request of one element, and they hold only numbers and bytes, valid
    // for every bit pattern.
    macro_rules! float_ctrl {
        ($t:ty) => {{
            // SAFETY: the payload is a whole `$t`, the type its `dbr_type` names.
            let c = unsafe { ptr::read_unaligned(dbr.cast::<$t>()) };
            PvMetadata {
                units: Some(c_text(&c.units)),
                precision: Some(c.precision),
                lower_ctrl_limit: Some(Value::Float(f64::from(c.lower_ctrl_limit))),
                upper_ctrl_limit: Some(Value::Float(f64::from(c.upper_ctrl_limit))),
                enum_strs: None,
            }
        }};
    }
    macro_rules! int_ctrl {
        ($t:ty) => {{
            // SAFETY: the payload is a whole `$t`, the type its `dbr_type` names.
            let c = unsafe { ptr::read_unaligned(dbr.cast::<$t>()) };
            PvMetadata {
                units: Some(c_text(&c.units)),
                precision: None,
                lower_ctrl_limit: Some(Value::Int(i64::from(c.lower_ctrl_limit))),
                upper_ctrl_limit: Some(Value::Int(i64::from(c.upper_ctrl_limit))),
                enum_strs: None,
            }
        }};
    }
    Ok(match i32::try_from(reply.dbr_type).unwrap_or(-1) {
        sys::DBR_CTRL_DOUBLE => float_ctrl!(sys::dbr_ctrl_double),
        sys::DBR_CTRL_FLOAT => float_ctrl!(sys::dbr_ctrl_float),
        sys::DBR_CTRL_LONG => int_ctrl!(sys::dbr_ctrl_long),
        sys::DBR_CTRL_SHORT => int_ctrl!(sys::dbr_ctrl_short),
        sys::DBR_CTRL_CHAR => int_ctrl!(sys::dbr_ctrl_char),
        sys::DBR_CTRL_ENUM => {
            // SAFETY: the payload is a whole `dbr_ctrl_enum`.
            let c = unsafe { ptr::read_unaligned(dbr.cast::<sys::dbr_ctrl_enum>()) };
            let n = usize::try_from(c.no_str).unwrap_or(0).min(c.strs.len());
            PvMetadata { enum_strs: Some(c.strs[..n].iter().map(|s| c_text(s)).collect()), ..PvMetadata::default() }
        }
        other => return Err(format!("unexpected reply type {other} to a DBR_CTRL request")),
    })
}

/// A value laid out for `ca_array_put`: the request type and the elements.
#[derive(Debug, PartialEq)]
pub(crate) enum Payload {
    /// `DBR_DOUBLE`.
    Double(Vec<f64>),
    /// `DBR_LONG`.
    Long(Vec<i32>),
    /// `DBR_ENUM`: enum indexes.
    Enum(Vec<u16>),
    /// `DBR_STRING`: NUL-terminated, NUL-padded.
    String(Vec<sys::dbr_string_t>),
}

impl Payload {
    /// The DBR type to hand libca.
    pub(crate) fn dbr_type(&self) -> c_long {
        c_long::from(match self {
            Payload::Double(_) => sys::DBR_DOUBLE,
            Payload::Long(_) => sys::DBR_LONG,
            Payload::Enum(_) => sys::DBR_ENUM,
            Payload::String(_) => sys::DBR_STRING,
        })
    }

    /// The number of elements.
    pub(crate) fn count(&self) -> usize {
        match self {
            Payload::Double(v) => v.len(),
            Payload::Long(v) => v.len(),
            Payload::Enum(v) => v.len(),
            Payload::String(v) => v.len(),
        }
    }

    /// The elements, for libca to copy.
    pub(crate) fn as_ptr(&self) -> *const c_void {
        match self {
            Payload::Double(v) => v.as_ptr().cast(),
            Payload::Long(v) => v.as_ptr().cast(),
            Payload::Enum(v) => v.as_ptr().cast(),
            Payload::String(v) => v.as_ptr().cast(),
        }
    }
}

/// One element of a value being written.
enum Item<'a> {
    Int(i64),
    Float(f64),
    Text(&'a str),
}

fn items(value: &Value) -> Vec<Item<'_>> {
    match value {
        Value::Int(i) => vec![Item::Int(*i)],
        Value::Float(x) => vec![Item::Float(*x)],
        Value::String(s) => vec![Item::Text(s)],
        Value::IntArray(v) => v.iter().map(|i| Item::Int(*i)).collect(),
        Value::FloatArray(v) => v.iter().map(|x| Item::Float(*x)).collect(),
        Value::StringArray(v) => v.iter().map(|s| Item::Text(s)).collect(),
    }
}

fn dbr_string(text: &str) -> Result<sys::dbr_string_t, PvError> {
    let bytes = encode_text(text);
    if bytes.len() >= STRING_SIZE || bytes.contains(&0) {
        return Err(PvError::BadValue(format!(
            "{text:?} does not fit a Channel Access string (at most {} bytes, no NUL)",
            STRING_SIZE - 1
        )));
    }
    let mut out = [0 as c_char; STRING_SIZE];
    for (dst, &src) in out.iter_mut().zip(&bytes) {
        *dst = src as c_char;
    }
    Ok(out)
}

/// Lay out `value` for a PV of type `native`. Numbers go as `DBR_LONG` or
/// `DBR_DOUBLE` and the IOC converts them to the field's type, as `caput`
/// does; text for a number PV is parsed here so a typo fails at once rather
/// than in the IOC; an enum takes an index (`DBR_ENUM`) or one of its strings
/// (`DBR_STRING`, which the IOC looks up).
pub(crate) fn encode(value: &Value, native: NativeType) -> Result<Payload, PvError> {
    let items = items(value);
    let bad = |what: String| PvError::BadValue(format!("cannot write {what} to a {native} PV"));
    match native {
        NativeType::String => items
            .iter()
            .map(|item| match item {
                Item::Text(s) => dbr_string(s),
                Item::Int(i) => dbr_string(&i.to_string()),
                Item::Float(x) => dbr_string(&x.to_string()),
            })
            .collect::<Result<_, _>>()
            .map(Payload::String),
        NativeType::Enum if items.iter().all(|item| matches!(item, Item::Text(_))) => items
            .iter()
            .map(|item| match item {
                Item::Text(s) => dbr_string(s),
                _ => unreachable!("all items are text"),
            })
            .collect::<Result<_, _>>()
            .map(Payload::String),
        NativeType::Enum => items
            .iter()
            .map(|item| match *item {
                Item::Int(i) => u16::try_from(i).map_err(|_| bad(format!("enum index {i}"))),
                Item::Float(x) if x.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&x) => Ok(x as u16),
                Item::Float(x) => Err(bad(format!("enum index {x}"))),
                Item::Text(s) => Err(bad(format!("a mix of enum strings ({s:?}) and indexes"))),
            })
            .collect::<Result<_, _>>()
            .map(Payload::Enum),
        _ => {
            let all_i32 = items.iter().all(|item| matches!(*item, Item::Int(i) if i32::try_from(i).is_ok()));
            if all_i32 {
                let longs = items.iter().map(|item| match *item {
                    Item::Int(i) => i as i32,
                    _ => unreachable!("all items are 32-bit integers"),
                });
                return Ok(Payload::Long(longs.collect()));
            }
            items
                .iter()
                .map(|item| match *item {
                    Item::Int(i) => Ok(i as f64),
                    Item::Float(x) => Ok(x),
                    Item::Text(s) => s.trim().parse::<f64>().map_err(|_| bad(format!("{s:?}, which is not a number,"))),
                })
                .collect::<Result<_, _>>()
                .map(Payload::Double)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> sys::dbr_string_t {
        dbr_string(s).unwrap()
    }

    #[test]
    fn numbers_go_as_long_or_double_for_the_ioc_to_convert() {
        assert_eq!(encode(&Value::Int(3), NativeType::Double), Ok(Payload::Long(vec![3])));
        assert_eq!(encode(&Value::Float(2.5), NativeType::Long), Ok(Payload::Double(vec![2.5])));
        assert_eq!(encode(&Value::Int(1 << 40), NativeType::Long), Ok(Payload::Double(vec![(1i64 << 40) as f64])));
        assert_eq!(encode(&Value::FloatArray(vec![1.0, 2.0]), NativeType::Double), Ok(Payload::Double(vec![1.0, 2.0])));
        assert_eq!(encode(&Value::IntArray(vec![1, 2]), NativeType::Char), Ok(Payload::Long(vec![1, 2])));
    }

    #[test]
    fn text_for_a_number_pv_is_parsed_or_refused() {
        assert_eq!(encode(&Value::from(" 1.5 "), NativeType::Double), Ok(Payload::Double(vec![1.5])));
        let err = encode(&Value::from("fast"), NativeType::Double).unwrap_err();
        assert_eq!(err, PvError::BadValue("cannot write \"fast\", which is not a number, to a DOUBLE PV".into()));
    }

    #[test]
    fn enums_take_an_index_or_their_strings() {
        assert_eq!(encode(&Value::Int(1), NativeType::Enum), Ok(Payload::Enum(vec![1])));
        assert_eq!(encode(&Value::from("On"), NativeType::Enum), Ok(Payload::String(vec![text("On")])));
        assert!(matches!(encode(&Value::Int(-1), NativeType::Enum), Err(PvError::BadValue(_))));
        assert!(matches!(encode(&Value::Float(0.5), NativeType::Enum), Err(PvError::BadValue(_))));
    }

    #[test]
    fn strings_longer_than_a_dbr_string_are_refused() {
        assert_eq!(encode(&Value::from("x".repeat(39)), NativeType::String).map(|p| p.count()), Ok(1));
        let err = encode(&Value::from("x".repeat(40)), NativeType::String).unwrap_err();
        assert!(matches!(&err, PvError::BadValue(m) if m.contains("at most 39 bytes")), "{err:?}");
    }

    #[test]
    fn strings_are_written_with_their_raw_bytes() {
        let written = text("25\u{EFB0}C");
        assert_eq!(written[..5].iter().map(|&c| c as u8).collect::<Vec<_>>(), b"25\xb0C\0");
        // A raw-byte character is one byte of the 39.
        assert!(dbr_string(&"\u{EFB0}".repeat(39)).is_ok());
        assert!(dbr_string(&"\u{EFB0}".repeat(40)).is_err());
    }

    #[test]
    fn numbers_for_a_string_pv_are_written_as_text() {
        assert_eq!(encode(&Value::Float(2.5), NativeType::String), Ok(Payload::String(vec![text("2.5")])));
    }

    fn reply(dbr_type: i32, count: usize, dbr: *const c_void, element_count: usize) -> Reply {
        Reply { status: sys::ECA_NORMAL, dbr_type: c_long::from(dbr_type), count, dbr, element_count }
    }

    /// A `DBR_TIME_DOUBLE` reply with three elements.
    #[repr(C)]
    struct TimeDoubles {
        head: sys::dbr_time_double,
        more: [f64; 2],
    }

    fn time_doubles(severity: i16, stamp: sys::epicsTimeStamp, values: [f64; 3]) -> TimeDoubles {
        TimeDoubles {
            head: sys::dbr_time_double { status: 3, severity, stamp, RISC_pad: 0, value: values[0] },
            more: [values[1], values[2]],
        }
    }

    #[test]
    fn time_replies_decode_to_value_unix_timestamp_and_severity() {
        let stamp = sys::epicsTimeStamp { secPastEpoch: 1_000_000_000, nsec: 500_000_000 };
        let data = time_doubles(2, stamp, [1.5, 2.5, 3.5]);
        let ptr = (&data as *const TimeDoubles).cast();
        // SAFETY: `data` is laid out as libca delivers three doubles, and
        // outlives the call.
        let array = unsafe { decode_time(&reply(sys::DBR_TIME_DOUBLE, 3, ptr, 16)) }.unwrap();
        assert_eq!(array.value, Value::FloatArray(vec![1.5, 2.5, 3.5]));
        assert_eq!(array.timestamp, 1_631_152_000.5);
        assert_eq!(array.severity, 2);
        // SAFETY: the first of those three doubles is a payload of one.
        let scalar = unsafe { decode_time(&reply(sys::DBR_TIME_DOUBLE, 1, ptr, 1)) }.unwrap();
        assert_eq!(scalar.value, Value::Float(1.5));
    }

    #[test]
    fn a_time_reply_claiming_more_elements_than_the_channel_holds_is_not_read() {
        // Three elements really there, so that reading them is no accident;
        // but the channel holds two.
        let data = time_doubles(0, sys::epicsTimeStamp { secPastEpoch: 0, nsec: 0 }, [1.0, 2.0, 3.0]);
        let ptr = (&data as *const TimeDoubles).cast();
        // SAFETY: `data` is laid out as libca delivers three doubles, and
        // outlives the call.
        let err = unsafe { decode_time(&reply(sys::DBR_TIME_DOUBLE, 3, ptr, 2)) }.unwrap_err();
        assert_eq!(err, "a reply of 3 elements from a channel that holds at most 2: not read");
        // SAFETY: the first two of those three doubles are a payload of two.
        let fits = unsafe { decode_time(&reply(sys::DBR_TIME_DOUBLE, 2, ptr, 2)) }.unwrap();
        assert_eq!(fits.value, Value::FloatArray(vec![1.0, 2.0]));
    }

    #[test]
    fn ctrl_replies_decode_as_ophyd_describes_them() {
        // SAFETY: a `dbr_ctrl_long` is numbers and bytes, for which all zeros are valid.
        let mut long: sys::dbr_ctrl_long = unsafe { std::mem::zeroed() };
        long.units[..6].copy_from_slice(&b"counts".map(|b| b as c_char));
        long.lower_ctrl_limit = -5;
        long.upper_ctrl_limit = 1000;
        // SAFETY: `long` is a whole `dbr_ctrl_long` and outlives the call.
        let meta =
            unsafe { decode_ctrl(&reply(sys::DBR_CTRL_LONG, 1, (&long as *const sys::dbr_ctrl_long).cast(), 1)) };
        assert_eq!(
            meta.unwrap(),
            PvMetadata {
                units: Some("counts".into()),
                precision: None,
                lower_ctrl_limit: Some(Value::Int(-5)),
                upper_ctrl_limit: Some(Value::Int(1000)),
                enum_strs: None,
            }
        );

        // SAFETY: a `dbr_ctrl_enum` is numbers and bytes, for which all zeros are valid.
        let mut enumeration: sys::dbr_ctrl_enum = unsafe { std::mem::zeroed() };
        enumeration.no_str = 2;
        enumeration.strs[0][..3].copy_from_slice(&b"off".map(|b| b as c_char));
        enumeration.strs[1][..2].copy_from_slice(&b"on".map(|b| b as c_char));
        let ptr = (&enumeration as *const sys::dbr_ctrl_enum).cast();
        // SAFETY: `enumeration` is a whole `dbr_ctrl_enum` and outlives the call.
        let meta = unsafe { decode_ctrl(&reply(sys::DBR_CTRL_ENUM, 1, ptr, 1)) }.unwrap();
        assert_eq!(meta, PvMetadata { enum_strs: Some(vec!["off".into(), "on".into()]), ..PvMetadata::default() });
    }
}
