use std::fmt;

/// How many items one list request returns: `1..=MAX`, `DEFAULT` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u16);

/// Why a `limit` value was refused; the message is what the API tells the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("limit must be an integer between {min} and {max}, got {0:?}", min = Limit::MIN, max = Limit::MAX)]
    NotANumber(String),
    #[error("limit must be between {min} and {max}, got {0}", min = Limit::MIN, max = Limit::MAX)]
    OutOfRange(String),
    #[error("limit must be given once")]
    Repeated,
}

impl Limit {
    pub const MIN: u16 = 1;
    pub const MAX: u16 = 100;
    /// The seed's "latest ten".
    pub const DEFAULT: Limit = Limit(10);

    /// Parses a query-string value. Only a plain decimal integer (optionally negative) is a
    /// number; whitespace, `+`, decimals, exponents and hex are refused as not a number.
    pub fn parse(raw: &str) -> Result<Self, LimitError> {
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LimitError::NotANumber(raw.to_owned()));
        }
        match raw.parse::<u16>() {
            Ok(n) if (Self::MIN..=Self::MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(LimitError::OutOfRange(raw.to_owned())),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_whole_range() {
        assert_eq!(Limit::parse("1").map(Limit::get), Ok(1));
        assert_eq!(Limit::parse("10").map(Limit::get), Ok(10));
        assert_eq!(Limit::parse("100").map(Limit::get), Ok(100));
        assert_eq!(Limit::default().get(), 10);
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        for raw in ["0", "101", "-1", "99999999999999999999"] {
            assert!(
                matches!(Limit::parse(raw), Err(LimitError::OutOfRange(_))),
                "{raw}"
            );
        }
        for raw in [
            "abc", "", " 5", "5 ", "+5", "1.5", "1e2", "0x10", "--1", "-",
        ] {
            assert_eq!(
                Limit::parse(raw),
                Err(LimitError::NotANumber(raw.to_owned())),
                "{raw}"
            );
        }
        assert_eq!(
            Limit::parse("0").unwrap_err().to_string(),
            "limit must be between 1 and 100, got 0"
        );
        assert_eq!(
            Limit::parse("abc").unwrap_err().to_string(),
            "limit must be an integer between 1 and 100, got \"abc\""
        );
    }
}
