//! The README's configuration table is the programs' own declarations, rendered: a variable
//! added, renamed or given a new default in code cannot leave the documentation behind.

use std::path::Path;

#[test]
fn the_readme_table_is_rendered_from_the_declarations() {
    // The order sets the rows' order and the "Used by" column's.
    let table = settings::markdown_table(&[
        ("api", api::configuration::VARIABLES),
        ("migrator", migrator::VARIABLES),
        ("web-server", web_server::config::VARIABLES),
    ]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    assert!(
        readme.contains(&table),
        "README.md's configuration table differs from the declarations; paste this in:\n\n{table}"
    );
}
