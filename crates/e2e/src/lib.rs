//! Support for the end-to-end tests in `tests/`: a headless Chromium driven over WebDriver.

pub mod browser;
