//! Where the delivery time goes, by hand: the from-data steps' medians week by week and
//! the work in progress at the end of the window.

use flowmap_core::dora::{DEFAULT_ATTRIBUTION_WINDOW, parse_window_bound};
use flowmap_core::events::{Change, Deployment};
use flowmap_core::measure::{FromDataOptions, MeasureData, breakdown};
use jiff::Timestamp;

fn t(text: &str) -> Timestamp {
    parse_window_bound(text).unwrap()
}

/// | change | committed | pr | review | approved | merged | deployed |
/// | c1 | 03-02 08 | 09 | 12 | 13 | 14 | 17 (d1) |
/// | c2 | 03-10 08 | 10 | 11 | 15 | 16 | 20 (d2) |
/// | c3 | 03-11 08 | 09 | — | — | — | — |
fn data() -> (Vec<Change>, Vec<Deployment>) {
    let change = |id: &str, day: &str, hours: [Option<u8>; 5]| {
        let at = |h: Option<u8>| h.map(|h| t(&format!("2026-{day}T{h:02}:00:00Z")));
        let mut c = Change::new(id, "checkout", at(Some(8)).unwrap());
        c.pr_opened_at = at(hours[0]);
        c.first_review_at = at(hours[1]);
        c.approved_at = at(hours[2]);
        c.merged_at = at(hours[3]);
        c
    };
    let changes = vec![
        change("c1", "03-02", [Some(9), Some(12), Some(13), Some(14), None]),
        change(
            "c2",
            "03-10",
            [Some(10), Some(11), Some(15), Some(16), None],
        ),
        change("c3", "03-11", [Some(9), None, None, None, None]),
    ];
    let mut d1 = Deployment::new("d1", "checkout", t("2026-03-02T17:00:00Z"));
    d1.changes = vec!["c1".into()];
    let mut d2 = Deployment::new("d2", "checkout", t("2026-03-10T20:00:00Z"));
    d2.changes = vec!["c2".into()];
    (changes, vec![d1, d2])
}

fn options(since: &str, until: &str) -> FromDataOptions {
    FromDataOptions {
        service: "checkout".into(),
        environment: "production".into(),
        since: t(since),
        until: t(until),
        attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
    }
}

#[test]
fn weekly_medians_per_step_and_the_work_in_progress() {
    let (changes, deployments) = data();
    let data = MeasureData {
        changes: &changes,
        deployments: &deployments,
        ..MeasureData::default()
    };
    let b = breakdown(&data, &options("2026-03-02", "2026-03-16")).unwrap();
    // No first commits and no builds: code and build are left out, deploy starts at merge.
    let ids: Vec<&str> = b.steps.iter().map(|s| s.id).collect();
    assert_eq!(ids, ["pickup", "review", "merge", "deploy"]);
    assert_eq!(b.steps[3].segment, "merged..deployed");
    let weeks: Vec<(&str, bool, Vec<Option<f64>>)> = b
        .weeks
        .iter()
        .map(|w| (w.week.as_str(), w.complete, w.p50_hours.clone()))
        .collect();
    assert_eq!(
        weeks,
        [
            (
                "2026-W10",
                true,
                vec![Some(3.0), Some(1.0), Some(1.0), Some(3.0)]
            ),
            (
                "2026-W11",
                true,
                vec![Some(1.0), Some(4.0), Some(1.0), Some(4.0)]
            ),
        ]
    );
    // c3 waits for its first review since 03-11 09:00: 111 h at the window's end.
    let pickup = &b.steps[0].stats;
    assert_eq!((pickup.n, pickup.p50_hours, pickup.wip), (2, Some(2.0), 1));
    assert_eq!(pickup.wip_oldest[0].id, "c3");
    assert_eq!(pickup.wip_oldest[0].age_hours, 111.0);
    // Lead times 9 h and 12 h; c3 committed 112 h before the end and not deployed.
    assert_eq!((b.lead_time.n, b.lead_time.p50_hours), (2, Some(10.5)));
    assert_eq!(
        (b.lead_time.wip, b.lead_time.wip_oldest[0].age_hours),
        (1, 112.0)
    );

    // A window starting mid-week cuts the first week, and c1 (done on 03-02) leaves it.
    let cut = breakdown(&data, &options("2026-03-04", "2026-03-16")).unwrap();
    assert_eq!(cut.weeks.len(), 2);
    assert!(!cut.weeks[0].complete);
    assert_eq!(cut.weeks[0].since, t("2026-03-04"));
    assert_eq!(cut.weeks[0].p50_hours, [None, None, None, None]);
}
