//! Times [`Store::load`] of one service's year, as the metrics engine would ask for it
//! (used by `scripts/bench-import.sh`).
//!
//! ```text
//! cargo run --release -p flowmap-store --example load_service_year -- DB SERVICE YEAR
//! ```

use std::time::Instant;

use flowmap_store::{LoadQuery, Store, TimeRange};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, service, year] = args.as_slice() else {
        return Err("usage: load_service_year DB SERVICE YEAR".into());
    };
    let year: i16 = year.parse()?;
    let from: jiff::Timestamp = format!("{year}-01-01T00:00:00Z").parse()?;
    let to: jiff::Timestamp = format!("{}-01-01T00:00:00Z", year + 1).parse()?;
    let window = TimeRange {
        from: Some(from),
        to: Some(to),
    };
    let store = Store::open(db).await?;
    let query = LoadQuery {
        services: vec![service.clone()],
        environments: vec!["production".into()],
        deployments: window,
        changes: window,
        incidents: window,
        ..LoadQuery::default()
    };
    let started = Instant::now();
    let data = store.load(&query).await?;
    let elapsed = started.elapsed();
    println!(
        "loaded {} deployments, {} changes, {} incidents in {:.3} s",
        data.deployments.len(),
        data.changes.len(),
        data.incidents.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
