//! `embed_migrations!` only tracks the files it embedded; without this a migration added
//! to the directory would not be picked up until something else triggered a rebuild.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
}
