//! Live updates: the API's event stream (`GET /randoms/events`) says when the latest items
//! changed, whoever changed them, and the page refetches them. Events sent while the stream
//! is down are lost, so every (re)connect refetches too. A failed stream is retried with
//! backoff, 1 s doubling to 30 s; until then the page works as it would without one.

use std::{cell::RefCell, rc::Rc, time::Duration};

use leptos::prelude::set_timeout;
use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::EventSource;

const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Follows the stream at `url` for the life of the page, calling `refresh` whenever the
/// items may have changed.
pub fn follow(url: String, refresh: impl Fn() + 'static) {
    let follower = Rc::new(Follower {
        url,
        refresh: Box::new(refresh),
        retry: RefCell::new(RETRY_MIN),
        stream: RefCell::new(None),
    });
    follower.connect();
}

struct Follower {
    url: String,
    refresh: Box<dyn Fn()>,
    retry: RefCell<Duration>,
    /// The open stream with its handlers; replaced (never dropped from inside one of them).
    stream: RefCell<Option<Stream>>,
}

struct Stream {
    source: EventSource,
    _handlers: [Closure<dyn FnMut()>; 3],
}

impl Follower {
    fn connect(self: &Rc<Self>) {
        let Ok(source) = EventSource::new(&self.url) else {
            self.retry_later();
            return;
        };
        let handler = |f: fn(&Rc<Self>)| {
            let follower = Rc::clone(self);
            Closure::<dyn FnMut()>::new(move || f(&follower))
        };
        let opened = handler(|f| {
            *f.retry.borrow_mut() = RETRY_MIN;
            (f.refresh)();
        });
        let changed = handler(|f| (f.refresh)());
        // The browser would reconnect by itself, but gives up on a 503: we decide instead.
        let failed = handler(|f| {
            if let Some(stream) = &*f.stream.borrow() {
                stream.source.close();
            }
            f.retry_later();
        });
        source.set_onopen(Some(opened.as_ref().unchecked_ref()));
        source.set_onerror(Some(failed.as_ref().unchecked_ref()));
        // An unnamed event would be `onmessage`; ours are `event: changed`.
        let _ =
            source.add_event_listener_with_callback("changed", changed.as_ref().unchecked_ref());
        let stream = Stream {
            source,
            _handlers: [opened, changed, failed],
        };
        // The stream replaced was closed by its own error handler; dropping it here, from a
        // timer, is outside every one of its handlers.
        self.stream.replace(Some(stream));
    }

    fn retry_later(self: &Rc<Self>) {
        let wait = *self.retry.borrow();
        *self.retry.borrow_mut() = (wait * 2).min(RETRY_MAX);
        let follower = Rc::clone(self);
        set_timeout(move || follower.connect(), wait);
    }
}
