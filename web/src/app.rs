//! The page: the latest ten as `id : name`, newest first, and a button that adds one.

use domain::{Limit, Random};
use leptos::{prelude::*, task::spawn_local};

use crate::api::{self, Config};

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
    let items = RwSignal::new(Vec::<Random>::new());
    let load = RwSignal::new(Load::Loading);
    // A POST in flight: the button is disabled, so one click makes one row.
    let adding = RwSignal::new(false);

    let reload = move || {
        load.set(Load::Loading);
        spawn_local(async move {
            let result = async {
                let cfg = match config.get_untracked() {
                    Some(cfg) => cfg,
                    None => {
                        let cfg = api::config().await?;
                        config.set(Some(cfg.clone()));
                        cfg
                    }
                };
                api::latest(&cfg).await
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
        spawn_local(async move {
            match api::add(&cfg).await {
                Ok(created) => {
                    items.update(|list| {
                        list.insert(0, created);
                        list.truncate(usize::from(Limit::DEFAULT.get()));
                    });
                    load.set(Load::Ready);
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
            {move || match load.get() {
                Load::Loading => view! { <p class="status" role="status">"Loading…"</p> }.into_any(),
                Load::Failed(message) => view! {
                    <div class="error" role="alert">
                        <p>{message}</p>
                        <button id="retry" type="button" on:click=move |_| reload()>"Retry"</button>
                    </div>
                }
                .into_any(),
                Load::Ready => ().into_any(),
            }}
            <ol id="randoms">
                <For each=move || items.get() key=|r| r.id children=|r: Random| view! {
                    <li><code>{r.id}" : "{r.name.to_string()}</code></li>
                } />
            </ol>
        </main>
    }
}
