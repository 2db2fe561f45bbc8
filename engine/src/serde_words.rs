//! A serde value as the words it is made of, fed straight from the serializer, without
//! encoding it first: integers, bools, chars and floats are one word each, strings and
//! byte strings their bytes, sequences and maps are prefixed by their length, variants by
//! their index, options by 0 or 1. Struct and field names feed nothing.
//!
//! Two consumers: the checksum of generated events ([`crate::log::EventsChecksum`]) and
//! [`holds_variable_data`]. No crate walks serde data without building a value tree or a
//! byte buffer first, hence this one.

use serde::Serialize;
use serde::ser;

/// What the words of a serde value go to.
pub(crate) trait Words {
    /// An integer, bool, char, float bits, variant index or option tag.
    fn word(&mut self, word: u64);
    /// A string's or byte string's bytes.
    fn bytes(&mut self, bytes: &[u8]);
    /// The length of a sequence or map that follows (`None`: not known in advance).
    fn length(&mut self, len: Option<usize>) {
        // A length no sequence can have marks an unknown one.
        self.word(len.map_or(u64::MAX, |n| n as u64));
    }
}

/// Feeds the words of `value` to `words`.
#[inline]
pub(crate) fn walk<W: Words, T: ?Sized + Serialize>(words: &mut W, value: &T) {
    value
        .serialize(&mut Walk(words))
        .expect("every serde value can be walked");
}

/// Whether `value` holds data of variable size (a string, byte string, sequence or map
/// that is not empty): decoded, such a value owns heap memory.
pub(crate) fn holds_variable_data<T: Serialize>(value: &T) -> bool {
    struct Probe(bool);
    impl Words for Probe {
        fn word(&mut self, _: u64) {}
        fn bytes(&mut self, bytes: &[u8]) {
            self.0 |= !bytes.is_empty();
        }
        fn length(&mut self, len: Option<usize>) {
            self.0 |= len != Some(0);
        }
    }
    let mut probe = Probe(false);
    walk(&mut probe, value);
    probe.0
}

/// The serializer: `value.serialize(&mut Walk(words))`.
struct Walk<'a, W>(&'a mut W);

/// Never produced: every serde value can be walked.
#[derive(Debug)]
struct Unwalkable(String);

impl std::fmt::Display for Unwalkable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unwalkable {}

impl ser::Error for Unwalkable {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Unwalkable(message.to_string())
    }
}

type Done = Result<(), Unwalkable>;

/// `serialize_T` for types that are one word as `v as u64`.
macro_rules! words {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Done {
            self.0.word(v as u64);
            Ok(())
        }
    )*};
}

impl<W: Words> ser::Serializer for &mut Walk<'_, W> {
    type Ok = ();
    type Error = Unwalkable;
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
        self.0.word(v as u64);
        self.0.word((v >> 64) as u64);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Done {
        self.serialize_i128(v as i128)
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.0.word(v.to_bits() as u64);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Done {
        self.0.word(v.to_bits());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Done {
        self.0.bytes(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Done {
        self.0.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Done {
        self.0.word(0);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Done {
        self.0.word(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, index: u32, _: &'static str) -> Done {
        self.0.word(index as u64);
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
        self.0.word(index as u64);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Unwalkable> {
        self.0.length(len);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Unwalkable> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Unwalkable> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Unwalkable> {
        self.0.word(index as u64);
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Unwalkable> {
        self.serialize_seq(len)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unwalkable> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self, Unwalkable> {
        self.serialize_tuple_variant(name, index, variant, len)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Sequences, tuples, maps and structs: their elements in order, nothing between.
macro_rules! elements {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl<W: Words> ser::$trait for &mut Walk<'_, W> {
            type Ok = ();
            type Error = Unwalkable;
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

impl<W: Words> ser::SerializeMap for &mut Walk<'_, W> {
    type Ok = ();
    type Error = Unwalkable;
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
        impl<W: Words> ser::$trait for &mut Walk<'_, W> {
            type Ok = ();
            type Error = Unwalkable;
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
    use super::holds_variable_data;

    #[test]
    fn variable_data_is_a_non_empty_string_bytes_sequence_or_map() {
        assert!(!holds_variable_data(&(1u64, 2.5f64, 'x', Some(3u32), ())));
        assert!(!holds_variable_data(&std::net::Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!holds_variable_data(&(String::new(), Vec::<u8>::new())));
        assert!(holds_variable_data(&(1u64, "a")));
        assert!(holds_variable_data(&Some(vec![0u8])));
        assert!(holds_variable_data(&std::collections::BTreeMap::from([(
            1, 2
        )])));
        assert!(holds_variable_data(&Ok::<(u8, String), ()>((
            0,
            "b".into()
        ))));
    }
}
