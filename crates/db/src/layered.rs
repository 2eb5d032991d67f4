//! 12-factor configuration: built-in defaults, then an optional TOML file named by
//! `CONFIG_FILE`, then the environment. Every binary reads its settings through here.

use config::{Config, ConfigError, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// Loads `T` from the layered sources. Keys are the variable names in lower case
/// (`api_port`); values stay strings until `T` asks for a number, so `"3080"` is a port
/// and `"08"` is not hex.
pub fn load<T: DeserializeOwned>() -> Result<T, String> {
    let mut builder = Config::builder();
    if let Ok(path) = std::env::var("CONFIG_FILE") {
        builder = builder.add_source(File::new(&path, FileFormat::Toml).required(true));
    }
    builder
        .add_source(Environment::default())
        .build()
        .and_then(Config::try_deserialize)
        .map_err(describe)
}

/// One line naming the culprit, in the spelling the user set it (`API_PORT`, not `api_port`).
fn describe(err: ConfigError) -> String {
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
