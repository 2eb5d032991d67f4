//! The page: the latest ten as `id : name`, newest first, and a button that adds one. The
//! list follows the API's event stream, so items added by anyone appear without a reload.

use domain::Limit;
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::{self, Config, Item},
    live,
    trace::Action,
};

/// What the list area shows.
#[derive(Debug, Clone, PartialEq)]
enum Load {
    Loading,
    Ready,
    Failed(String),
}

#[component]
pub fn App() -> impl IntoView {
    let config = RwSignal::new(None::<Config>);
    let items = RwSignal::new(Vec::<Item>::new());
    let load = RwSignal::new(Load::Loading);
    // A POST in flight: the button is disabled, so one click makes one row.
    let adding = RwSignal::new(false);

    // Refetches, as part of `action`: when the event stream says so (an action of its own),
    // or after an Add (part of it). Only the latest refresh started may set the list
    // (answers can overtake each other); a failed one leaves the page as it is.
    let refreshes = StoredValue::new(0_u64);
    let refresh = move |action: Action| {
        let Some(cfg) = config.get_untracked() else {
            return;
        };
        let this = refreshes.with_value(|n| n + 1);
        refreshes.set_value(this);
        spawn_local(async move {
            let latest = api::latest(&cfg, action).await;
            if let (Ok(latest), true) = (latest, refreshes.get_value() == this) {
                items.set(latest);
                load.set(Load::Ready);
            }
        });
    };

    let reload = move || {
        load.set(Load::Loading);
        let action = Action::start();
        spawn_local(async move {
            let result = async {
                let cfg = match config.get_untracked() {
                    Some(cfg) => cfg,
                    None => {
                        let cfg = api::config(action).await?;
                        config.set(Some(cfg.clone()));
                        live::follow(api::url(&cfg, "/randoms/events"), move || {
                            refresh(Action::start())
                        });
                        cfg
                    }
                };
                api::latest(&cfg, action).await
            }
            .await;
            match result {
                Ok(latest) => {
                    items.set(latest);
                    load.set(Load::Ready);
                }
                Err(message) => load.set(Load::Failed(message)),
            }
        });
    };
    reload();

    let add = move |_| {
        let Some(cfg) = config.get_untracked() else {
            return;
        };
        adding.set(true);
        // The insert and the refresh after it: one trace.
        let action = Action::start();
        spawn_local(async move {
            match api::add(&cfg, action).await {
                Ok(created) => {
                    items.update(|list| place(list, created));
                    load.set(Load::Ready);
                    // A refresh started before the insert committed may still answer,
                    // without the new row: a later one, started now, supersedes it.
                    refresh(action);
                }
                Err(message) => load.set(Load::Failed(message)),
            }
            adding.set(false);
        });
    };

    view! {
        <main>
            <h1>"The last 10 random UUIDs"</h1>
            <button
                id="add"
                type="button"
                on:click=add
                disabled=move || adding.get() || config.with(Option::is_none)
            >
                {move || if adding.get() { "Adding…" } else { "Add new UUID" }}
            </button>
            // Options rather than one type-erased view per state: less code in the wasm.
            {move || (load.get() == Load::Loading).then(|| view! {
                <p class="status" role="status">"Loading…"</p>
            })}
            {move || match load.get() {
                Load::Failed(message) => Some(view! {
                    <div class="error" role="alert">
                        <p>{message}</p>
                        <button id="retry" type="button" on:click=move |_| reload()>"Retry"</button>
                    </div>
                }),
                _ => None,
            }}
            // Announced to screen readers as items arrive, from this tab or anyone's.
            <ol id="randoms" aria-live="polite" aria-label="Latest random UUIDs">
                <For each=move || items.get() key=|r| r.id children=|r: Item| view! {
                    <li><code>{r.id}" : "{r.name}</code></li>
                } />
            </ol>
        </main>
    }
}

/// Puts a new item in its place in the list, newest (highest id) first, once: the refresh
/// its own change event asked for may have brought it already, and a repeated key would
/// make `<For>` show one row less.
fn place(list: &mut Vec<Item>, item: Item) {
    if let Err(at) = list.binary_search_by(|shown| item.id.cmp(&shown.id)) {
        list.insert(at, item);
        list.truncate(usize::from(Limit::DEFAULT.get()));
    }
}
