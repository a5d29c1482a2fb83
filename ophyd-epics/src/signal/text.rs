//! Text as Channel Access carries it: bytes decoded and encoded back
//! exactly, and the two PV types that hold text other than STRING — CHAR
//! arrays (areaDetector's file paths and names, longer than a STRING's 39
//! bytes) and ENUMs read by label — for a signal holding a `String`.
//!
//! # Text, byte for byte
//!
//! Channel Access strings are bytes, and an IOC may hold bytes that are not
//! UTF-8 (Latin-1 `"25°C"` is `32 35 B0 43`). A value read and written back
//! (staging's restore) must give the IOC the bytes it had, so text is
//! decoded by [`decode_text`] and encoded by [`encode_text`], which undoes it
//! exactly:
//!
//! - valid UTF-8 decodes to the characters it encodes;
//! - each byte that is not part of valid UTF-8 (always 0x80 to 0xFF: ASCII
//!   bytes are valid) decodes to the private-use character U+EF00 + byte,
//!   one of the 128 *raw-byte characters* U+EF80 to U+EFFF (the range
//!   MirBSD's OPTU-8 uses for the same purpose);
//! - a raw-byte character that the IOC sent as valid UTF-8 (`EE BE 80` to
//!   `EE BF BF`) decodes to the three raw-byte characters of its three
//!   bytes, so that no decoded raw-byte character ever stands for itself.
//!
//! Encoding writes each raw-byte character as its byte and every other
//! character as UTF-8. Each of the three cases is encoded back to the bytes
//! it was decoded from, so `encode_text(&decode_text(b)) == b` for all bytes
//! `b`, and two different byte strings never decode to the same text. Text
//! that did not come from an IOC is written as UTF-8, except for raw-byte
//! characters, which are written as their bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use futures::FutureExt;
use ophyd_core::{Subscription, Value};

use crate::transport::{PutDone, PvCallback, PvChannel, PvError, PvInfo, PvMetadata, PvReading};

/// The character that stands for `byte`, one that is not part of valid
/// UTF-8 (so 0x80 to 0xFF): U+EF00 + byte.
fn raw_byte_char(byte: u8) -> char {
    debug_assert!(byte >= 0x80, "ASCII is always valid UTF-8");
    char::from_u32(0xEF00 + u32::from(byte)).expect("U+EF80..U+EFFF are characters")
}

/// The byte a raw-byte character stands for; `None` for other characters.
fn raw_byte(c: char) -> Option<u8> {
    u32::from(c).checked_sub(0xEF00).and_then(|byte| u8::try_from(byte).ok()).filter(|&byte| byte >= 0x80)
}

/// Text from Channel Access bytes, reversibly (see the module documentation).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if raw_byte(c).is_some() {
                text.extend(c.encode_utf8(&mut [0; 4]).bytes().map(raw_byte_char));
            } else {
                text.push(c);
            }
        }
        text.extend(chunk.invalid().iter().map(|&byte| raw_byte_char(byte)));
    }
    text
}

