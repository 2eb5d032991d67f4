//! The history through its ConfigMap and back, the live release, the previous one, and the
//! rollback check across breaking migrations.

use std::collections::BTreeMap;

use releases::{History, KEEP, NoTarget, Provenance, Record, check_rollback};

fn record(tag: &str, schema: i32, requires: i32, breaking: &[(i32, &str)]) -> Record {
    Record {
        tag: tag.to_owned(),
        images: ["api", "web"]
            .map(|c| (c.to_owned(), format!("ghcr.io/a/{c}:{tag}@sha256:{tag}")))
            .into(),
        schema,
        requires_schema: requires,
        breaking: breaking
            .iter()
            .map(|(v, m)| (*v, (*m).to_owned()))
            .collect(),
        deployed_at: format!("2026-12-0{}T10:00:00Z", schema.clamp(1, 9)),
        commit: format!("{tag:0<40}"),
        subject: format!("release {tag}"),
        deployed_by: "github:octocat".to_owned(),
        how: "deploy".to_owned(),
    }
}

fn images(tag: &str) -> BTreeMap<String, String> {
    record(tag, 0, 0, &[]).images
}

#[test]
fn the_history_survives_its_configmap_and_keeps_the_newest() {
    let mut history = History::default();
    for i in 0..KEEP + 5 {
        history.push(record(&format!("t{i}"), 3, 3, &[]));
    }
    assert_eq!(history.records.len(), KEEP);
    assert_eq!(history.records[0].tag, "t5");
    history.resource_version = Some("42".to_owned());
    let configmap = history.to_configmap("randoms").expect("serializes");
    assert_eq!(configmap["metadata"]["name"], "releases");
    assert_eq!(configmap["metadata"]["resourceVersion"], "42");
    let back = History::from_configmap(&configmap.to_string()).expect("reads back");
    assert_eq!(back, history);
    assert_eq!(
        History::from_configmap("").expect("no history"),
        History::default()
    );
    assert!(History::from_configmap(r#"{"data":{"releases.json":"[{]"}}"#).is_err());
}

#[test]
fn the_live_release_is_the_newest_running_what_the_deployments_run() {
    let mut history = History::default();
    for (tag, schema) in [("a", 3), ("b", 4), ("a", 4), ("c", 5)] {
        history.push(record(tag, schema, schema, &[]));
    }
    // c was deployed, then undone by hand to a's images: the second record of a is live.
    assert_eq!(history.live(&images("a")), Some(2));
    assert_eq!(history.live(&images("c")), Some(3));
    assert_eq!(history.live(&images("zzz")), None);
    assert_eq!(history.live(&BTreeMap::new()), None);
    // What a rollback goes back to: the newest before live with another tag.
    assert_eq!(history.previous(3).map(|r| r.tag.as_str()), Some("a"));
    assert_eq!(history.previous(2).map(|r| r.tag.as_str()), Some("b"));
    assert_eq!(history.previous(0), None);
    assert_eq!(history.find("a").map(|r| r.schema), Some(4));
    let table = history.table(Some(2));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].starts_with("  c "), "newest first:\n{table}");
    assert!(lines[2].starts_with("* a "), "live marked:\n{table}");
}

#[test]
fn a_rollback_across_a_breaking_migration_is_refused_naming_it() {
    let live = record("new", 5, 5, &[(4, "V4__drop_name: drops column name")]);
    let across = check_rollback(&record("old", 3, 3, &[]), &live).expect_err("crosses V4");
    let message = across.to_string();
    assert!(
        message.contains("V4__drop_name: drops column name"),
        "{message}"
    );
    assert!(message.contains("migrator down --target 3"), "{message}");
    assert!(check_rollback(&record("mid", 4, 4, &[]), &live).is_ok());
    let expanded = record("new", 5, 5, &[]);
    assert!(check_rollback(&record("old", 3, 3, &[]), &expanded).is_ok());
}

#[test]
fn a_deploy_on_a_schema_a_newer_release_left_records_that_schema_and_its_breaking_migrations() {
    let newer = record("new", 5, 5, &[(5, "V5__rename: renames name")]);
    let from = Provenance {
        commit: "c".repeat(40),
        ..Provenance::default()
    };
    let older = Record::deploy(
        "old",
        images("old"),
        (3, vec![]),
        Some(&newer),
        from.clone(),
    );
    assert_eq!((older.schema, older.requires_schema), (5, 3));
    assert_eq!(older.breaking, [(5, "V5__rename: renames name".to_owned())]);
    assert_eq!(older.how, "deploy");
    let first = Record::deploy(
        "first",
        images("first"),
        (3, vec![(2, "x".into())]),
        None,
        from,
    );
    assert_eq!((first.schema, first.breaking.len()), (3, 1));
}

#[test]
fn the_rollback_target_is_the_one_asked_for_or_the_one_before_the_live_one() {
    let mut history = History::default();
    for (tag, schema) in [("a", 3), ("b", 3), ("c", 3)] {
        history.push(record(tag, schema, schema, &[]));
    }
    let tags =
        |r: Result<(&Record, &Record), NoTarget>| r.map(|(l, t)| (l.tag.clone(), t.tag.clone()));
    assert_eq!(
        tags(history.rollback_target(&images("c"), None)),
        Ok(("c".into(), "b".into()))
    );
    assert_eq!(
        tags(history.rollback_target(&images("c"), Some("a"))),
        Ok(("c".into(), "a".into()))
    );
    assert_eq!(
        tags(history.rollback_target(&images("c"), Some("c"))),
        Err(NoTarget::Live("c".into()))
    );
    assert!(
        matches!(history.rollback_target(&images("c"), Some("z")), Err(NoTarget::Unknown { recorded, .. }) if recorded == "a, b, c")
    );
    assert_eq!(
        tags(history.rollback_target(&images("a"), None)),
        Err(NoTarget::NothingBefore)
    );
    assert!(matches!(
        history.rollback_target(&images("zz"), None),
        Err(NoTarget::LiveUnknown(_))
    ));
}
