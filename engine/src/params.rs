//! Named, typed workload parameters with defaults (`--param name=value`), declared once as a
//! struct with [`params!`](crate::params!).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::EngineError;

/// The values a duration parameter accepts, in milliseconds: at most
/// [`crate::MAX_DURATION_MS`], so no window bound built from it can overflow.
pub const DURATION_MS: RangeInclusive<u64> = 0..=crate::MAX_DURATION_MS;

/// One parameter a workload accepts; [`params!`](crate::params!) writes these.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Name used on the command line: `--param NAME=VALUE`.
    pub name: &'static str,
    /// Default value, as text.
    pub default: &'static str,
    /// What it controls, in a few words.
    pub help: &'static str,
    /// Whether a value is valid: it parses as the parameter's type and lies in its range.
    pub check: fn(&str) -> Result<(), String>,
    /// The range it must lie in, as text (`1 to 100`), if it has one.
    pub range: fn() -> Option<String>,
}

impl Serialize for ParamSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("ParamSpec", 4)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("default", self.default)?;
        s.serialize_field("help", self.help)?;
        s.serialize_field("range", &(self.range)())?;
        s.end()
    }
}

/// [`ParamSpec::check`] of a parameter of type `T` without a range.
pub fn check_parse<T: FromStr>(raw: &str) -> Result<(), String>
where
    T::Err: Display,
{
    raw.parse::<T>().map(|_| ()).map_err(|e| e.to_string())
}

/// [`ParamSpec::check`] of a parameter of type `T` that must lie in `range`: generators
/// size tables by their parameters, so an unchecked one can exhaust memory or overflow.
pub fn check_in<T>(raw: &str, range: RangeInclusive<T>) -> Result<(), String>
where
    T: FromStr + PartialOrd + Display,
    T::Err: Display,
{
    let value = raw.parse::<T>().map_err(|e| e.to_string())?;
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!("out of range: {}", describe_range(&range)))
    }
}

/// A range as `reprise list` shows it: `1 to 100`, `0 to 2^60`, `at least 1` (up to the
/// type's largest value).
pub fn describe_range<T: Display>(range: &RangeInclusive<T>) -> String {
    let end = range.end().to_string();
    if end == u64::MAX.to_string() || end == i64::MAX.to_string() {
        return format!("at least {}", range.start());
    }
    // A large power of two reads better as one.
    let end = match end.parse::<u64>() {
        Ok(n) if n >= 1 << 20 && n.is_power_of_two() => format!("2^{}", n.trailing_zeros()),
        _ => end,
    };
    format!("{} to {end}", range.start())
}

