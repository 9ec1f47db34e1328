//! The core's storage conformance suite on SQLite: every case on a fresh temporary database file.

use async_trait::async_trait;
use billing_core::testkit::StoreFixture;
use billing_sqlite::SqliteStore;

/// A fresh database file in a temporary directory (deleted with the fixture).
struct SqliteFixture {
    url: String,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

async fn fixture() -> SqliteFixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    SqliteFixture {
        url,
        store,
        _dir: dir,
    }
}

#[async_trait]
impl StoreFixture for SqliteFixture {
    type Store = SqliteStore;

    async fn store(&self) -> SqliteStore {
        self.store.clone()
    }

    async fn second_handle(&self) -> SqliteStore {
        // A second pool on the same file, as a second process would have.
        SqliteStore::connect(&self.url)
            .await
            .expect("second connection")
    }
}

billing_core::store_conformance!(fixture());
