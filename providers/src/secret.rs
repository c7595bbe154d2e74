//! Secret strings: values that must never reach a log line, an error message or a status field.
//!
//! Dokploy hands us three kinds of secrets: the API key we authenticate with, `env` strings
//! (plaintext in `application.one` responses) and registry passwords. Each is held in a
//! [`SecretString`], whose `Debug` and `Display` print `<redacted>`. Reading the value takes an
//! explicit [`SecretString::expose`] call, so every place that touches plaintext is greppable.
//!
//! There is deliberately no `Serialize` impl (only `Deserialize`, so responses land in secrets): request bodies are built by the client from
//! `expose()`d values at the last moment, and nothing else can serialise a secret by accident.

use std::fmt;

/// A string whose value never prints. `Clone` and `Eq` are provided so that desired and observed
/// secrets can be compared without exposing them.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SecretString(String);

/// The value of one env key handed to [`crate::Provider::merge_env`].
pub type SecretValue = SecretString;

/// The Dokploy API key (`x-api-key`).
pub type ApiKey = SecretString;

impl SecretString {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext. Call sites are the only places a secret is read; keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes; safe to log.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty; safe to log.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Responses are read straight into secrets, so plaintext never sits in a printable field.
impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:#?}", Some(s.clone())), "Some(\n    <redacted>,\n)");
        assert_eq!(s.expose(), "hunter2-very-secret");
        assert_eq!(s.len(), 19);
    }
}