/// The bytes [`decode_text`] decoded `text` from.
pub(crate) fn encode_text(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        match raw_byte(c) {
            Some(byte) => bytes.push(byte),
            None => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    bytes
}

/// A CHAR array as text: read up to its first NUL, written with one.
pub(crate) fn chars(channel: Arc<dyn PvChannel>) -> Arc<dyn PvChannel> {
    Arc::new(CharText { inner: channel })
}

/// An ENUM as text: read as the label of its index (its labels are read
/// now, and again after a reconnection), written by label.
pub(crate) async fn labels(channel: Arc<dyn PvChannel>) -> Result<Arc<dyn PvChannel>, PvError> {
    let strings = channel.metadata().await?.enum_strs.unwrap_or_default();
    let connection = AtomicU64::new(channel.connections());
    Ok(Arc::new(EnumText(Arc::new(Labels { inner: channel, connection, strings: RwLock::new(strings) }))))
}

/// The text of CHAR array bytes: up to the first NUL.
fn text_of(value: &Value) -> Value {
    let bytes: Vec<u8> = match value {
        Value::IntArray(v) => v.iter().map(|&b| b as u8).collect(),
        Value::Int(b) => vec![*b as u8],
        other => return other.clone(),
    };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Value::String(decode_text(&bytes[..end]))
}

/// `reading` with its value made by `f`.
fn map_reading(reading: PvReading, f: impl FnOnce(&Value) -> Value) -> PvReading {
    PvReading { value: f(&reading.value), ..reading }
}

struct CharText {
    inner: Arc<dyn PvChannel>,
}

impl CharText {
    /// The bytes of `value`, if it is text, NUL-terminated; other values as they are.
    fn bytes(&self, value: Value) -> Result<Value, PvError> {
        let Value::String(text) = value else { return Ok(value) };
        let mut bytes = encode_text(&text);
        if bytes.contains(&0) {
            return Err(PvError::BadValue(format!(
                "{text:?} holds a NUL, where a CHAR array's text ends: it cannot be written whole"
            )));
        }
        bytes.push(0);
        let room = self.inner.info().count;
        if bytes.len() > room {
            return Err(PvError::BadValue(format!(
                "{text:?} is {} bytes: a CHAR array of {room} holds at most {} and its NUL",
                bytes.len() - 1,
                room - 1
            )));
        }
        Ok(Value::IntArray(bytes.into_iter().map(i64::from).collect()))
    }
}

impl PvChannel for CharText {
    fn pv(&self) -> &str {
        self.inner.pv()
    }

    fn info(&self) -> PvInfo {
        self.inner.info()
    }

    fn connected(&self) -> bool {
        self.inner.connected()
    }

    fn connections(&self) -> u64 {
        self.inner.connections()
    }

    fn get(&self) -> BoxFuture<'static, Result<PvReading, PvError>> {
        self.inner.get().map(|r| r.map(|r| map_reading(r, text_of))).boxed()
    }

    fn metadata(&self) -> BoxFuture<'static, Result<PvMetadata, PvError>> {
        self.inner.metadata()
    }

    fn check_put(&self, value: &Value) -> Result<(), PvError> {
        self.inner.check_put(&self.bytes(value.clone())?)
    }

    fn put_then(&self, value: Value, wait_complete: bool, done: PutDone) -> Result<(), PvError> {
        self.inner.put_then(self.bytes(value)?, wait_complete, done)
    }

    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError> {
        self.inner.subscribe(Arc::new(move |r: &PvReading| callback(&map_reading(r.clone(), text_of))))
    }
}

/// An ENUM's labels, as read on one of its connections.
struct Labels {
    inner: Arc<dyn PvChannel>,
    /// The connection `strings` were read on.
    connection: AtomicU64,
    strings: RwLock<Vec<String>>,
}

impl Labels {
    /// The label of an index; an index beyond the labels as its number, which
    /// no label matches, so it is never written back as another index.
    fn label_of(&self, value: &Value) -> Value {
        let Value::Int(index) = *value else { return value.clone() };
        let strings = self.strings.read().unwrap_or_else(|p| p.into_inner());
        let label = usize::try_from(index).ok().and_then(|i| strings.get(i));
        Value::String(label.cloned().unwrap_or_else(|| index.to_string()))
    }

    /// Read the labels again if the PV has reconnected since they were read.
    async fn refresh(&self) -> Result<(), PvError> {
        let connection = self.inner.connections();
        if self.connection.load(Ordering::SeqCst) == connection {
            return Ok(());
        }
        let strings = self.inner.metadata().await?.enum_strs.unwrap_or_default();
        *self.strings.write().unwrap_or_else(|p| p.into_inner()) = strings;
        self.connection.store(connection, Ordering::SeqCst);
        Ok(())
    }
}

struct EnumText(Arc<Labels>);

impl PvChannel for EnumText {
    fn pv(&self) -> &str {
        self.0.inner.pv()
    }

    fn info(&self) -> PvInfo {
        self.0.inner.info()
    }

    fn connected(&self) -> bool {
        self.0.inner.connected()
    }

    fn connections(&self) -> u64 {
        self.0.inner.connections()
    }

