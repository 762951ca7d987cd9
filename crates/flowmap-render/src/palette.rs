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

/// Header colours and body tints teams are drawn in.
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

/// The (header, tint) colours of the team with id `id`.
///
/// The colour follows from the id alone (a stable FNV-1a hash of it), not from the
/// team's place in a map's list, so a team has the same colour on every map and in every
/// export. Two teams can share a colour (eight colours); their names tell them apart.
pub(crate) fn team(id: Option<&str>) -> (&'static str, &'static str) {
    id.map_or(NO_TEAM, |id| {
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        TEAMS[(hash % TEAMS.len() as u64) as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_keeps_its_colour_and_no_team_differs() {
        // Keyed by the id, so the same on every map, whatever the team's position.
        assert_eq!(team(Some("platform")), team(Some("platform")));
        // FNV-1a of "a" is 0xaf63dc4c8601ec8c; mod 8 = 4.
        assert_eq!(team(Some("a")), TEAMS[4]);
        let spread: std::collections::HashSet<_> = ["dev", "ops", "qa", "security", "product"]
            .iter()
            .map(|id| team(Some(id)))
            .collect();
        assert!(spread.len() >= 3, "{spread:?}");
        assert!(TEAMS.iter().all(|&c| c != team(None)));
    }
}
