//! An OTLP/HTTP trace receiver: `POST /v1/traces` with a protobuf
//! `ExportTraceServiceRequest`, decoded for real (prost, OpenTelemetry's own messages) and
//! kept in memory as [`ReceivedSpan`]s. The tests point the servers at it; `cargo xtask dev`
//! can too, to show traces without a collector to install: [`Background`] runs one on a
//! runtime of its own (for a program without tokio) keeping only the latest spans,
//! [`Receiver::spans_after`] hands each arrival over once, [`waterfall`] prints a trace as
//! text, and the same server shows the traces as HTML pages (`GET /`, the recent traces;
//! `GET /traces/{trace_id}`, one trace's waterfall).
//!
//! - `decode`: the protobuf request flattened into [`ReceivedSpan`]s.
//! - `store`: what is kept (everything, or the latest N) and the count of arrivals.
//! - `receiver` / `server`: the [`Receiver`] and its accept loop and routes.
//! - `background`: [`Background`], a receiver on its own small runtime.
//! - `tree`: a trace's spans in depth-first order, safe against cycles and depth.
//! - [`waterfall`]: the text waterfall; `page`: the HTML pages.

mod background;
mod decode;
mod page;
mod receiver;
mod server;
mod span;
mod store;
mod tree;
pub mod waterfall;

pub use background::Background;
pub use receiver::Receiver;
pub use span::ReceivedSpan;
