//! The checksum of generated events: a hash of their serde data, fed straight from the
//! serializer, word by word, without encoding them first.
//!
//! A log of generated input keeps only each block's indices and this checksum; a replay
//! makes the events again and compares it. Computing it costs a few nanoseconds an event
//! (encoding with postcard and hashing the bytes costs several times that), which is what
//! lets a recording cost next to nothing. No crate hashes serde data without building a
//! value tree or a byte buffer first, hence this one.
//!
//! Each step `state = (state.rotl(26) ^ word) * K` is a bijection of the state for a given
//! word and of the word for a given state, so a single changed word always changes the
//! result; strings and sequences are prefixed by their length, variants by their index, so
//! no two values of one type feed the same words. A string longer than 32 bytes feeds its
//! XXH3-64 hash instead of its bytes.

use serde::Serialize;
use serde::ser;

/// A running checksum over a sequence of events, in order.
#[derive(Clone, Copy, Debug)]
pub struct EventsChecksum {
    state: u64,
    events: u64,
}

impl Default for EventsChecksum {
    fn default() -> Self {
        Self::new()
    }
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl EventsChecksum {
    /// No events yet.
    pub const fn new() -> Self {
        Self {
            state: 0x5245_5052_4953_4547, // "REPRISEG"
            events: 0,
        }
    }

    /// Adds the next event.
    #[inline]
    pub fn add<E: Serialize>(&mut self, event: &E) {
        event
            .serialize(&mut *self)
            .expect("events are plain serde data");
        self.events += 1;
    }

    /// The checksum of the events added so far.
    pub fn finish(&self) -> u64 {
        // MurmurHash3's finalizer: every bit of the state and the count reaches every bit.
        let mut h = self.state.wrapping_mul(MULTIPLIER) ^ self.events;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    #[inline]
    fn word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(26) ^ word).wrapping_mul(MULTIPLIER);
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        // Longer strings through XXH3, whose independent lanes beat this chain.
        if bytes.len() > 32 {
            self.word(xxhash_rust::xxh3::xxh3_64(bytes));
            return;
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
    }
}

/// Never produced: every serde value can be hashed.
#[derive(Debug)]
pub struct Unhashable(String);

impl std::fmt::Display for Unhashable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unhashable {}

impl ser::Error for Unhashable {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Unhashable(message.to_string())
    }
}

type Done = Result<(), Unhashable>;

/// `serialize_T` for types that are one word as `v as u64`.
macro_rules! words {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Done {
            self.word(v as u64);
            Ok(())
        }
    )*};
}

impl ser::Serializer for &mut EventsChecksum {
    type Ok = ();
    type Error = Unhashable;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    // Integers, bools and chars: one word each.
    words!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_char: char);

    fn serialize_i128(self, v: i128) -> Done {
        self.word(v as u64);
        self.word((v >> 64) as u64);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Done {
        self.word(v as u64);
        self.word((v >> 64) as u64);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.word(v.to_bits() as u64);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Done {
        self.word(v.to_bits());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Done {
        self.bytes(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        self.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Done {
        self.word(0);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Done {
        self.word(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Done {
        self.word(index as u64);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        value: &T,
    ) -> Done {
        self.word(index as u64);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Unhashable> {
        // A sequence of unknown length is framed by a marker no length can equal.
        self.word(len.map_or(u64::MAX, |n| n as u64));
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Unhashable> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Unhashable> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Unhashable> {
        self.word(index as u64);
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Unhashable> {
        self.word(len.map_or(u64::MAX, |n| n as u64));
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unhashable> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Unhashable> {
        self.word(index as u64);
        Ok(self)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Sequences, tuples, maps and structs: their elements in order, nothing between.
macro_rules! elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for &mut EventsChecksum {
            type Ok = ();
            type Error = Unhashable;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Done {
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for &mut EventsChecksum {
    type Ok = ();
    type Error = Unhashable;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Done {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

/// Struct fields: their values in order, without their names.
macro_rules! fields {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for &mut EventsChecksum {
            type Ok = ();
            type Error = Unhashable;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, _: &'static str, value: &T) -> Done {
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::EventsChecksum;

    fn checksum<E: serde::Serialize>(events: &[E]) -> u64 {
        let mut sum = EventsChecksum::new();
        events.iter().for_each(|e| sum.add(e));
        sum.finish()
    }

    #[test]
    fn any_change_of_value_order_or_framing_changes_the_checksum() {
        let events = vec![(1u64, "ab".to_string()), (2, "cdefghijk".to_string())];
        let base = checksum(&events);
        assert_eq!(base, checksum(&events.clone()));
        let mut changed = events.clone();
        changed[1].1.push('!');
        assert_ne!(base, checksum(&changed));
        let mut swapped = events.clone();
        swapped.swap(0, 1);
        assert_ne!(base, checksum(&swapped));
        // The same bytes split differently between strings.
        let moved = vec![(1u64, "abc".to_string()), (2, "defghijk".to_string())];
        assert_ne!(base, checksum(&moved));
        // One event fewer, or one more empty one.
        assert_ne!(base, checksum(&events[..1]));
        let mut longer = events.clone();
        longer.push((0, String::new()));
        assert_ne!(base, checksum(&longer));
        // Variants and options.
        assert_ne!(checksum(&[Some(0u64)]), checksum(&[None::<u64>]));
        assert_ne!(
            checksum(&[Ok::<u64, u64>(1)]),
            checksum(&[Err::<u64, u64>(1)])
        );
    }

    /// The definition in docs/log-format.md, written out independently: recorded logs
    /// hold these values, so no change to the code may change them.
    fn by_definition(events: &[(u64, bool, Option<u32>, String)]) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut state: u64 = 0x5245_5052_4953_4547;
        let mut word = |w: u64| state = (state.rotate_left(26) ^ w).wrapping_mul(K);
        for (number, flag, maybe, text) in events {
            word(*number);
            word(*flag as u64);
            match maybe {
                None => word(0),
                Some(v) => {
                    word(1);
                    word(*v as u64);
                }
            }
            let bytes = text.as_bytes();
            word(bytes.len() as u64);
            if bytes.len() > 32 {
                word(xxhash_rust::xxh3::xxh3_64(bytes));
            } else {
                for chunk in bytes.chunks(8) {
                    let mut padded = [0u8; 8];
                    padded[..chunk.len()].copy_from_slice(chunk);
                    word(u64::from_le_bytes(padded));
                }
            }
        }
        let mut h = state.wrapping_mul(K) ^ events.len() as u64;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    #[test]
    fn follows_the_documented_definition() {
        let events: Vec<(u64, bool, Option<u32>, String)> = (0..48u64)
            .map(|i| {
                let text: String = (0..i)
                    .map(|j| (b'a' + (i * 7 + j) as u8 % 26) as char)
                    .collect();
                (
                    i * 0x1234_5678_9abc,
                    i % 3 == 0,
                    (i % 2 == 0).then_some(i as u32),
                    text,
                )
            })
            .collect();
        for n in 0..=events.len() {
            assert_eq!(
                checksum(&events[..n]),
                by_definition(&events[..n]),
                "first {n} events"
            );
        }
    }
}
