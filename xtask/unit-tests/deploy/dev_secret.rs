//! Unit tests of `xtask/src/deploy/dev_secret.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;

#[test]
fn creates_once_with_a_private_random_password_and_keeps_it() {
    use std::os::unix::fs::PermissionsExt;

    let dir = std::env::temp_dir().join(format!("xtask-dev-secret-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let created = ensure(&dir).unwrap().expect("created on first use");
    let first = fs::read_to_string(&created).unwrap();
    assert!(first.starts_with("username=randoms\npassword="), "{first}");
    let password = first
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("password=");
    assert_eq!(password.len(), 32);
    let mode = fs::metadata(&created).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(ensure(&dir).unwrap(), None, "never replaced");
    assert_eq!(fs::read_to_string(&created).unwrap(), first);
    fs::remove_dir_all(&dir).unwrap();
}
