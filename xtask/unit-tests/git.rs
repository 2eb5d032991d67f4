//! Unit tests of `xtask/src/git.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::changes_hash;

#[test]
fn the_same_changes_give_the_same_suffix_and_others_another() {
    let file = |p: &str, c: &str| (p.to_owned(), c.as_bytes().to_vec());
    let a = changes_hash(b"diff", &[file("new.rs", "fn a() {}")]);
    assert_eq!(a.len(), 8);
    assert_eq!(a, changes_hash(b"diff", &[file("new.rs", "fn a() {}")]));
    assert_ne!(a, changes_hash(b"diff", &[file("new.rs", "fn b() {}")]));
    assert_ne!(a, changes_hash(b"diff2", &[file("new.rs", "fn a() {}")]));
    assert_ne!(
        changes_hash(b"", &[file("ab", "c")]),
        changes_hash(b"", &[file("a", "bc")])
    );
}
