//! The layers, lowest first: the declared defaults, an optional TOML file named by
//! `CONFIG_FILE`, the environment. Only the declared variables are read from the
//! environment, so the declaration is the list of what a binary reads.

use std::{env::VarError, fmt::Display};

use config::{Config, ConfigError, File, FileFormat};
use serde::de::DeserializeOwned;

use crate::{CONFIG_FILE, Variable};

/// A setting that cannot be used: one line that starts with the variable to fix, and never
/// quotes a value from `CONFIG_FILE` (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl Error {
    /// `VARIABLE: reason`, for the checks that need more than a type.
    pub fn invalid(variable: &str, reason: impl Display) -> Self {
        Self(format!("{variable}: {reason}"))
    }
}

/// Loads `T` from `variables` as the process's environment and `CONFIG_FILE` set them
/// (the file only when `CONFIG_FILE` is among `variables`). Keys are the names in lower case
/// (`api_port`); values stay strings until `T` asks for a number, so `"3080"` is a port
/// and `"08"` is not hex.
pub fn load<T: DeserializeOwned>(variables: &[Variable]) -> Result<T, Error> {
    load_with(variables, |name| match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(VarError::NotPresent) => Ok(None),
        Err(VarError::NotUnicode(_)) => Err(Error::invalid(name, "not valid UTF-8")),
    })
}

/// [`load`] with `env` in place of the process's environment: `&[]` gives what the declared
/// defaults alone produce.
pub fn load_from<T: DeserializeOwned>(
    variables: &[Variable],
    env: &[(&str, &str)],
) -> Result<T, Error> {
    load_with(variables, |name| {
        Ok(env
            .iter()
            .find(|(set, _)| *set == name)
            .map(|(_, value)| (*value).to_owned()))
    })
}

fn load_with<T: DeserializeOwned>(
    variables: &[Variable],
    env: impl Fn(&str) -> Result<Option<String>, Error>,
) -> Result<T, Error> {
    let config_file = if variables.contains(&CONFIG_FILE) {
        env(CONFIG_FILE.name)?
    } else {
        None
    };
    let file = config_file.as_deref();
    let mut builder = Config::builder();
    for variable in variables {
        if let Some(default) = variable.default {
            builder = builder
                .set_default(variable.key(), default)
                .map_err(|e| describe(e, file))?;
        }
    }
    if let Some(path) = file {
        builder = builder.add_source(File::new(path, FileFormat::Toml).required(true));
    }
    for variable in variables {
        if let Some(value) = env(variable.name)? {
            builder = builder
                .set_override(variable.key(), value)
                .map_err(|e| describe(e, file))?;
        }
    }
    builder
        .build()
        .and_then(Config::try_deserialize)
        .map_err(|e| describe(e, file))
}

/// One line naming the culprit, in the spelling the user set it (`API_PORT`, not `api_port`).
fn describe(err: ConfigError, config_file: Option<&str>) -> Error {
    Error(match err {
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
    })
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

    const VALUE: Variable = Variable {
        name: "LAYERED_TEST_VALUE",
        default: Some("default"),
        meaning: "",
    };
    const NUMBER: Variable = Variable {
        name: "LAYERED_TEST_NUMBER",
        default: None,
        meaning: "",
    };
    const VARIABLES: &[Variable] = &[VALUE, NUMBER, CONFIG_FILE];

    #[derive(Debug, serde::Deserialize)]
    struct Settings {
        layered_test_value: String,
        layered_test_number: Option<u16>,
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

    fn with_file(text: &str) -> (TempFile, Result<Settings, Error>) {
        let file = TempFile::new(text);
        let loaded = load_from(VARIABLES, &[("CONFIG_FILE", file.path())]);
        (file, loaded)
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_column_but_not_the_text() {
        // The column is where the parser gave up: the end of an unterminated string.
        for (text, line, column) in [
            ("db_host = \"db\"\ndb_pass = \"S3cr3t\n", 2, 18),
            ("database_url = \"postgres://app:S3cr3t@db/app\n", 1, 45),
            ("db_pass = S3cr3t\n", 1, 11),
        ] {
            let (file, loaded) = with_file(text);
            let err = loaded.expect_err("a syntax error").to_string();
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
        let (_file, loaded) = with_file("layered_test_value = \"x\"\n");
        assert_eq!(loaded.expect("valid").layered_test_value, "x");
    }

    #[test]
    fn defaults_then_the_file_then_the_environment() {
        let settings: Settings = load_from(VARIABLES, &[]).expect("the defaults");
        assert_eq!(settings.layered_test_value, "default");
        assert_eq!(settings.layered_test_number, None);

        let file = TempFile::new("layered_test_value = \"file\"\nlayered_test_number = \"7\"\n");
        let env = [("CONFIG_FILE", file.path()), ("LAYERED_TEST_NUMBER", "8")];
        let settings: Settings = load_from(VARIABLES, &env).expect("valid");
        assert_eq!(settings.layered_test_value, "file");
        assert_eq!(settings.layered_test_number, Some(8));
    }

    #[test]
    fn only_declared_variables_are_read() {
        let env = [("LAYERED_TEST_VALUE", "set"), ("LAYERED_TEST_NUMBER", "8")];
        let settings: Settings = load_from(&[VALUE], &env).expect("valid");
        assert_eq!(settings.layered_test_value, "set");
        assert_eq!(settings.layered_test_number, None, "not declared");
        // Nor is CONFIG_FILE, unless declared.
        let settings: Settings =
            load_from(&[VALUE], &[("CONFIG_FILE", "/nonexistent.toml")]).expect("not read");
        assert_eq!(settings.layered_test_value, "default");
    }

    #[test]
    fn a_bad_value_is_one_line_leading_with_the_variable() {
        let err = load_from::<Settings>(VARIABLES, &[("LAYERED_TEST_NUMBER", "70000")])
            .expect_err("not a u16")
            .to_string();
        assert!(err.starts_with("LAYERED_TEST_NUMBER: "), "{err}");
        assert!(err.contains("70000") && !err.contains('\n'), "{err}");
        assert_eq!(
            Error::invalid("LAYERED_TEST_VALUE", "must not be empty").to_string(),
            "LAYERED_TEST_VALUE: must not be empty"
        );
    }
}
