//! Named, typed workload parameters with defaults (`--param name=value`).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;

use crate::EngineError;

/// One parameter a workload accepts.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamSpec {
    /// Name used on the command line: `--param NAME=VALUE`.
    pub name: &'static str,
    /// Default value, as text.
    pub default: &'static str,
    /// What it controls, in a few words; a generator's parameter starts with `generator:`.
    pub help: &'static str,
}

impl ParamSpec {
    /// Whether it shapes only the generated input (its help starts with `generator:`), and
    /// so means nothing for input read from a file, a topic or a log.
    pub fn is_generator(&self) -> bool {
        self.help.starts_with("generator:")
    }
}

/// A validated set of parameter values: every declared parameter, defaulted where unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Params {
    values: BTreeMap<String, String>,
}

impl Params {
    /// Validates `overrides` (`name=value` strings) against `specs` and fills in defaults.
    ///
    /// # Examples
    /// ```
    /// use reprise_engine::{ParamSpec, Params};
    /// let specs = [ParamSpec { name: "threshold", default: "100", help: "keep value > threshold" }];
    /// let params = Params::parse(&specs, &["threshold=5".to_string()]).unwrap();
    /// assert_eq!(params.get::<u64>("threshold").unwrap(), 5);
    /// assert!(Params::parse(&specs, &["thresold=5".to_string()]).is_err());
    /// ```
    pub fn parse(specs: &[ParamSpec], overrides: &[String]) -> Result<Self, EngineError> {
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
        Ok(Self { values })
    }

    /// The value of `name`, parsed as `T`.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<T, EngineError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.values.get(name).ok_or_else(|| {
            EngineError::Bug(format!("parameter `{name}` read but never declared"))
        })?;
        raw.parse()
            .map_err(|e| EngineError::config(format!("parameter `{name}={raw}` is not valid: {e}")))
    }

    /// The value of `name`, which must lie in `range`: generators size tables by their
    /// parameters, so an unchecked one can exhaust memory or overflow.
    ///
    /// # Examples
    /// ```
    /// use reprise_engine::{ParamSpec, Params};
    /// let specs = [ParamSpec { name: "vocabulary", default: "1000", help: "distinct words" }];
    /// let huge = Params::parse(&specs, &["vocabulary=10000000000".into()]).unwrap();
    /// let error = huge.get_in("vocabulary", 1..=100_000_000u64).unwrap_err().to_string();
    /// assert!(error.contains("vocabulary=10000000000") && error.contains("1 to 100000000"), "{error}");
    /// ```
    pub fn get_in<T>(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, EngineError>
    where
        T: FromStr + PartialOrd + std::fmt::Display,
        T::Err: std::fmt::Display,
    {
        let value: T = self.get(name)?;
        if !range.contains(&value) {
            return Err(EngineError::config(format!(
                "parameter `{name}={value}` is out of range: {} to {}",
                range.start(),
                range.end()
            )));
        }
        Ok(value)
    }

    /// The value of `name` as a duration in milliseconds, at most
    /// [`crate::MAX_DURATION_MS`] (a larger one would overflow window bounds).
    ///
    /// # Examples
    /// ```
    /// use reprise_engine::{ParamSpec, Params};
    /// let specs = [ParamSpec { name: "lateness_ms", default: "0", help: "allowed lateness" }];
    /// let huge = Params::parse(&specs, &["lateness_ms=18446744073709551615".into()]).unwrap();
    /// let error = huge.duration_ms("lateness_ms").unwrap_err().to_string();
    /// assert!(error.contains("lateness_ms=18446744073709551615"), "{error}");
    /// ```
    pub fn duration_ms(&self, name: &str) -> Result<u64, EngineError> {
        let ms: u64 = self.get(name)?;
        if ms > crate::MAX_DURATION_MS {
            return Err(EngineError::config(format!(
                "parameter `{name}={ms}` is out of range: a duration in ms from 0 to {} \
                 (2^60, about 36 million years)",
                crate::MAX_DURATION_MS
            )));
        }
        Ok(ms)
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

/// Declares a job's parameters as a typed struct: its fields, their defaults and help, and
/// from them the table `reprise list` shows ([`ParamSpec`]s, as `SPECS`) and the parsing
/// (`from_params`). A parameter is named once, as a field, so a misspelt one in the job's
/// code is a compile error, not a run-time lookup that fails.
///
/// # Examples
/// ```
/// reprise_engine::params! {
///     /// The card-spend job's parameters.
///     pub struct CardSpendParams {
///         /// window length in ms
///         window_ms: u64 = "60000",
///         /// alert when a card spends more than this in a window
///         threshold_cents: i64 = "50000",
///     }
/// }
/// let specs = CardSpendParams::SPECS;
/// assert_eq!((specs[1].name, specs[1].default), ("threshold_cents", "50000"));
/// let params = reprise_engine::Params::parse(specs, &["threshold_cents=700".into()]).unwrap();
/// let typed = CardSpendParams::from_params(&params).unwrap();
/// assert_eq!((typed.window_ms, typed.threshold_cents), (60_000, 700));
/// ```
#[macro_export]
macro_rules! params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                #[doc = $help:literal]
                $field:ident : $ty:ty = $default:literal
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
            /// The parameters' names, defaults and help, for `reprise list` and parsing.
            pub const SPECS: &'static [$crate::ParamSpec] = &[
                $(
                    $crate::ParamSpec {
                        name: stringify!($field),
                        default: $default,
                        help: $help.trim_ascii(),
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
