//! Runs the store conformance suite against every engine in this build.
//! The embedded engine always runs; Redis and PostgreSQL engines join when they exist
//! (their tests will read `STILE_TEST_REDIS_URL` / `STILE_TEST_POSTGRES_URL`).

use std::sync::Arc;

use stile::store::cached::CachedConfig;
use stile::store::embedded::EmbeddedStore;
use stile::store::{Stores, conformance};

#[tokio::test]
async fn embedded_engine_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), false).unwrap();
    conformance::run(&Stores {
        config: Arc::new(store.clone()),
        hot: Arc::new(store),
    })
    .await;
}

#[tokio::test]
async fn embedded_engine_conforms_with_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), true).unwrap();
    conformance::run(&Stores {
        config: Arc::new(store.clone()),
        hot: Arc::new(store),
    })
    .await;
}

/// The read-through cache every node puts in front of its config store must not change
/// what the store is seen to do: reads after writes through it are current.
#[tokio::test]
async fn the_config_cache_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), false).unwrap();
    conformance::run(&Stores {
        config: Arc::new(CachedConfig::new(Arc::new(store.clone()))),
        hot: Arc::new(store),
    })
    .await;
}
