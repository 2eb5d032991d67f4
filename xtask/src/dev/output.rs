//! One place that prints: every line prefixed with its source (`api`, `web`, `db`,
//! `migrator`, `trace`, `dev`), coloured on a terminal, and kept clear of progress spinners.

use std::{
    io::{BufRead, BufReader, Read},
    time::Duration,
};

use console::{Style, Term};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Output {
    bars: MultiProgress,
    interactive: bool,
}

impl Output {
    pub fn new() -> Self {
        let interactive = Term::stdout().is_term();
        let target = if interactive {
            ProgressDrawTarget::stderr()
        } else {
            // CI and pipes get plain lines, no spinners.
            ProgressDrawTarget::hidden()
        };
        Self {
            bars: MultiProgress::with_draw_target(target),
            interactive,
        }
    }

    /// Prints `line` as coming from `source`.
    pub fn line(&self, source: &str, line: &str) {
        let prefix = format!("{source:>8} |");
        if self.interactive {
            let prefix = style_for(source).apply_to(prefix);
            let _ = self.bars.println(format!("{prefix} {line}"));
        } else {
            println!("{prefix} {line}");
        }
    }

    pub fn dev(&self, line: &str) {
        self.line("dev", line);
    }

    /// A spinner for a long step on a terminal; a plain line otherwise.
    pub fn step(&self, message: &str) -> Step {
        if !self.interactive {
            self.dev(&format!("{message}…"));
            return Step(None);
        }
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("     dev | {spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Step(Some(bar))
    }

    /// Streams a child's output, line by line, on a thread of its own.
    pub fn stream(&self, source: &'static str, from: impl Read + Send + 'static) {
        let out = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines().map_while(Result::ok) {
                out.line(source, &line);
            }
        });
    }
}

/// A running step; finishing (or dropping) it clears the spinner.
pub struct Step(Option<ProgressBar>);

impl Drop for Step {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn style_for(source: &str) -> Style {
    match source {
        "api" => Style::new().cyan(),
        "web" => Style::new().magenta(),
        "db" => Style::new().blue(),
        "migrator" => Style::new().yellow(),
        "build" => Style::new().red(),
        "trace" => Style::new().white().dim(),
        _ => Style::new().green().bold(),
    }
}
