//! The README's configuration table, rendered from the declarations.

use crate::Variable;

/// The Markdown table of every variable of `binaries` (each a name and its list), header
/// included, each line ending in `\n`. A row per variable, in the order the lists first
/// name them, except that those every binary reads come last; `Used by` lists the binaries
/// whose list holds it, in the order given. A name's first declaration is the one shown
/// (a shared variable is one constant everywhere).
pub fn markdown_table(binaries: &[(&str, &[Variable])]) -> String {
    let mut rows: Vec<(Variable, Vec<&str>)> = Vec::new();
    for &(binary, variables) in binaries {
        for variable in variables {
            match rows.iter_mut().find(|(seen, _)| seen.name == variable.name) {
                Some((_, users)) => users.push(binary),
                None => rows.push((*variable, vec![binary])),
            }
        }
    }
    // Stable: each part keeps its order.
    rows.sort_by_key(|(_, users)| binaries.len() > 1 && users.len() == binaries.len());
    let mut table =
        String::from("| Variable | Default | Used by | Meaning |\n| --- | --- | --- | --- |\n");
    for (variable, users) in rows {
        let default = variable
            .default
            .map_or_else(|| "—".to_owned(), |d| format!("`{d}`"));
        table.push_str(&format!(
            "| `{}` | {default} | {} | {} |\n",
            variable.name,
            users.join(", "),
            variable.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn var(
        name: &'static str,
        default: Option<&'static str>,
        meaning: &'static str,
    ) -> Variable {
        Variable {
            name,
            default,
            meaning,
        }
    }

    const PORT: Variable = var("SRV_PORT", Some("3080"), "port to listen on");
    const DB: Variable = var(
        "DB_URL",
        None,
        "`postgres://…`; when set, the rest is ignored",
    );
    const WAIT: Variable = var("WAIT_SECS", Some("60"), "how long to wait");
    const LOG: Variable = var("LOG_FORMAT", Some("text"), "`text` or `json`");
    const ROOT: Variable = var("ROOT", Some("target/web/dist"), "the bundle");

    #[test]
    fn the_table_has_a_row_per_variable_with_who_reads_it() {
        let table = markdown_table(&[
            ("api", &[PORT, DB, LOG]),
            ("migrator", &[DB, WAIT, LOG]),
            ("web-server", &[LOG, ROOT]),
        ]);
        assert_eq!(
            table,
            "| Variable | Default | Used by | Meaning |\n\
             | --- | --- | --- | --- |\n\
             | `SRV_PORT` | `3080` | api | port to listen on |\n\
             | `DB_URL` | — | api, migrator | `postgres://…`; when set, the rest is ignored |\n\
             | `WAIT_SECS` | `60` | migrator | how long to wait |\n\
             | `ROOT` | `target/web/dist` | web-server | the bundle |\n\
             | `LOG_FORMAT` | `text` | api, migrator, web-server | `text` or `json` |\n"
        );
    }

    #[test]
    fn one_binary_keeps_its_order() {
        let table = markdown_table(&[("api", &[LOG, PORT])]);
        let names: Vec<&str> = table.lines().skip(2).map(|l| &l[..6]).collect();
        assert_eq!(names, ["| `LOG", "| `SRV"]);
    }

    #[test]
    fn no_binaries_no_rows() {
        assert_eq!(markdown_table(&[]).lines().count(), 2);
    }
}