    fn get(&self) -> BoxFuture<'static, Result<PvReading, PvError>> {
        let (labels, reply) = (self.0.clone(), self.0.inner.get());
        async move {
            let reading = reply.await?;
            labels.refresh().await?;
            Ok(map_reading(reading, |v| labels.label_of(v)))
        }
        .boxed()
    }

    fn metadata(&self) -> BoxFuture<'static, Result<PvMetadata, PvError>> {
        self.0.inner.metadata()
    }

    /// Labels are written as they are: the transport (or the IOC) looks
    /// them up among the PV's strings.
    fn check_put(&self, value: &Value) -> Result<(), PvError> {
        self.0.inner.check_put(value)
    }

    fn put_then(&self, value: Value, wait_complete: bool, done: PutDone) -> Result<(), PvError> {
        self.0.inner.put_then(value, wait_complete, done)
    }

    fn subscribe(&self, callback: PvCallback) -> Result<Subscription, PvError> {
        let labels = self.0.clone();
        self.0.inner.subscribe(Arc::new(move |r: &PvReading| callback(&map_reading(r.clone(), |v| labels.label_of(v)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte string of up to `len` bytes over `alphabet`.
    fn all_strings(alphabet: &[u8], len: usize) -> Vec<Vec<u8>> {
        let mut all = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..len {
            last = last.iter().flat_map(|s| alphabet.iter().map(move |&b| [s.as_slice(), &[b]].concat())).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn text_decodes_and_encodes_back_byte_for_byte() {
        let samples: [&[u8]; 10] = [
            b"25\xb0C",                    // Latin-1
            "25°C".as_bytes(),             // UTF-8
            "µm, 日本, 🦀".as_bytes(),     // two, three and four bytes
            "\u{EFB0}".as_bytes(),         // a raw-byte character sent as UTF-8
            "\u{EF80}\u{EFFF}".as_bytes(), // the first and the last
            "\u{EF7F}\u{F000}".as_bytes(), // their neighbours, which are no escapes
            b"\xee\xbe",                   // a raw-byte character cut short
            b"\xe6\x97 \xf0\x9f\xa6",      // other characters cut short
            b"\xc0\x80\xed\xa0\x80\xff",   // overlong, a surrogate, never valid
            b"",
        ];
        for bytes in samples {
            assert_eq!(encode_text(&decode_text(bytes)), bytes, "{bytes:x?} -> {:?}", decode_text(bytes));
        }
        // Every string of up to three bytes made of ASCII, every lead and
        // continuation byte kind, and the escapes' own UTF-8.
        let alphabet = [b'a', 0x7f, 0x80, 0xb0, 0xbe, 0xbf, 0xc2, 0xe6, 0xee, 0xef, 0xf0, 0xf4, 0xf8, 0xff];
        for bytes in all_strings(&alphabet, 3) {
            assert_eq!(encode_text(&decode_text(&bytes)), bytes, "{bytes:x?} -> {:?}", decode_text(&bytes));
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(encode_text(&decode_text(&[a, b])), [a, b]);
            }
        }
    }

    #[test]
    fn valid_utf8_stays_and_other_bytes_become_raw_byte_characters() {
        assert_eq!(decode_text("25°C".as_bytes()), "25°C");
        assert_eq!(decode_text(b"25\xb0C"), "25\u{EFB0}C");
        // A raw-byte character the IOC holds as UTF-8 does not stand for
        // its byte: it decodes to its three bytes, so the two never meet.
        assert_eq!(decode_text("\u{EFB0}".as_bytes()), "\u{EFEE}\u{EFBE}\u{EFB0}");
        assert_ne!(decode_text("\u{EFB0}".as_bytes()), decode_text(b"\xb0"));
        assert_eq!(encode_text("\u{EFEE}\u{EFBE}\u{EFB0}"), "\u{EFB0}".as_bytes());
    }

    #[test]
    fn char_array_text_ends_at_its_first_nul() {
        let bytes = |b: &[u8]| Value::IntArray(b.iter().map(|&x| i64::from(x)).collect());
        assert_eq!(text_of(&bytes(b"/data/\0junk\0")), Value::String("/data/".into()));
        assert_eq!(text_of(&bytes(b"no nul")), Value::String("no nul".into()));
        assert_eq!(text_of(&bytes(b"25\xb0C\0")), Value::String("25\u{EFB0}C".into()), "bytes kept as they were");
        assert_eq!(text_of(&bytes(b"")), Value::String(String::new()));
    }
}
