//! One trace per user action: loading the page, Retry, Add, or a refresh the event stream
//! asked for. Each request of the action sends a W3C `traceparent` under the action's trace
//! id with a span id of its own, so the static server's and the API's spans for it are one
//! trace, wherever they export to. The page exports no spans itself: the ids are made here
//! so the servers continue them, marked sampled (`01`). A ratio sampler (`traceidratio`, as
//! prod sets on both servers) decides by the trace id alone, so it keeps or drops the whole
//! action, not parts of it.

use js_sys::Math;

/// A user action's trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    trace_id: u128,
}

impl Action {
    pub fn start() -> Self {
        Self {
            trace_id: nonzero(|| u128::from(random_u64()) << 64 | u128::from(random_u64())),
        }
    }

    /// The header for one more request of this action.
    pub fn traceparent(self) -> String {
        let span_id = nonzero(random_u64);
        format!("00-{:032x}-{span_id:016x}-01", self.trace_id)
    }
}

/// 64 random bits from the browser's `Math.random` (32 per call, well inside its 52): trace
/// ids need to be unique, not secret, and this costs the wasm nothing.
fn random_u64() -> u64 {
    let half = || (Math::random() * 4_294_967_296.0) as u64;
    half() << 32 | half()
}

/// All-zero ids are invalid in W3C trace context.
fn nonzero<T: Default + PartialEq>(make: impl Fn() -> T) -> T {
    loop {
        let id = make();
        if id != T::default() {
            return id;
        }
    }
}
