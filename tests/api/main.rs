//! Black-box tests of the HTTP APIs: each starts the real application on a random port with
//! its own data directory and talks to it over HTTP.

mod admin;
mod adversarial;
mod bad_input;
mod capacity;
mod cycle;
mod defence;
mod external;
mod helpers;
mod images;
mod lifecycle;
mod server_verify;
#[path = "../common/vision.rs"]
mod vision;
