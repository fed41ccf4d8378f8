//! The words of every mail Parley sends a reader, as plain text with an HTML
//! alternative. One shape ([`MailContent`]) and two templates serve every kind, so the
//! kinds differ only in what they say.

use askama::Template;
use parley_core::notify::NotificationKind;
use parley_store::mail::NewMail;

/// A line of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailItem {
    pub title: String,
    pub excerpt: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailContent {
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// Someone's words, quoted (plain text).
    pub quote: Option<String>,
    pub items: Vec<MailItem>,
    /// The one thing to do: (label, absolute URL).
    pub action: Option<(String, String)>,
    /// Why the reader gets this mail.
    pub footer: Vec<String>,
    pub unsubscribe_url: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/mail.txt", escape = "none")]
struct TextMail<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    quote: &'a Option<String>,
    items: &'a [MailItem],
    action: &'a Option<(String, String)>,
    footer: &'a [String],
    unsubscribe_url: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "mail/mail.html")]
struct HtmlMail<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    quote: &'a Option<String>,
    items: &'a [MailItem],
    action: &'a Option<(String, String)>,
    footer: &'a [String],
    unsubscribe_url: &'a Option<String>,
}

/// Who a mail is for.
pub struct Recipient<'a> {
    pub site_id: i64,
    pub user_id: i64,
    pub email: &'a str,
    pub name: &'a str,
}

impl MailContent {
    pub fn text(&self) -> String {
        TextMail {
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            quote: &self.quote,
            items: &self.items,
            action: &self.action,
            footer: &self.footer,
            unsubscribe_url: &self.unsubscribe_url,
        }
        .render()
        .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        HtmlMail {
            subject: &self.subject,
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            quote: &self.quote,
            items: &self.items,
            action: &self.action,
            footer: &self.footer,
            unsubscribe_url: &self.unsubscribe_url,
        }
        .render()
        .unwrap_or_default()
    }

    /// The outbox row for this mail.
    pub fn to_mail(&self, kind: &str, to: &Recipient<'_>, now: i64) -> NewMail {
        NewMail {
            site_id: to.site_id,
            user_id: Some(to.user_id),
            kind: kind.to_owned(),
            to: to.email.to_owned(),
            to_name: Some(to.name.to_owned()),
            subject: self.subject.clone(),
            text: self.text(),
            html: Some(self.html()),
            unsubscribe_url: self.unsubscribe_url.clone(),
            now,
        }
    }
}

fn hello(name: &str) -> String {
    format!("Hello {name},")
}

/// The first few hundred characters of a comment, on whole words.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim();
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > MAX / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

pub fn verify_email(site: &str, name: &str, link: &str) -> MailContent {
    MailContent {
        subject: format!("Confirm your email address for {site}"),
        greeting: hello(name),
        paragraphs: vec![format!(
            "Please confirm that this is your email address, so that {site} can tell you about replies to your comments and help you if you forget your password."
        )],
        action: Some(("Confirm your email address".into(), link.to_owned())),
        footer: vec![
            "The link works for three days. If you did not make an account, you can ignore this mail: nothing happens until the link is used.".into(),
        ],
        ..MailContent::default()
    }
}

pub fn reset_password(site: &str, name: &str, link: &str) -> MailContent {
    MailContent {
        subject: format!("Choose a new password for {site}"),
        greeting: hello(name),
        paragraphs: vec![
            "Someone, hopefully you, asked to choose a new password for your account. Use the link below to choose one; it works once, for an hour.".into(),
        ],
        action: Some(("Choose a new password".into(), link.to_owned())),
        footer: vec![
            "If you did not ask for this, ignore this mail: your password stays as it is.".into(),
        ],
        ..MailContent::default()
    }
}

pub fn confirm_new_email(site: &str, name: &str, new_email: &str, link: &str) -> MailContent {
    MailContent {
        subject: format!("Confirm your new email address for {site}"),
        greeting: hello(name),
        paragraphs: vec![format!(
            "You asked to use {new_email} for your account. Confirm it with the link below; until then your account keeps its old address."
        )],
        action: Some(("Confirm the new address".into(), link.to_owned())),
        footer: vec![
            "The link works for a day. If you did not ask for this, ignore this mail.".into(),
        ],
        ..MailContent::default()
    }
}

pub fn email_change_notice(site: &str, name: &str, new_email: &str, account: &str) -> MailContent {
    MailContent {
        subject: format!("Your {site} email address is being changed"),
        greeting: hello(name),
        paragraphs: vec![
            format!("Someone signed in to your account asked to move it to {new_email}. It moves only when that address confirms."),
            "If that was not you, someone else knows your password: choose a new one now with \"Forgot your password?\" on the sign-in page, which signs everyone out of your account.".into(),
        ],
        action: Some(("Your account".into(), account.to_owned())),
        ..MailContent::default()
    }
}

/// What one notification says.
pub struct NotificationFacts<'a> {
    pub kind: NotificationKind,
    /// "approved" or "rejected" for moderation.
    pub detail: &'a str,
    pub headline: &'a str,
    /// Who replied (reply), else empty.
    pub other_name: &'a str,
    pub comment_text: &'a str,
    pub url: &'a str,
}

