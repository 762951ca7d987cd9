//! DORA's capabilities: the practices its research found to drive software delivery and
//! organisational performance, built in so that maps and experiments can name them.
//!
//! The catalogue is a curated table in this file. Ids, names, groups and paths follow the
//! capability pages of dora.dev (their slugs, titles, categories and URLs); the one-line
//! summaries are flowmap's own words. The groups are DORA's: climate for learning, fast
//! flow, fast feedback, and AI.
//!
//! A step that names no capability gets suggestions from [`suggest`]: a keyword table
//! ([`KEYWORDS`]) matched against the words of the step's id, name and team. It is a hint
//! for a workshop, not an analysis, and is always shown as a suggestion.

use serde::Serialize;

/// Where the capability pages live; a capability's link is this plus its [`Capability::path`].
pub const DORA_SITE: &str = "https://dora.dev";

/// DORA's four groups of capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Group {
    #[serde(rename = "climate for learning")]
    ClimateForLearning,
    #[serde(rename = "fast flow")]
    FastFlow,
    #[serde(rename = "fast feedback")]
    FastFeedback,
    #[serde(rename = "AI")]
    Ai,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::ClimateForLearning => "climate for learning",
            Group::FastFlow => "fast flow",
            Group::FastFeedback => "fast feedback",
            Group::Ai => "AI",
        }
    }
}

/// One DORA capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// The dora.dev slug, e.g. `streamlining-change-approval`.
    pub id: &'static str,
    pub name: &'static str,
    /// What it is, in one line.
    pub summary: &'static str,
    pub group: Group,
    /// The page's path on dora.dev, e.g. `/capabilities/test-automation/`.
    pub path: &'static str,
}

impl Capability {
    /// The full link to the capability's page.
    pub fn url(&self) -> String {
        format!("{DORA_SITE}{}", self.path)
    }
}

macro_rules! capability {
    ($id:literal, $name:literal, $group:ident, $summary:literal) => {
        Capability {
            id: $id,
            name: $name,
            summary: $summary,
            group: Group::$group,
            path: concat!("/capabilities/", $id, "/"),
        }
    };
}

