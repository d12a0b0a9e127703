//! Values that are checked once at the boundary: past `parse`, an invalid one cannot exist.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A login name: 1-64 of `[a-z0-9_-]`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        spec::names::check_slug(&s, 64).map_err(|e| Error::invalid("username", format!("username: {e}")))?;
        if RESERVED.contains(&s.as_str()) {
            return Err(Error::invalid("username", format!("username: {s:?} is reserved")));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Names that are addresses of their own (`/{owner}/{project}` shares the URL space with them).
const RESERVED: &[&str] = &[
    "api",
    "pkg",
    "login",
    "logout",
    "signup",
    "projects",
    "account",
    "cluster",
    "admin",
    "settings",
    "static",
    "favicon.ico",
    "health",
    "metrics",
];

/// A project name, unique per owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(s: &str) -> Result<Self> {
        spec::names::check_slug(s, 64).map_err(|e| Error::invalid("name", format!("project name: {e}")))?;
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 1024 characters (the upper bound keeps hashing cost bounded).
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(s: &str) -> Result<Self> {
        match s.chars().count() {
            n if n < 8 => Err(Error::invalid("password", "password: at least 8 characters")),
            n if n > 1024 => Err(Error::invalid("password", "password: at most 1024 characters")),
            _ => Ok(Self(s.to_string())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest metric, param or tag name (MLflow's limit).
pub const MAX_KEY: usize = 250;

/// MLflow's key rule: alphanumerics, `_ - . / : ` and spaces; no `..` and not absolute.
pub fn validate_key(what: &'static str, key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY
        && key.chars().all(|c| c.is_alphanumeric() || "_-./: ".contains(c))
        && !key.starts_with('/')
        && !key.split('/').any(|s| s == "..");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            format!(
                "invalid {what} name {key:?}: names may only contain alphanumerics, underscores (_), dashes (-), \
                 periods (.), spaces ( ), colons (:) and slashes (/), at most {MAX_KEY} characters, not `..` \
                 or absolute"
            ),
        ))
    }
}

/// A metric's name, by MLflow's key rule: past `parse`, an invalid one cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey(String);

impl MetricKey {
    pub fn parse(s: &str) -> Result<Self> {
        validate_key("metric", s)?;
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The most of one kind of thing an account or a project may hold where its list has no pages (API tokens,
/// members, component versions): each list answer, and each compile's component library, stays bounded.
pub const MAX_HELD: u64 = 1000;

/// `LimitExceeded` naming what is full, when `held` more `what` leave no room for one more.
pub fn room_for_one(what: &str, held: u64) -> Result<()> {
    if held >= MAX_HELD {
        return Err(Error::LimitExceeded(format!(
            "{what}: at most {MAX_HELD}; remove some before adding more"
        )));
    }
    Ok(())
}

/// Free text with a length bound.
pub fn bounded_text(field: &'static str, s: &str, max: usize) -> Result<String> {
    if s.chars().count() > max {
        return Err(Error::invalid(field, format!("{field}: at most {max} characters")));
    }
    Ok(s.trim().to_string())
}

/// A member's role in a project, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "member" => Ok(Role::Member),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(Error::invalid(
                "role",
                format!("role: expected owner, admin, member or viewer, got {s:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_by_power_and_round_trip() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member && Role::Member > Role::Viewer);
        for r in [Role::Viewer, Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("god").is_err());
    }

    #[test]
    fn metric_keys_follow_mlflows_rule() {
        assert_eq!(MetricKey::parse("train/loss: top-1.acc").unwrap().as_str(), "train/loss: top-1.acc");
        for bad in ["", "/abs", "a/../b", "a$b", &"k".repeat(MAX_KEY + 1)] {
            assert!(MetricKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("al ice").is_err());
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse(&"x".repeat(1025)).is_err());
    }
}
