//! The core's storage conformance suite on SQLite: every case on a fresh temporary database
//! file, and the in-memory cases again on `sqlite::memory:`.

use std::sync::Arc;

use async_trait::async_trait;
use billing_core::ports::Store;
use billing_core::testkit::StoreFixture;
use billing_sqlite::SqliteStore;

/// A fresh database file in a temporary directory (deleted with the fixture).
struct SqliteFixture {
    url: String,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> SqliteFixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    SqliteFixture {
        url,
        store: Arc::new(store),
        _dir: dir,
    }
}

#[async_trait]
impl StoreFixture for SqliteFixture {
    async fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn second_handle(&self) -> Arc<dyn Store> {
        // Another store on the same file, with its own writer and read pool, as a second
        // process would have.
        Arc::new(
            SqliteStore::connect(&self.url)
                .await
                .expect("second connection"),
        )
    }
}

billing_core::store_conformance!(fixture());

/// The suite on an in-memory database, whose reads go through the writer's connection.
mod in_memory {
    use super::*;

    struct MemoryFixture(Arc<SqliteStore>);

    async fn fixture() -> MemoryFixture {
        let store = SqliteStore::connect("sqlite::memory:")
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        MemoryFixture(Arc::new(store))
    }

    #[async_trait]
    impl StoreFixture for MemoryFixture {
        async fn store(&self) -> Arc<dyn Store> {
            self.0.clone()
        }

        async fn second_handle(&self) -> Arc<dyn Store> {
            // An in-memory database cannot be opened again: the same store.
            self.0.clone()
        }
    }

    billing_core::store_conformance!(fixture());
}
