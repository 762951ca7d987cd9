//! A report over every service, counted group by group ([`GroupedReport`]), against the
//! whole report.

use proptest::prelude::*;

use super::tests::{events, options, report};
use super::*;
use crate::events::{Change, Deployment, Incident};

proptest! {
    #[test]
    fn a_report_computed_group_by_group_equals_the_whole(
        (deployments, changes, incidents) in events(),
        both_envs in any::<bool>(),
        split in any::<u64>(),
    ) {
        let mut o = options(&[]);
        o.explain = false;
        if both_envs {
            o.environments.push("staging".into());
        }
        let whole = report(&deployments, &changes, &incidents, &o);
        // Each service goes to one of three groups; `split` decides which.
        let group_of = |service: &str| {
            service.bytes().fold(split, |h, b| h.rotate_left(7) ^ u64::from(b)) % 3
        };
        let mut grouped = GroupedReport::new(&o).expect("no services, no evidence");
        for group in 0..3 {
            let deployments: Vec<Deployment> =
                deployments.iter().filter(|d| group_of(&d.service) == group).cloned().collect();
            let changes: Vec<Change> =
                changes.iter().filter(|c| group_of(&c.service) == group).cloned().collect();
            let incidents: Vec<Incident> =
                incidents.iter().filter(|i| group_of(&i.service) == group).cloned().collect();
            grouped.add(&DoraInput {
                deployments: &deployments,
                changes: &changes,
                incidents: &incidents,
            });
        }
        prop_assert_eq!(grouped.finish(), whole);
    }
}

#[test]
fn only_a_report_over_every_service_without_evidence_is_grouped() {
    let mut o = options(&["shop"]);
    o.explain = false;
    assert!(matches!(
        GroupedReport::new(&o),
        Err(DoraError::NotGroupable)
    ));
    let mut o = options(&[]);
    o.explain = true;
    assert!(matches!(
        GroupedReport::new(&o),
        Err(DoraError::NotGroupable)
    ));
    o.explain = false;
    let empty = DoraInput {
        deployments: &[],
        changes: &[],
        incidents: &[],
    };
    let grouped = GroupedReport::new(&o).expect("no services, no evidence");
    let whole = compute(&empty, &o).expect("valid options");
    assert_eq!(grouped.finish(), whole);
}
