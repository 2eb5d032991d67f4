//! The declaration of a variable, and the lists binaries build from them.

/// One variable a binary reads: the single place its name, default and meaning are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// As set in the environment, e.g. `API_PORT`; in `CONFIG_FILE`, in lower case.
    pub name: &'static str,
    /// The value when neither `CONFIG_FILE` nor the environment sets it, parsed like a set
    /// value; `None`: unset (optional, or required by whoever reads it).
    pub default: Option<&'static str>,
    /// One phrase of Markdown for the README's table.
    pub meaning: &'static str,
}

impl Variable {
    /// Its key in `CONFIG_FILE` and in the deserialized settings: the name in lower case.
    pub fn key(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// The names of `variables`, in order.
pub fn names(variables: &[Variable]) -> Vec<&'static str> {
    variables.iter().map(|v| v.name).collect()
}

/// One `&'static [Variable]` from several lists, in order, as a constant:
/// `pub const VARIABLES: &[Variable] = settings::variables![&[OWN], db::VARIABLES];`.
/// A name given twice fails the build:
///
/// ```compile_fail
/// const PORT: settings::Variable = settings::Variable { name: "PORT", default: None, meaning: "" };
/// const TWICE: &[settings::Variable] = settings::variables![&[PORT], &[PORT]];
/// ```
#[macro_export]
macro_rules! variables {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&[$crate::Variable]] = &[$($part),+];
        const ALL: [$crate::Variable; $crate::total(PARTS)] = $crate::concat(PARTS);
        &ALL
    }};
}

/// How many variables `parts` hold together (for [`variables!`]).
pub const fn total(parts: &[&[Variable]]) -> usize {
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        n += parts[p].len();
        p += 1;
    }
    n
}

/// `parts` in one array (for [`variables!`]); panics, at compile time there, on a name
/// given twice or an `N` that is not [`total`]`(parts)`.
pub const fn concat<const N: usize>(parts: &[&[Variable]]) -> [Variable; N] {
    const UNSET: Variable = Variable {
        name: "",
        default: None,
        meaning: "",
    };
    let mut out = [UNSET; N];
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            let next = parts[p][i];
            let mut seen = 0;
            while seen < n {
                if same(out[seen].name, next.name) {
                    panic!("a variable is declared twice in one list");
                }
                seen += 1;
            }
            out[n] = next;
            n += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(n == N, "the list's length is not the parts' total");
    out
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Variable = Variable {
        name: "A_VAR",
        default: Some("1"),
        meaning: "a",
    };
    const B: Variable = Variable {
        name: "B_VAR",
        default: None,
        meaning: "b",
    };
    const SHARED: &[Variable] = &[B, crate::CONFIG_FILE];
    const LIST: &[Variable] = crate::variables![&[A], SHARED];

    #[test]
    fn lists_join_in_order() {
        assert_eq!(names(LIST), ["A_VAR", "B_VAR", "CONFIG_FILE"]);
        assert_eq!(LIST[0], A);
        assert_eq!(A.key(), "a_var");
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn a_name_given_twice_is_refused() {
        // At run time here, so that the test can see it; in a `const`, the build fails.
        let _: [Variable; 2] = concat(&[&[A], &[A]]);
    }

    #[test]
    fn same_compares_whole_names() {
        assert!(same("DB_HOST", "DB_HOST"));
        assert!(!same("DB_HOST", "DB_HOS"));
        assert!(!same("DB_HOST", "DB_PORT"));
    }
}
