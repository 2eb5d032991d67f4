//! 12-factor configuration: built-in defaults, then an optional TOML file named by
//! `CONFIG_FILE`, then the environment. Every binary reads its settings through here.

use config::{Config, ConfigError, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// Loads `T` from the layered sources. Keys are the variable names in lower case
/// (`api_port`); values stay strings until `T` asks for a number, so `"3080"` is a port
/// and `"08"` is not hex.
pub fn load<T: DeserializeOwned>() -> Result<T, String> {
    load_from(std::env::var("CONFIG_FILE").ok().as_deref())
}

fn load_from<T: DeserializeOwned>(config_file: Option<&str>) -> Result<T, String> {
    let mut builder = Config::builder();
    if let Some(path) = config_file {
        builder = builder.add_source(File::new(path, FileFormat::Toml).required(true));
    }
    builder
        .add_source(Environment::default())
        .build()
        .and_then(Config::try_deserialize)
        .map_err(|e| describe(e, config_file))
}

/// One line naming the culprit, in the spelling the user set it (`API_PORT`, not `api_port`).
fn describe(err: ConfigError, config_file: Option<&str>) -> String {
    match err {
        ConfigError::Type {
            key: Some(key),
            unexpected,
            expected,
            ..
        } => format!(
            "{}: expected {expected}, got {unexpected}",
            key.to_uppercase()
        ),
        ConfigError::FileParse { uri, cause } => {
            let file = config_file.or(uri.as_deref()).unwrap_or_default();
            syntax_error(file, &cause.to_string())
        }
        other => {
            // Other messages end in "for key `name`": lead with the variable instead.
            let msg = other.to_string();
            match msg.split_once(" for key `") {
                Some((what, rest)) => {
                    let key = rest.split('`').next().unwrap_or_default();
                    format!("{}: {what}", key.to_uppercase())
                }
                None => msg,
            }
        }
    }
}

/// Where the TOML parser stopped and why, but not the source line it quotes: that line may
/// hold a password (`db_pass = "…` unterminated, say).
///
/// The parser's message is a header (`TOML parse error at line 2, column 11`), the quoted
/// line with a caret under it, then what it expected (`invalid basic string`): only the
/// first and the last are kept, and neither when the header is not there.
fn syntax_error(file: &str, parser_message: &str) -> String {
    let mut lines = parser_message.lines().filter(|l| !l.trim().is_empty());
    let position = lines
        .next()
        .and_then(|first| first.strip_prefix("TOML parse error at "));
    let reason = lines.next_back();
    match (position, reason) {
        (Some(position), Some(reason)) => {
            format!("CONFIG_FILE {file}: invalid TOML at {position}: {reason}")
        }
        _ => format!("CONFIG_FILE {file}: invalid TOML"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Settings {
        layered_test_value: Option<String>,
    }

    /// A file removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(text: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "layered-{}-{:?}.toml",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::write(&path, text).expect("write the config file");
            Self(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().expect("a UTF-8 temp path")
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_column_but_not_the_text() {
        // The column is where the parser gave up: the end of an unterminated string.
        for (text, line, column) in [
            ("db_host = \"db\"\ndb_pass = \"S3cr3t\n", 2, 18),
            ("database_url = \"postgres://app:S3cr3t@db/app\n", 1, 45),
            ("db_pass = S3cr3t\n", 1, 11),
        ] {
            let file = TempFile::new(text);
            let err = load_from::<Settings>(Some(file.path())).expect_err("a syntax error");
            assert!(!err.contains("S3cr3t"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            let position = format!("at line {line}, column {column}: ");
            assert!(
                err.starts_with(&format!("CONFIG_FILE {}: invalid TOML ", file.path()))
                    && err.contains(&position),
                "{err}"
            );
        }
    }

    #[test]
    fn without_the_header_nothing_of_the_parser_message_is_kept() {
        assert_eq!(
            syntax_error("f.toml", "something\nS3cr3t\n"),
            "CONFIG_FILE f.toml: invalid TOML"
        );
    }

    #[test]
    fn a_valid_file_loads() {
        let file = TempFile::new("layered_test_value = \"x\"\n");
        let settings = load_from::<Settings>(Some(file.path())).expect("valid");
        assert_eq!(settings.layered_test_value.as_deref(), Some("x"));
    }
}