/// The line a digest shows for one notification, and the subject of its own mail.
pub fn notification_title(f: &NotificationFacts<'_>) -> String {
    match f.kind {
        NotificationKind::Reply => format!("{} replied to you on “{}”", f.other_name, f.headline),
        NotificationKind::Featured => {
            format!(
                "Your comment on “{}” was selected by the editors",
                f.headline
            )
        }
        NotificationKind::Moderation if f.detail == "rejected" => {
            format!("Your comment on “{}” was not published", f.headline)
        }
        NotificationKind::Moderation => format!("Your comment on “{}” is published", f.headline),
    }
}

fn notification_sentence(f: &NotificationFacts<'_>) -> String {
    match f.kind {
        NotificationKind::Reply => format!(
            "{} replied to your comment on “{}”:",
            f.other_name, f.headline
        ),
        NotificationKind::Featured => format!(
            "The editors selected your comment on “{}” as one of the best. It now shows among the selected comments:",
            f.headline
        ),
        NotificationKind::Moderation if f.detail == "rejected" => format!(
            "A moderator decided not to publish your comment on “{}”. It breaks the site's rules for comments:",
            f.headline
        ),
        NotificationKind::Moderation => format!(
            "A moderator approved your comment on “{}”. Everyone can read it now:",
            f.headline
        ),
    }
}

fn why(kind: NotificationKind, site: &str, settings: &str) -> Vec<String> {
    vec![
        format!(
            "You get this mail because you asked {site} to tell you about {}.",
            kind.describe()
        ),
        format!("Choose what you are told, and how often: {settings}"),
    ]
}

pub fn notification(
    site: &str,
    name: &str,
    f: &NotificationFacts<'_>,
    settings: &str,
    unsubscribe: &str,
) -> MailContent {
    let action = match f.kind {
        NotificationKind::Reply => "Read and reply",
        NotificationKind::Moderation if f.detail == "rejected" => "The conversation",
        _ => "See it in the conversation",
    };
    MailContent {
        subject: notification_title(f),
        greeting: hello(name),
        paragraphs: vec![notification_sentence(f)],
        quote: Some(excerpt(f.comment_text)),
        action: Some((action.into(), f.url.to_owned())),
        footer: why(f.kind, site, settings),
        unsubscribe_url: Some(unsubscribe.to_owned()),
        ..MailContent::default()
    }
}

pub fn digest(
    site: &str,
    name: &str,
    items: Vec<MailItem>,
    settings: &str,
    unsubscribe: &str,
) -> MailContent {
    let n = items.len();
    MailContent {
        subject: if n == 1 {
            format!("Your day on {site}: 1 notification")
        } else {
            format!("Your day on {site}: {n} notifications")
        },
        greeting: hello(name),
        paragraphs: vec![format!("Here is what happened to your comments on {site}:")],
        items,
        footer: vec![
            format!(
                "You get this daily digest because you chose it for some notifications on {site}."
            ),
            format!("Choose what you are told, and how often: {settings}"),
        ],
        unsubscribe_url: Some(unsubscribe.to_owned()),
        ..MailContent::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_html_carry_the_same_content() {
        let mail = notification(
            "courier",
            "Ann",
            &NotificationFacts {
                kind: NotificationKind::Reply,
                detail: "",
                headline: "Budget <vote>",
                other_name: "Bob",
                comment_text: "First line\nsecond & last",
                url: "https://c.example/comments/7/thread",
            },
            "https://c.example/account",
            "https://c.example/unsubscribe/k?kind=reply",
        );
        let text = mail.text();
        assert!(text.starts_with("Hello Ann,"), "{text}");
        assert!(text.contains("Bob replied to your comment on “Budget <vote>”:"));
        assert!(text.contains("> First line\n> second & last"), "{text}");
        assert!(text.contains("https://c.example/comments/7/thread"));
        assert!(text.contains("Unsubscribe: https://c.example/unsubscribe/k?kind=reply"));
        let html = mail.html();
        assert!(html.contains("Budget &#60;vote&#62;") || html.contains("Budget &lt;vote&gt;"));
        assert!(!html.contains("<vote>"));
        assert!(html.contains("second &#38; last") || html.contains("second &amp; last"));
        assert!(html.contains("href=\"https://c.example/unsubscribe/k?kind=reply\""));
        assert_eq!(mail.subject, "Bob replied to you on “Budget <vote>”");
    }

    #[test]
    fn excerpts_end_on_a_word() {
        assert_eq!(excerpt("  short  "), "short");
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= 301);
    }

    #[test]
    fn account_mail_has_one_action_and_no_unsubscribe() {
        let mail = reset_password("courier", "Ann", "https://c.example/reset?token=t");
        assert_eq!(
            mail.action.as_ref().map(|a| a.1.as_str()),
            Some("https://c.example/reset?token=t")
        );
        assert!(mail.unsubscribe_url.is_none());
        assert!(mail.text().contains("https://c.example/reset?token=t"));
    }
}
