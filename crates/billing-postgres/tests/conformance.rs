//! The core's storage conformance suite on PostgreSQL: every case on a fresh database of the
//! shared test cluster (or of `$DATABASE_URL`'s server).

use std::sync::Arc;

use async_trait::async_trait;
use billing_core::ports::Store;
use billing_core::testkit::StoreFixture;
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;

/// A fresh database, dropped with the fixture.
struct PostgresFixture {
    url: String,
    store: PostgresStore,
    // Declared last: the database is dropped after the pool.
    _server: TestPostgres,
}

async fn fixture() -> PostgresFixture {
    // Starting (or joining) the cluster and creating a database run external programs.
    let (server, url) = tokio::task::spawn_blocking(|| {
        let server = TestPostgres::start().expect("test postgres");
        let url = server.create_database("conformance").expect("database");
        (server, url)
    })
    .await
    .expect("setup task");
    let store = PostgresStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    PostgresFixture {
        url,
        store,
        _server: server,
    }
}

#[async_trait]
impl StoreFixture for PostgresFixture {
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn second_handle(&self) -> Arc<dyn Store> {
        // A second pool on the same database, as a second process would have.
        Arc::new(
            PostgresStore::connect(&self.url)
                .await
                .expect("second connection"),
        )
    }
}

billing_core::store_conformance!(fixture());
