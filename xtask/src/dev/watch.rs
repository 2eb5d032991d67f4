//! Which part of the stack a changed file belongs to.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::mpsc::{Receiver, channel},
    time::{Duration, Instant},
};

use anyhow::Context;
use notify::{
    Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _, event::ModifyKind,
};

/// How long a burst of writes is collected into one rebuild.
const SETTLE: Duration = Duration::from_millis(200);

/// What must be redone after a change, in the order it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A migration or the migrator: rebuild it and migrate (before the API restarts).
    Migrations,
    /// The API or what it depends on: rebuild and restart it.
    Api,
    /// The SPA (or the types it shares): rebuild the bundle, restart the static server,
    /// and the open page reloads.
    Web,
    /// The static server: rebuild and restart it (the open page reloads).
    Server,
    /// The stylesheet alone: published as it is, and the open page swaps it in place.
    Style,
}

/// The directories whose changes matter, relative to the workspace root.
const WATCHED: &[&str] = &[
    "crates/api",
    "crates/db",
    "crates/domain",
    "crates/migrator",
    "crates/settings",
    "crates/telemetry",
    "crates/web-server",
    "web",
];

pub struct Watcher {
    _watcher: RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
    root: PathBuf,
}

impl Watcher {
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
        for dir in WATCHED {
            watcher
                .watch(&root.join(dir), RecursiveMode::Recursive)
                .with_context(|| format!("watching {dir}"))?;
        }
        Ok(Self {
            _watcher: watcher,
            events,
            root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
        })
    }

    /// The changes seen within `timeout`, or none. Editors save in bursts (temp file,
    /// rename, chmod), so after the first write the burst is collected for a moment and
    /// yields one rebuild.
    pub fn next(&self, timeout: Duration) -> BTreeSet<Change> {
        let mut changes = BTreeSet::new();
        let Ok(first) = self.events.recv_timeout(timeout) else {
            return changes;
        };
        self.add(first, &mut changes);
        if !changes.is_empty() {
            let until = Instant::now() + SETTLE;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match self.events.recv_timeout(left) {
                    Ok(event) => self.add(event, &mut changes),
                    Err(_) => break,
                }
            }
        }
        changes
    }

    fn add(&self, event: notify::Result<Event>, changes: &mut BTreeSet<Change>) {
        let Ok(event) = event else { return };
        // Only writes: builds *read* every source, and reads must not trigger builds.
        let writes = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Remove(_)
                | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
        );
        if writes {
            changes.extend(
                event
                    .paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(&self.root).ok())
                    .flat_map(classify),
            );
        }
    }
}

/// The changes a file implies; nothing for editor droppings and build output.
pub fn classify(path: &Path) -> Vec<Change> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let noise =
        name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name == "4913";
    if noise || path.components().any(|c| c.as_os_str() == "target") {
        return Vec::new();
    }
    let under = |dir: &str| path.starts_with(dir);
    if under("crates/settings") || under("crates/telemetry") {
        // Every binary's configuration and logging.
        vec![Change::Migrations, Change::Api, Change::Server]
    } else if under("crates/migrator") {
        // The API checks the schema version the migrator embeds.
        vec![Change::Migrations, Change::Api]
    } else if under("crates/domain") {
        vec![Change::Api, Change::Web]
    } else if under("crates/api") || under("crates/db") {
        vec![Change::Api]
    } else if under("crates/web-server") {
        vec![Change::Server]
    } else if path == Path::new("web/style.css") {
        vec![Change::Style]
    } else if under("web") {
        vec![Change::Web]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
#[path = "../../unit-tests/dev/watch.rs"]
mod tests;
