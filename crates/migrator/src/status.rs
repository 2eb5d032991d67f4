//! `status`: every embedded and every applied migration, and where each stands.

use std::fmt;

use tokio_postgres::Client;

use crate::{Error, commands::same_migration, embedded, history};

/// Where one migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Applied,
    Pending,
    /// Applied, but from a different script than the embedded one of that version.
    Divergent,
    /// Applied, but this build does not embed it (applied by a newer migrator?).
    Unknown,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Divergent => "divergent",
            State::Unknown => "unknown",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub version: i32,
    pub name: String,
    pub state: State,
    /// As refinery recorded it (RFC 3339); `None` when pending.
    pub applied_on: Option<String>,
}

/// Every embedded migration and every applied one, ordered by version. Displays as a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub rows: Vec<StatusRow>,
}

impl Status {
    pub fn state_of(&self, version: i32) -> Option<State> {
        self.rows
            .iter()
            .find(|r| r.version == version)
            .map(|r| r.state)
    }
}

/// Reads the history; takes no lock, so it answers even while a migration runs.
pub async fn status(client: &Client) -> Result<Status, Error> {
    let applied = history::applied(client).await?;
    let mut rows: Vec<StatusRow> = embedded::migrations()
        .iter()
        .map(|m| {
            let done = applied.iter().find(|a| a.version == m.version());
            StatusRow {
                version: m.version(),
                name: m.name().to_owned(),
                state: match done {
                    None => State::Pending,
                    Some(a) if same_migration(a, m) => State::Applied,
                    Some(_) => State::Divergent,
                },
                applied_on: done.map(|a| a.applied_on.clone()),
            }
        })
        .collect();
    rows.extend(
        applied
            .iter()
            .filter(|a| embedded::find(a.version).is_none())
            .map(|a| StatusRow {
                version: a.version,
                name: a.name.clone(),
                state: State::Unknown,
                applied_on: Some(a.applied_on.clone()),
            }),
    );
    rows.sort_by_key(|r| r.version);
    Ok(Status { rows })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = ["version", "name", "state", "applied_on"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.version.to_string(),
                    r.name.clone(),
                    r.state.to_string(),
                    r.applied_on.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let header = header.map(str::to_owned);
        for row in std::iter::once(&header).chain(&cells) {
            let [version, name, state, applied_on] = row;
            writeln!(
                f,
                "{version:>w0$}  {name:<w1$}  {state:<w2$}  {applied_on}",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_renders_an_aligned_table() {
        let status = Status {
            rows: vec![
                StatusRow {
                    version: 1,
                    name: "create_randoms".into(),
                    state: State::Applied,
                    applied_on: Some("2024-05-01T10:00:00Z".into()),
                },
                StatusRow {
                    version: 2,
                    name: "seed_randoms".into(),
                    state: State::Pending,
                    applied_on: None,
                },
            ],
        };
        assert_eq!(
            status.to_string(),
            "version  name            state    applied_on\n\
             \x20     1  create_randoms  applied  2024-05-01T10:00:00Z\n\
             \x20     2  seed_randoms    pending  -\n"
        );
        assert_eq!(status.state_of(2), Some(State::Pending));
        assert_eq!(status.state_of(3), None);
    }
}
