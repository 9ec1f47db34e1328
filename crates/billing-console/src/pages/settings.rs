//! The settings pages (being built).

use axum::Router;

use crate::Console;

/// The settings pages' routes.
pub(crate) fn routes() -> Router<Console> {
    Router::new()
}
