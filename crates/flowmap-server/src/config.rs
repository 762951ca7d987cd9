//! What the server is told from outside: webhook secrets and how payloads map to services.

use std::collections::BTreeMap;

use flowmap_ingest::webhooks;

/// Server settings. Secrets that are not set turn their webhook off: every request to it
/// gets 401, since nothing could prove where it came from.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// Shared secret of the GitHub webhook (`FLOWMAP_GITHUB_SECRET`), checked against
    /// `X-Hub-Signature-256`.
    pub github_secret: Option<String>,
    /// Secret token of the GitLab webhook (`FLOWMAP_GITLAB_TOKEN`), compared with
    /// `X-Gitlab-Token`.
    pub gitlab_token: Option<String>,
    /// Bearer token for CDEvents (`FLOWMAP_CDEVENTS_TOKEN`).
    pub cdevents_token: Option<String>,
    /// Repository → service names and deploy workflows.
    pub webhooks: webhooks::Config,
    /// Who may use the server (see `auth.rs`).
    pub access: crate::auth::AccessConfig,
    /// Connections at once and read timeouts (see `listen.rs`).
    pub limits: crate::Limits,
}

impl ServerConfig {
    /// Reads the secrets from `FLOWMAP_GITHUB_SECRET`, `FLOWMAP_GITLAB_TOKEN` and
    /// `FLOWMAP_CDEVENTS_TOKEN` (an empty variable counts as unset), deploy workflows
    /// from `FLOWMAP_GITHUB_DEPLOY_WORKFLOWS` (comma-separated names), and service names
    /// from `FLOWMAP_SERVICE_NAMES` (`owner/repo=service`, comma-separated).
    pub fn from_env() -> ServerConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        ServerConfig {
            github_secret: var("FLOWMAP_GITHUB_SECRET"),
            gitlab_token: var("FLOWMAP_GITLAB_TOKEN"),
            cdevents_token: var("FLOWMAP_CDEVENTS_TOKEN"),
            webhooks: webhooks::Config {
                deploy_workflows: var("FLOWMAP_GITHUB_DEPLOY_WORKFLOWS")
                    .map(|list| {
                        list.split(',')
                            .map(|name| name.trim().to_owned())
                            .filter(|name| !name.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                services: var("FLOWMAP_SERVICE_NAMES")
                    .map(|list| service_names(&list))
                    .unwrap_or_default(),
            },
            access: crate::auth::AccessConfig::default(),
            limits: crate::Limits::default(),
        }
    }
}

/// `owner/repo=service,…` as a map; entries without `=` or with an empty side are skipped.
fn service_names(list: &str) -> BTreeMap<String, String> {
    list.split(',')
        .filter_map(|pair| {
            let (repository, service) = pair.split_once('=')?;
            let (repository, service) = (repository.trim(), service.trim());
            (!repository.is_empty() && !service.is_empty())
                .then(|| (repository.to_owned(), service.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_pair_repositories_with_services() {
        let names = service_names("acme/shop-web = shop, acme/api=api,broken,=x");
        assert_eq!(names.len(), 2);
        assert_eq!(names["acme/shop-web"], "shop");
        assert_eq!(names["acme/api"], "api");
    }
}
