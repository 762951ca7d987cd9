//! Runs store tests on both backends, over `flowmap_store::testing::TestDb`.

/// Runs each listed `async fn(Store)` once against SQLite and once against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = flowmap_store::testing::TestDb::sqlite();
                    let store = flowmap_store::Store::open(&db.location()).await.expect("open");
                    super::$test(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(db) = flowmap_store::testing::TestDb::postgres().await else { return };
                    let store = flowmap_store::Store::open(&db.location()).await.expect("open");
                    super::$test(store.clone()).await;
                    store.close().await;
                }
            )*
        }
    };
}
