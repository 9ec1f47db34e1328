//! The reports pages (being built).

use axum::Router;

use crate::Console;

/// The reports pages' routes.
pub(crate) fn routes() -> Router<Console> {
    Router::new()
}
