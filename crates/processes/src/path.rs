use std::{ffi::OsStr, path::PathBuf};

/// Where `program` is on `PATH`, as the shell would find it.
pub fn find_program(program: impl AsRef<OsStr>) -> Option<PathBuf> {
    which::which(program).ok()
}

/// The path in environment variable `var` when it is set (a user's own build of a
/// tool), otherwise the first of `names` on `PATH`.
pub fn find_program_or_env(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => names.iter().find_map(find_program),
    }
}
