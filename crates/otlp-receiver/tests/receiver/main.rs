//! The receiver over real HTTP on loopback: export in, pages out, retention, the background
//! owner; and the text waterfall on spans built here.

mod background;
mod export;
mod pages;
mod retention;
mod support;
mod waterfall;
