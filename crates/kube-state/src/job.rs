//! A Job's state, from its conditions, then its counts.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Absent,
    Running {
        active: u64,
        failed: u64,
    },
    Complete,
    /// `reason: message` of the Failed condition.
    Failed(String),
}

impl JobState {
    /// The state of `job`, a Job object (`kubectl get job NAME -o json`).
    pub fn of(job: &Value) -> Self {
        let conditions = job
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let holds = |kind: &str| {
            conditions.iter().find(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        };
        if holds("Complete").is_some() {
            return JobState::Complete;
        }
        if let Some(failed) = holds("Failed") {
            let reason = ["reason", "message"]
                .iter()
                .filter_map(|k| failed.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(": ");
            return JobState::Failed(reason);
        }
        let count = |field: &str| {
            job.pointer(&format!("/status/{field}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        JobState::Running {
            active: count("active"),
            failed: count("failed"),
        }
    }
}
