//! careweave's web service: server-rendered pages in the NHS.UK design system, a small JSON surface,
//! sessions and CSRF protection, on axum.
//!
//! [`Application::build`] wires everything from [`Settings`] and binds its own listener (port 0 in
//! tests), so tests and the CLI start the service the same way. Pages live in [`pages`], each a
//! handler that asks the store (which applies the access policy and audits) and renders an askama
//! template. Cross-cutting pieces: [`session`] (who is signed in), [`csrf`] (every unsafe request
//! carries a token), [`error`] (what a person sees when something fails), [`forms`] (error
//! summaries that keep what was typed) and [`multipart`] (forms that carry a file).

pub mod api;
mod assets;
pub mod client;
pub mod csrf;
pub mod email;
pub mod error;
pub mod forms;
pub mod limits;
pub mod metrics;
mod mfa;
mod multipart;
mod oidc;
pub mod outbox;
pub mod pages;
mod rate_limit;
pub mod reporting;
pub mod session;
pub mod settings;
mod startup;

pub use settings::Settings;
pub use startup::{AppState, Application};
