//! GitLab's REST API (v4) into changes, deployments and builds.
