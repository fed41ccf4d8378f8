//! Account mail and notifications: what a reader can be told, how, and how long the
//! links mailed to them stay good.

use serde::{Deserialize, Serialize};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// Someone replied to the reader's comment.
    Reply,
    /// Editors selected the reader's comment.
    Featured,
    /// A moderator approved or rejected the reader's comment.
    Moderation,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 3] = [
        NotificationKind::Reply,
        NotificationKind::Featured,
        NotificationKind::Moderation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Reply => "reply",
            NotificationKind::Featured => "featured",
            NotificationKind::Moderation => "moderation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How the reader's settings and unsubscribe pages name it.
    pub fn describe(self) -> &'static str {
        match self {
            NotificationKind::Reply => "replies to your comments",
            NotificationKind::Featured => "your comments being selected by the editors",
            NotificationKind::Moderation => "moderators' decisions on your held comments",
        }
    }
}

/// How a reader wants one kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    Off,
    /// A mail for each one, as it happens.
    Immediate,
    /// Collected into one mail a day.
    Digest,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Off => "off",
            Delivery::Immediate => "immediate",
            Delivery::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Delivery::Off, Delivery::Immediate, Delivery::Digest]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// A reader's choices, one per kind. Mail goes only to confirmed addresses, so the
/// defaults can be on: nobody is mailed who did not confirm they read that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPrefs {
    pub reply: Delivery,
    pub featured: Delivery,
    pub moderation: Delivery,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        Self {
            reply: Delivery::Immediate,
            featured: Delivery::Immediate,
            moderation: Delivery::Immediate,
        }
    }
}

impl NotificationPrefs {
    pub fn get(&self, kind: NotificationKind) -> Delivery {
        match kind {
            NotificationKind::Reply => self.reply,
            NotificationKind::Featured => self.featured,
            NotificationKind::Moderation => self.moderation,
        }
    }

    pub fn set(&mut self, kind: NotificationKind, delivery: Delivery) {
        match kind {
            NotificationKind::Reply => self.reply = delivery,
            NotificationKind::Featured => self.featured = delivery,
            NotificationKind::Moderation => self.moderation = delivery,
        }
    }

    /// After a one-click unsubscribe from `kind` (None: from everything).
    pub fn unsubscribed(mut self, kind: Option<NotificationKind>) -> Self {
        match kind {
            Some(kind) => self.set(kind, Delivery::Off),
            None => {
                for kind in NotificationKind::ALL {
                    self.set(kind, Delivery::Off);
                }
            }
        }
        self
    }

    /// After an unsubscribe from the digest: every kind collected for it is off.
    pub fn without_digest(mut self) -> Self {
        for kind in NotificationKind::ALL {
            if self.get(kind) == Delivery::Digest {
                self.set(kind, Delivery::Off);
            }
        }
        self
    }
}

/// What a mailed single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify",
            LinkPurpose::ResetPassword => "reset",
            LinkPurpose::ChangeEmail => "email_change",
        }
    }

    /// How long a link stays good. A reset link is short-lived: it is as good as the
    /// password to whoever reads the mail.
    pub fn lifetime_ms(self) -> i64 {
        const HOUR: i64 = 3_600_000;
        match self {
            LinkPurpose::VerifyEmail => 72 * HOUR,
            LinkPurpose::ResetPassword => HOUR,
            LinkPurpose::ChangeEmail => 24 * HOUR,
        }
    }

    /// Shortest wait between two mails of this purpose to one account, so the
    /// "send it again" buttons cannot be used to flood a mailbox.
    pub fn resend_after_ms(self) -> i64 {
        60_000
    }
}

/// Why a mailed link does not work, in the reader's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Expired,
    Used,
}

impl LinkProblem {
    pub fn code(self) -> &'static str {
        match self {
            LinkProblem::Unknown => "link_invalid",
            LinkProblem::Expired => "link_expired",
            LinkProblem::Used => "link_used",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            LinkProblem::Unknown => {
                "this link is not valid: copy the whole link from the mail, or ask for a new one"
            }
            LinkProblem::Expired => "this link has expired: ask for a new one",
            LinkProblem::Used => {
                "this link has been used already: ask for a new one if you need to"
            }
        }
    }
}

/// Why a stored link cannot be used at `now`; None when it can.
pub fn link_problem(expires_at: i64, used_at: Option<i64>, now: i64) -> Option<LinkProblem> {
    if used_at.is_some() {
        Some(LinkProblem::Used)
    } else if expires_at <= now {
        Some(LinkProblem::Expired)
    } else {
        None
    }
}

/// Whether a digest is due: its oldest item has waited a whole period.
pub fn digest_due(oldest_item_at: i64, period_ms: i64, now: i64) -> bool {
    now.saturating_sub(oldest_item_at) >= period_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_deliveries_round_trip() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        for d in [Delivery::Off, Delivery::Immediate, Delivery::Digest] {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
        }
        assert_eq!(NotificationKind::parse("Reply"), None);
        assert_eq!(Delivery::parse(""), None);
    }

    #[test]
    fn unsubscribing_turns_off_one_kind_or_all() {
        let prefs = NotificationPrefs::default();
        let one = prefs.unsubscribed(Some(NotificationKind::Reply));
        assert_eq!(one.reply, Delivery::Off);
        assert_eq!(one.featured, Delivery::Immediate);
        let all = prefs.unsubscribed(None);
        assert!(
            NotificationKind::ALL
                .iter()
                .all(|k| all.get(*k) == Delivery::Off)
        );
    }

    #[test]
    fn leaving_the_digest_keeps_immediate_kinds() {
        let prefs = NotificationPrefs {
            reply: Delivery::Digest,
            featured: Delivery::Immediate,
            moderation: Delivery::Digest,
        }
        .without_digest();
        assert_eq!(prefs.reply, Delivery::Off);
        assert_eq!(prefs.featured, Delivery::Immediate);
        assert_eq!(prefs.moderation, Delivery::Off);
    }

    #[test]
    fn links_are_refused_once_used_or_expired() {
        assert_eq!(link_problem(100, None, 99), None);
        assert_eq!(link_problem(100, None, 100), Some(LinkProblem::Expired));
        assert_eq!(link_problem(100, Some(50), 60), Some(LinkProblem::Used));
        assert!(LinkPurpose::ResetPassword.lifetime_ms() < LinkPurpose::VerifyEmail.lifetime_ms());
    }

    #[test]
    fn a_digest_waits_a_whole_period() {
        assert!(!digest_due(1_000, 500, 1_499));
        assert!(digest_due(1_000, 500, 1_500));
    }
}
