//! Roles and account standing: who may do what.

use serde::{Deserialize, Serialize};

/// A user's role. Ordered: each role can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Staff,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Staff => "staff",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reader" => Some(Role::Reader),
            "staff" => Some(Role::Staff),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Staff and above write stories and wear a badge next to their comments.
    pub fn is_staff(self) -> bool {
        self >= Role::Staff
    }
}

/// Whether an account may post, and how its comments are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum UserStatus {
    Active,
    /// Cannot post until the instant (unix milliseconds).
    Suspended {
        until: i64,
    },
    Banned,
    /// Every comment waits for a moderator.
    PreModerated,
}

/// What happens to a comment an account is posting, by its standing alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostingRight {
    Publish,
    Hold,
    Refuse(&'static str),
}

impl UserStatus {
    /// Storage keeps the status as a word plus an optional instant.
    pub fn from_parts(word: &str, suspended_until: Option<i64>) -> Option<Self> {
        match (word, suspended_until) {
            ("active", _) => Some(UserStatus::Active),
            ("suspended", Some(until)) => Some(UserStatus::Suspended { until }),
            ("banned", _) => Some(UserStatus::Banned),
            ("premoderated", _) => Some(UserStatus::PreModerated),
            _ => None,
        }
    }

    pub fn to_parts(self) -> (&'static str, Option<i64>) {
        match self {
            UserStatus::Active => ("active", None),
            UserStatus::Suspended { until } => ("suspended", Some(until)),
            UserStatus::Banned => ("banned", None),
            UserStatus::PreModerated => ("premoderated", None),
        }
    }

    pub fn posting_right(self, now: i64) -> PostingRight {
        match self {
            UserStatus::Active => PostingRight::Publish,
            UserStatus::Suspended { until } if until > now => {
                PostingRight::Refuse("your account is suspended")
            }
            UserStatus::Suspended { .. } => PostingRight::Publish,
            UserStatus::Banned => PostingRight::Refuse("your account is banned"),
            UserStatus::PreModerated => PostingRight::Hold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Admin > Role::Moderator && Role::Moderator > Role::Staff);
        assert!(Role::Staff > Role::Reader);
        for r in [Role::Reader, Role::Staff, Role::Moderator, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_suspension_ends_at_its_instant() {
        let s = UserStatus::Suspended { until: 100 };
        assert!(matches!(s.posting_right(99), PostingRight::Refuse(_)));
        assert_eq!(s.posting_right(100), PostingRight::Publish);
        assert_eq!(
            UserStatus::PreModerated.posting_right(0),
            PostingRight::Hold
        );
        assert_eq!(UserStatus::from_parts("suspended", None), None);
        let (w, u) = s.to_parts();
        assert_eq!(UserStatus::from_parts(w, u), Some(s));
    }
}