/// A validated set of parameter values: every declared parameter, defaulted where unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Validates `overrides` (`name=value` strings) against `specs`, fills in defaults, and
    /// checks every value's type and range.
    ///
    /// # Examples
    /// ```
    /// reprise_engine::params! {
    ///     /// Example parameters.
    ///     pub struct Example {
    ///         /// keep value > threshold
    ///         threshold: u64 = "100" in 0..=1000,
    ///     }
    /// }
    /// use reprise_engine::Params;
    /// let params = Params::parse(Example::SPECS, &["threshold=5".to_string()]).unwrap();
    /// assert_eq!(params.get::<u64>("threshold").unwrap(), 5);
    /// let misspelt = Params::parse(Example::SPECS, &["thresold=5".to_string()]);
    /// assert!(misspelt.unwrap_err().to_string().contains("unknown parameter `thresold`"));
    /// let error = Params::parse(Example::SPECS, &["threshold=5000".to_string()]).unwrap_err();
    /// assert!(error.to_string().contains("`threshold=5000` is not valid: out of range: 0 to 1000"), "{error}");
    /// ```
    pub fn parse<'a>(
        specs: impl IntoIterator<Item = &'a ParamSpec>,
        overrides: &[String],
    ) -> Result<Self, EngineError> {
        let specs: Vec<&ParamSpec> = specs.into_iter().collect();
        let mut values: BTreeMap<String, String> = specs
            .iter()
            .map(|s| (s.name.to_string(), s.default.to_string()))
            .collect();
        for pair in overrides {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(EngineError::config(format!(
                    "parameter `{pair}` is not of the form NAME=VALUE"
                )));
            };
            let name = name.trim();
            if !values.contains_key(name) {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(EngineError::config(format!(
                    "unknown parameter `{name}`; this workload accepts: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            values.insert(name.to_string(), value.trim().to_string());
        }
        for spec in specs {
            let raw = &values[spec.name];
            (spec.check)(raw).map_err(|e| {
                EngineError::config(format!("parameter `{}={raw}` is not valid: {e}", spec.name))
            })?;
        }
        Ok(Self { values })
    }

    /// The value of `name`, parsed as `T`.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, EngineError>
    where
        T::Err: Display,
    {
        let raw = self.values.get(name).ok_or_else(|| {
            EngineError::Bug(format!("parameter `{name}` read but never declared"))
        })?;
        raw.parse()
            .map_err(|e| EngineError::config(format!("parameter `{name}={raw}` is not valid: {e}")))
    }
    /// All values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The overrides that reproduce these values (`name=value`, every parameter).
    pub fn to_overrides(&self) -> Vec<String> {
        self.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// Declares a job's parameters as a typed struct: its fields, their defaults, help and
/// (after `in`) the range a value must lie in; and from them the table `reprise list` shows
/// ([`ParamSpec`]s, as `SPECS`) and the parsing (`from_params`). A parameter is named once,
/// as a field, so a misspelt one in the job's code is a compile error, not a run-time lookup
/// that fails; a value of the wrong type or out of range is refused before the run starts.
///
/// # Examples
/// ```
/// use reprise_engine::params::DURATION_MS;
/// reprise_engine::params! {
///     /// The card-spend job's parameters.
///     pub struct CardSpendParams {
///         /// window length in ms
///         window_ms: u64 = "60000" in DURATION_MS,
///         /// alert when a card spends more than this in a window
///         threshold_cents: i64 = "50000",
///     }
/// }
/// let specs = CardSpendParams::SPECS;
/// assert_eq!((specs[1].name, specs[1].default), ("threshold_cents", "50000"));
/// let params = reprise_engine::Params::parse(specs, &["threshold_cents=700".into()]).unwrap();
/// let typed = CardSpendParams::from_params(&params).unwrap();
/// assert_eq!((typed.window_ms, typed.threshold_cents), (60_000, 700));
/// let huge = ["window_ms=18446744073709551615".to_string()];
/// assert!(reprise_engine::Params::parse(specs, &huge).is_err());
/// ```
#[macro_export]
macro_rules! params {
    (@check $ty:ty) => {
        |raw: &str| $crate::params::check_parse::<$ty>(raw)
    };
    (@check $ty:ty, $range:expr) => {
        |raw: &str| $crate::params::check_in::<$ty>(raw, $range)
    };
    (@range) => {
        || None
    };
    (@range $range:expr) => {
        || Some($crate::params::describe_range(&$range))
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                #[doc = $help:literal]
                $field:ident : $ty:ty = $default:literal $(in $range:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis struct $name {
            $(
                #[doc = $help]
                pub $field: $ty,
            )*
        }

        impl $name {
            /// The parameters' names, defaults, help and ranges, for `reprise list` and
            /// parsing.
            pub const SPECS: &'static [$crate::ParamSpec] = &[
                $(
                    $crate::ParamSpec {
                        name: stringify!($field),
                        default: $default,
                        help: $help.trim_ascii(),
                        check: $crate::params!(@check $ty $(, $range)?),
                        range: $crate::params!(@range $($range)?),
                    },
                )*
            ];

            /// The typed values of validated parameters (see [`$crate::Params::parse`]).
            pub fn from_params(params: &$crate::Params) -> Result<Self, $crate::EngineError> {
                Ok(Self {
                    $( $field: params.get(stringify!($field))?, )*
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::params! {
        /// Parameters of every shape.
        struct Every {
            /// a count
            count: u64 = "3" in 1..=10,
            /// a skew
            skew: f64 = "1.5" in 0.0..=10.0,
            /// a name
            name: String = "x",
        }
    }

    #[test]
    fn defaults_and_ranges_are_checked_at_parse() {
        let params = Params::parse(Every::SPECS, &[]).unwrap();
        let typed = Every::from_params(&params).unwrap();
        assert_eq!(
            (typed.count, typed.skew, typed.name.as_str()),
            (3, 1.5, "x")
        );
        let error = |over: &str| {
            Params::parse(Every::SPECS, &[over.to_string()])
                .unwrap_err()
                .to_string()
        };
        assert!(error("count=0").contains("`count=0` is not valid: out of range: 1 to 10"));
        assert!(error("count=ten").contains("`count=ten` is not valid: invalid digit"));
        assert!(error("skew=11").contains("out of range: 0 to 10"));
        assert_eq!((Every::SPECS[0].range)().as_deref(), Some("1 to 10"));
        assert_eq!((Every::SPECS[2].range)(), None);
        assert_eq!(describe_range(&DURATION_MS), "0 to 2^60");
        assert_eq!(describe_range(&(1..=u64::MAX)), "at least 1");
    }
}
