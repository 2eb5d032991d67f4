//! Entry point: mount the app on `<body>`.

mod api;
mod app;
mod live;
mod trace;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