/// Every capability, sorted by id.
pub const CATALOGUE: &[Capability] = &[
    capability!(
        "ai-accessible-internal-data",
        "AI-accessible internal data",
        Ai,
        "AI tools can reach the team's own code, docs and data, so their help fits the context."
    ),
    capability!(
        "clear-and-communicated-ai-stance",
        "Clear and communicated AI stance",
        Ai,
        "People know which AI tools they may use, for what, and why."
    ),
    capability!(
        "code-maintainability",
        "Code maintainability",
        ClimateForLearning,
        "Code is easy to find, understand, reuse and change safely."
    ),
    capability!(
        "continuous-delivery",
        "Continuous delivery",
        FastFlow,
        "Any change can be released to users safely, quickly and sustainably at any time."
    ),
    capability!(
        "continuous-integration",
        "Continuous integration",
        FastFeedback,
        "Everyone merges small changes to trunk often, each checked by an automated build and tests."
    ),
    capability!(
        "customer-feedback",
        "Customer feedback",
        FastFeedback,
        "Customer insight is gathered regularly and shapes what gets built."
    ),
    capability!(
        "database-change-management",
        "Database change management",
        FastFlow,
        "Schema and data changes are versioned, scripted and shipped like code."
    ),
    capability!(
        "deployment-automation",
        "Deployment automation",
        FastFlow,
        "Deployments run fully automated, repeatable, from one command or trigger."
    ),
    capability!(
        "documentation-quality",
        "Documentation quality",
        ClimateForLearning,
        "Internal documentation is accurate, current, findable and helps people do their work."
    ),
    capability!(
        "flexible-infrastructure",
        "Flexible infrastructure",
        FastFlow,
        "Teams get and scale environments on demand, self-service, without tickets."
    ),
    capability!(
        "generative-organizational-culture",
        "Generative organizational culture",
        ClimateForLearning,
        "Information flows freely, failures lead to inquiry, and collaboration across teams is the norm."
    ),
    capability!(
        "healthy-data-ecosystems",
        "Healthy data ecosystems",
        Ai,
        "Data is high quality, easy to access and unified, so people and AI can rely on it."
    ),
    capability!(
        "job-satisfaction",
        "Job satisfaction",
        ClimateForLearning,
        "People find their work meaningful and have the tools and resources to do it well."
    ),
    capability!(
        "learning-culture",
        "Learning culture",
        ClimateForLearning,
        "Learning is treated as an investment, with time and safety to learn."
    ),
    capability!(
        "loosely-coupled-teams",
        "Loosely coupled teams",
        FastFlow,
        "Teams can change, test and deploy their part without coordinating with others."
    ),
    capability!(
        "monitoring-and-observability",
        "Monitoring and observability",
        FastFeedback,
        "Teams can see how their systems behave and debug them from the signals they emit."
    ),
    capability!(
        "monitoring-systems",
        "Monitoring systems to inform business decisions",
        FastFeedback,
        "Data from applications and infrastructure informs everyday business decisions."
    ),
    capability!(
        "pervasive-security",
        "Pervasive security",
        FastFeedback,
        "Security is built into design, development and delivery, not inspected in at the end."
    ),
    capability!(
        "platform-engineering",
        "Platform engineering",
        Ai,
        "An internal platform gives teams paved, self-service paths to build, ship and run software."
    ),
    capability!(
        "proactive-failure-notification",
        "Proactive failure notification",
        FastFeedback,
        "Alerts on meaningful thresholds tell the team about failures before users do."
    ),
    capability!(
        "streamlining-change-approval",
        "Streamlining change approval",
        FastFlow,
        "Changes are approved by peer review and automation instead of a distant approval board."
    ),
    capability!(
        "team-experimentation",
        "Team experimentation",
        ClimateForLearning,
        "Teams can try new ideas and change specifications without asking outside permission."
    ),
    capability!(
        "teams-empowered-to-choose-tools",
        "Empowering teams to choose tools",
        ClimateForLearning,
        "Teams choose the tools that work best for them and their users."
    ),
    capability!(
        "test-automation",
        "Test automation",
        FastFeedback,
        "Reliable automated tests run on every change and tell developers quickly what broke."
    ),
    capability!(
        "test-data-management",
        "Test data management",
        FastFeedback,
        "Adequate test data is available on demand to run the automated tests."
    ),
    capability!(
        "transformational-leadership",
        "Transformational leadership",
        ClimateForLearning,
        "Leaders inspire, set a vision, support and recognise their teams."
    ),
    capability!(
        "trunk-based-development",
        "Trunk-based development",
        FastFlow,
        "Few, short-lived branches merged into trunk at least daily; no code freezes."
    ),
    capability!(
        "user-centric-focus",
        "User-centric focus",
        Ai,
        "Teams understand their users and measure success by the value delivered to them."
    ),
    capability!(
        "version-control",
        "Version control",
        FastFlow,
        "Application code, configuration and scripts all live in version control."
    ),
    capability!(
        "visual-management",
        "Visual management",
        FastFlow,
        "Key quality and flow information is shown where the whole team sees it."
    ),
    capability!(
        "well-being",
        "Well-being",
        ClimateForLearning,
        "Work is sustainable: manageable load and low deployment pain prevent burnout."
    ),
    capability!(
        "wip-limits",
        "Work in process limits",
        FastFlow,
        "Limits on work in process expose obstacles and keep work flowing."
    ),
    capability!(
        "work-visibility-in-value-stream",
        "Visibility of work in the value stream",
        FastFeedback,
        "Teams see the flow of work from the business to customers, and its status."
    ),
    capability!(
        "working-in-small-batches",
        "Working in small batches",
        FastFlow,
        "Work is split into small pieces that can be finished and delivered in days."
    ),
];

/// The capability with this id.
pub fn find(id: &str) -> Option<&'static Capability> {
    CATALOGUE
        .binary_search_by(|c| c.id.cmp(id))
        .ok()
        .map(|i| &CATALOGUE[i])
}

/// Every capability id, for "did you mean" hints.
pub fn ids() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|c| c.id)
}

