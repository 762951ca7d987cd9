//! The colours every picture shares.
//!
//! Team colours are dark enough to carry white text and distinct from the bottleneck red
//! and from each other; the same team gets the same colour on every page because it is
//! chosen by the team's position in the map's `teams` list.

pub(crate) const INK: &str = "#1f2937";
pub(crate) const MUTED: &str = "#64748b";
pub(crate) const RED: &str = "#dc2626";
pub(crate) const RED_DARK: &str = "#991b1b";
pub(crate) const REWORK: &str = "#7c3aed";

/// Header colour and body tint of each team, in the order teams are listed.
const TEAMS: [(&str, &str); 8] = [
    ("#1d4ed8", "#eff4ff"),
    ("#047857", "#ecfdf5"),
    ("#b45309", "#fff7ed"),
    ("#0e7490", "#ecfeff"),
    ("#a21caf", "#fdf4ff"),
    ("#4d7c0f", "#f7fee7"),
    ("#475569", "#f1f5f9"),
    ("#78350f", "#fefbf3"),
];

/// For steps without a team.
const NO_TEAM: (&str, &str) = ("#334155", "#f8fafc");

/// The (header, tint) colours of the team at `index` in the map's team list; more teams
/// than colours reuse them in order.
pub(crate) fn team(index: Option<usize>) -> (&'static str, &'static str) {
    index.map_or(NO_TEAM, |i| TEAMS[i % TEAMS.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_cycle_and_no_team_differs() {
        assert_eq!(team(Some(0)), team(Some(8)));
        assert_ne!(team(Some(0)), team(Some(1)));
        assert!(TEAMS.iter().all(|&c| c != team(None)));
    }
}
