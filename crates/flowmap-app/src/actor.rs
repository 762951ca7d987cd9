//! Who is acting: the person or system on whose behalf a use case runs.
//!
//! Roles are ordered: an editor can do what a viewer can, an admin what an editor can.
//! Until access control decides who is asking, the CLI acts as the local user and an open
//! server as an anonymous actor, both with every right.

use std::fmt;

/// What an actor may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads pages, reports and the GET API.
    Viewer,
    /// Also saves maps and outcomes, imports files and ingests data.
    Editor,
    /// Also manages tokens and reads raw webhook deliveries.
    Admin,
}

impl Role {
    /// `viewer`, `editor` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The acting user: a name recorded with what they change, and their role.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    /// How the actor is shown and recorded (a user name, `anonymous`, `webhook:github`).
    pub name: String,
    pub role: Role,
}

impl Actor {
    pub fn new(name: impl Into<String>, role: Role) -> Actor {
        Actor {
            name: name.into(),
            role,
        }
    }

    /// The person running the CLI on their own machine: `name` (their login), with every
    /// right, since they own the database file.
    pub fn local_user(name: impl Into<String>) -> Actor {
        Actor::new(name, Role::Admin)
    }

    /// Whoever uses a server that has no access control configured: everything is open.
    pub fn anonymous() -> Actor {
        Actor::new("anonymous", Role::Admin)
    }

    /// A webhook sender, authenticated by its own secret: it writes delivery records.
    pub fn webhook(sender: &str) -> Actor {
        Actor::new(format!("webhook:{sender}"), Role::Editor)
    }

    /// Whether the actor has at least `role`.
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }

    /// `Ok` when the actor may `action` (which needs `role`), else [`AppError::Forbidden`].
    pub(crate) fn require(&self, role: Role, action: &'static str) -> Result<(), crate::AppError> {
        if self.can(role) {
            Ok(())
        } else {
            Err(crate::AppError::Forbidden {
                actor: self.name.clone(),
                action,
                needed: role,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below() {
        let viewer = Actor::new("v", Role::Viewer);
        assert!(viewer.can(Role::Viewer));
        assert!(!viewer.can(Role::Editor));
        assert!(Actor::webhook("github").can(Role::Editor));
        assert!(!Actor::webhook("github").can(Role::Admin));
        assert!(Actor::anonymous().can(Role::Admin));
        let err = viewer.require(Role::Editor, "save maps").unwrap_err();
        assert_eq!(
            err.to_string(),
            "v may not save maps: that needs the editor role"
        );
    }
}