/// The keyword table behind [`suggest`]: a word that starts with the keyword (`test`
/// matches `testing`, `deploy` matches `deployment`) suggests the capabilities listed.
/// The first matching rows win, in table order, up to [`MAX_SUGGESTIONS`].
pub const KEYWORDS: &[(&str, &[&str])] = &[
    ("approv", &["streamlining-change-approval"]),
    ("cab", &["streamlining-change-approval"]),
    ("sign", &["streamlining-change-approval"]),
    (
        "review",
        &["streamlining-change-approval", "working-in-small-batches"],
    ),
    ("qa", &["test-automation", "test-data-management"]),
    ("test", &["test-automation", "test-data-management"]),
    ("quality", &["test-automation"]),
    ("verif", &["test-automation"]),
    ("build", &["continuous-integration"]),
    ("ci", &["continuous-integration"]),
    (
        "integrat",
        &["continuous-integration", "trunk-based-development"],
    ),
    (
        "merg",
        &["trunk-based-development", "continuous-integration"],
    ),
    ("branch", &["trunk-based-development"]),
    ("deploy", &["deployment-automation", "continuous-delivery"]),
    ("release", &["deployment-automation", "continuous-delivery"]),
    ("ship", &["deployment-automation", "continuous-delivery"]),
    ("rollout", &["deployment-automation", "continuous-delivery"]),
    (
        "detect",
        &[
            "monitoring-and-observability",
            "proactive-failure-notification",
        ],
    ),
    (
        "monitor",
        &[
            "monitoring-and-observability",
            "proactive-failure-notification",
        ],
    ),
    (
        "alert",
        &[
            "proactive-failure-notification",
            "monitoring-and-observability",
        ],
    ),
    ("observ", &["monitoring-and-observability"]),
    (
        "incident",
        &[
            "monitoring-and-observability",
            "proactive-failure-notification",
        ],
    ),
    ("respond", &["monitoring-and-observability"]),
    (
        "restor",
        &["deployment-automation", "monitoring-and-observability"],
    ),
    ("fix", &["deployment-automation", "continuous-delivery"]),
    ("database", &["database-change-management"]),
    ("schema", &["database-change-management"]),
    ("migrat", &["database-change-management"]),
    ("secur", &["pervasive-security"]),
    ("audit", &["pervasive-security"]),
    ("complian", &["pervasive-security"]),
    ("infra", &["flexible-infrastructure"]),
    ("environment", &["flexible-infrastructure"]),
    ("provision", &["flexible-infrastructure"]),
    (
        "staging",
        &["flexible-infrastructure", "test-data-management"],
    ),
    ("platform", &["platform-engineering"]),
    ("ops", &["platform-engineering", "loosely-coupled-teams"]),
    ("handoff", &["loosely-coupled-teams"]),
    ("plan", &["working-in-small-batches", "visual-management"]),
    ("backlog", &["wip-limits", "visual-management"]),
    ("ticket", &["work-visibility-in-value-stream", "wip-limits"]),
    ("priorit", &["wip-limits", "visual-management"]),
    ("design", &["working-in-small-batches", "customer-feedback"]),
    (
        "requirement",
        &["working-in-small-batches", "customer-feedback"],
    ),
    (
        "spec",
        &["working-in-small-batches", "team-experimentation"],
    ),
    ("doc", &["documentation-quality"]),
    (
        "code",
        &["code-maintainability", "working-in-small-batches"],
    ),
    (
        "develop",
        &["code-maintainability", "working-in-small-batches"],
    ),
    (
        "implement",
        &["code-maintainability", "working-in-small-batches"],
    ),
    ("feedback", &["customer-feedback"]),
    ("user", &["user-centric-focus", "customer-feedback"]),
];

/// The most suggestions [`suggest`] returns for one step.
pub const MAX_SUGGESTIONS: usize = 3;

/// The capabilities the keyword table suggests for a step with this id, name and team
/// (name), in table order, without repeats, at most [`MAX_SUGGESTIONS`].
///
/// ```
/// use flowmap_core::capabilities::suggest;
/// assert_eq!(suggest(&["manual-qa", "Manual QA"]), ["test-automation", "test-data-management"]);
/// assert!(suggest(&["lunch"]).is_empty());
/// ```
pub fn suggest(texts: &[&str]) -> Vec<&'static str> {
    let words: Vec<String> = texts
        .iter()
        .flat_map(|text| {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
        })
        .collect();
    let mut suggestions: Vec<&'static str> = Vec::new();
    for (keyword, ids) in KEYWORDS {
        if words.iter().any(|w| w.starts_with(keyword)) {
            for id in *ids {
                if suggestions.len() < MAX_SUGGESTIONS && !suggestions.contains(id) {
                    suggestions.push(id);
                }
            }
        }
    }
    suggestions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_unique_and_complete() {
        assert!(CATALOGUE.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(CATALOGUE.len(), 34);
        for capability in CATALOGUE {
            assert_eq!(find(capability.id), Some(capability));
            assert!(capability.summary.ends_with('.'));
        }
        assert_eq!(find("test-automaton"), None);
        assert_eq!(
            find("test-automation").map(Capability::url).as_deref(),
            Some("https://dora.dev/capabilities/test-automation/")
        );
    }

    #[test]
    fn every_keyword_names_catalogue_capabilities() {
        for (keyword, ids) in KEYWORDS {
            for id in *ids {
                assert!(find(id).is_some(), "{keyword} → {id}");
            }
        }
    }

    #[test]
    fn suggestions_come_from_every_word_of_id_name_and_team() {
        assert_eq!(
            suggest(&["cab", "Change advisory board", "Platform team"]),
            ["streamlining-change-approval", "platform-engineering",]
        );
        assert_eq!(
            suggest(&["deploy", "Deploy to production"]),
            ["deployment-automation", "continuous-delivery"]
        );
        // Capped, in table order.
        assert_eq!(
            suggest(&["review", "Code review and QA"]).len(),
            MAX_SUGGESTIONS
        );
    }
}
