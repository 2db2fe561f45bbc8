//! A record type's column names, read off its `Deserialize` implementation without a value.
//!
//! serde hands a struct's field names (`&'static [&str]`) to the deserializer it asks for a
//! struct, so a deserializer that stops there learns them from the type alone: the output's
//! column names come from the output type, never from a string copied by hand. (A tracer
//! such as serde-reflection does this for whole type graphs; only the top level is needed
//! here, which is these few lines.)

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

/// The column names of records of type `R`: a struct's field names; `c1`, `c2`, ... for a
/// tuple; `value` for anything else (a number, a string).
///
/// # Examples
/// ```
/// use reprise_engine::output::record_columns;
/// #[derive(serde::Deserialize)]
/// struct Count { window_start: u64, word: String, count: i64 }
/// assert_eq!(record_columns::<Count>(), ["window_start", "word", "count"]);
/// assert_eq!(record_columns::<(u64, String)>(), ["c1", "c2"]);
/// assert_eq!(record_columns::<u64>(), ["value"]);
/// ```
pub fn record_columns<R: DeserializeOwned>() -> Vec<String> {
    let mut columns = None;
    // The introspector always stops with an error once it has seen the shape.
    let _ = R::deserialize(Introspector {
        columns: &mut columns,
    });
    columns.unwrap_or_else(|| vec!["value".to_string()])
}

/// Records the shape serde asks for, then stops.
struct Introspector<'a> {
    columns: &'a mut Option<Vec<String>>,
}

/// The introspector's way of stopping.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("introspection only")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl Introspector<'_> {
    fn positional(self, len: usize) -> Stop {
        *self.columns = Some((1..=len).map(|i| format!("c{i}")).collect());
        Stop
    }
}

impl<'de> Deserializer<'de> for Introspector<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.columns = Some(fields.iter().map(|f| f.to_string()).collect());
        Err(Stop)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, Stop> {
        Err(self.positional(len))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        _: V,
    ) -> Result<V::Value, Stop> {
        Err(self.positional(len))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        // A newtype is its inner type's columns.
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq map enum identifier ignored_any
    }
}
