//! The moderation pipeline: every new comment and every edit goes through ordered
//! phases, each a pure function of the comment, the facts gathered about it and the
//! site's [`Policy`], each returning a [`Verdict`] with reasons.
//!
//! Order: story open → author status → rate limit and repeat posts → length and
//! format → banned words → suspect words, links and spam signals → site policy.
//! A phase that rejects stops the pipeline; holds accumulate, so a moderator sees
//! every reason a comment was held.

use serde::{Deserialize, Serialize};

use crate::account::UserStatus;
use crate::wordlist::{WordList, WordListError};

/// What happens to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Publish,
    Hold,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Publish => "publish",
            Verdict::Hold => "hold",
            Verdict::Reject => "reject",
        }
    }
}

/// Why a phase held or rejected a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The phase that decided, e.g. `banned_words`; the audit log's `actor_rule`.
    pub phase: String,
    /// A stable code for programs, e.g. `banned_word`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// The pipeline's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
}

impl Decision {
    pub fn publish() -> Self {
        Decision {
            verdict: Verdict::Publish,
            reasons: Vec::new(),
        }
    }

    fn one(verdict: Verdict, phase: &str, code: &str, message: impl Into<String>) -> Self {
        Decision {
            verdict,
            reasons: vec![Reason {
                phase: phase.into(),
                code: code.into(),
                message: message.into(),
            }],
        }
    }

    pub fn hold(phase: &str, code: &str, message: impl Into<String>) -> Self {
        Self::one(Verdict::Hold, phase, code, message)
    }

    pub fn reject(phase: &str, code: &str, message: impl Into<String>) -> Self {
        Self::one(Verdict::Reject, phase, code, message)
    }

    /// The reasons as one line each, for storage with the revision.
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| format!("{}: {}", r.phase, r.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The phase that decided first (the audit log's rule), if any.
    pub fn first_phase(&self) -> Option<&str> {
        self.reasons.first().map(|r| r.phase.as_str())
    }

    fn merge(&mut self, other: Decision) {
        self.verdict = self.verdict.max(other.verdict);
        self.reasons.extend(other.reasons);
    }
}

/// A site's moderation switches, kept as JSON in `sites.settings` under `policy`.
/// Missing fields take their defaults, which publish ordinary comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Hold every comment for a moderator.
    pub premoderate: bool,
    /// Hold comments that contain links.
    pub hold_links: bool,
    /// Hold the comments of authors with fewer than this many approved comments (0: off).
    pub hold_new_commenters: u32,
    /// Longest comment, in characters.
    pub max_chars: usize,
    /// More links than this is a spam signal: the comment is held.
    pub max_links: u32,
    /// Most comments an author may post per minute (0: no limit).
    pub rate_per_minute: u32,
    /// Most comments one network address may post per minute, whoever signs them
    /// (0: no limit). Counted by each node on its own.
    pub ip_rate_per_minute: u32,
    /// How long after posting an author may edit, in seconds (None: the server's
    /// `--edit-window-secs`).
    pub edit_window_secs: Option<u64>,
    /// Close a story to new comments this many days after it was published (0: never).
    pub auto_close_days: u32,
    /// Hold a comment whose body repeats the author's previous comment.
    pub hold_repeats: bool,
    /// Banned words and phrases (see `docs/WORDLISTS.md`): comments are rejected.
    pub banned: String,
    /// Suspect words and phrases: comments are held.
    pub suspect: String,
    /// Open reports that move a published comment to the Reported queue.
    pub report_threshold: u32,
    /// What happens to a reader's comments when they delete their account.
    pub on_account_delete: OnAccountDelete,
    /// Readers must confirm their email address (the link mailed on registration)
    /// before they can comment. Staff and single sign-on accounts are exempt.
    pub require_verified_email: bool,
}

/// What deleting an account does to its comments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnAccountDelete {
    /// Each comment becomes a tombstone (no text, no author); one with visible replies
    /// keeps its place in the thread, the others leave it.
    #[default]
    Tombstone,
    /// The comments are deleted; one that others replied to stays as a tombstone, so
    /// their replies keep their place.
    Remove,
}

impl OnAccountDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            OnAccountDelete::Tombstone => "tombstone",
            OnAccountDelete::Remove => "remove",
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            premoderate: false,
            hold_links: false,
            hold_new_commenters: 0,
            max_chars: 5_000,
            max_links: 5,
            rate_per_minute: 0,
            ip_rate_per_minute: 0,
            edit_window_secs: None,
            auto_close_days: 0,
            hold_repeats: true,
            banned: String::new(),
            suspect: String::new(),
            report_threshold: 1,
            on_account_delete: OnAccountDelete::Tombstone,
            require_verified_email: false,
        }
    }
}

/// A policy with its word lists parsed, ready to run.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: Policy,
    pub banned: WordList,
    pub suspect: WordList,
}

impl Rules {
    pub fn compile(policy: Policy) -> Result<Rules, WordListError> {
        let banned = WordList::parse(&policy.banned)?;
        let suspect = WordList::parse(&policy.suspect)?;
        Ok(Rules {
            policy,
            banned,
            suspect,
        })
    }
}

/// What the pipeline knows about the comment and its author, gathered by the caller.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The comment's text as written.
    pub body: &'a str,
    /// Whether this is an edit of an existing comment.
    pub is_edit: bool,
    pub now: i64,
    pub story_closed: bool,
    pub closed_message: Option<&'a str>,
    pub author_status: UserStatus,
    /// The author's comments that a moderator approved (published, ever).
    pub approved_count: i64,
    /// The author's comments posted in the last minute.
    pub recent_count: i64,
    /// Comments posted from the author's network address in the last minute.
    pub ip_recent_count: i64,
    /// The body of the author's most recent comment (other than the one edited).
    pub last_body: Option<&'a str>,
}

pub type Phase = fn(&Facts<'_>, &Rules) -> Decision;

/// The phases, in order, with their names.
pub const PHASES: [(&str, Phase); 7] = [
    ("story_open", story_open),
    ("author_status", author_status),
    ("rate_limit", rate_limit),
    ("length_format", length_format),
    ("banned_words", banned_words),
    ("spam_signals", spam_signals),
    ("site_policy", site_policy),
];

/// Runs every phase in order; the first reject ends the run.
pub fn run(facts: &Facts<'_>, rules: &Rules) -> Decision {
    let mut decision = Decision::publish();
    for (_, phase) in PHASES {
        decision.merge(phase(facts, rules));
        if decision.verdict == Verdict::Reject {
            break;
        }
    }
    decision
}

pub fn story_open(f: &Facts<'_>, _: &Rules) -> Decision {
    if f.story_closed {
        let msg = f
            .closed_message
            .filter(|m| !m.trim().is_empty())
            .unwrap_or("this story is closed for comments");
        Decision::reject("story_open", "story_closed", msg)
    } else {
        Decision::publish()
    }
}

pub fn author_status(f: &Facts<'_>, r: &Rules) -> Decision {
    const P: &str = "author_status";
    match f.author_status {
        UserStatus::Banned => Decision::reject(P, "banned", "your account is banned"),
        UserStatus::Suspended { until } if until > f.now => {
            Decision::reject(P, "suspended", "your account is suspended")
        }
        UserStatus::PreModerated => {
            Decision::hold(P, "premoderated", "the author's comments are pre-moderated")
        }
        _ if !f.is_edit
            && r.policy.hold_new_commenters > 0
            && f.approved_count < i64::from(r.policy.hold_new_commenters) =>
        {
            Decision::hold(
                P,
                "new_commenter",
                format!(
                    "new commenters' first {} comments are reviewed",
                    r.policy.hold_new_commenters
                ),
            )
        }
        _ => Decision::publish(),
    }
}

fn normalise_for_repeat(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub fn rate_limit(f: &Facts<'_>, r: &Rules) -> Decision {
    const P: &str = "rate_limit";
    if f.is_edit {
        return Decision::publish();
    }
    let rate = i64::from(r.policy.rate_per_minute);
    if rate > 0 && f.recent_count >= rate {
        return Decision::reject(
            P,
            "rate_limited",
            format!("you can post at most {rate} comments a minute; please wait a moment"),
        );
    }
    let ip_rate = i64::from(r.policy.ip_rate_per_minute);
    if ip_rate > 0 && f.ip_recent_count >= ip_rate {
        return Decision::reject(
            P,
            "rate_limited",
            "too many comments from your network in the last minute; please wait a moment",
        );
    }
    if r.policy.hold_repeats
        && let Some(last) = f.last_body
        && normalise_for_repeat(last) == normalise_for_repeat(f.body)
    {
        return Decision::hold(
            P,
            "repeat_post",
            "the same text as the author's last comment",
        );
    }
    Decision::publish()
}

pub fn length_format(f: &Facts<'_>, r: &Rules) -> Decision {
    const P: &str = "length_format";
    let chars = f.body.chars().count();
    if f.body.trim().is_empty() {
        return Decision::reject(P, "empty", "a comment needs some text");
    }
    if chars > r.policy.max_chars {
        return Decision::reject(
            P,
            "too_long",
            format!(
                "a comment has at most {} characters (this one has {chars})",
                r.policy.max_chars
            ),
        );
    }
    if !f.body.chars().any(char::is_alphanumeric) {
        return Decision::reject(P, "no_text", "a comment needs letters or digits");
    }
    Decision::publish()
}

pub fn banned_words(f: &Facts<'_>, r: &Rules) -> Decision {
    match r.banned.find(f.body) {
        Some(m) => Decision::reject(
            "banned_words",
            "banned_word",
            format!(
                "the comment contains a word that is not allowed here: \"{}\"",
                m.matched(f.body)
            ),
        ),
        None => Decision::publish(),
    }
}

/// Links in a text: `http://`, `https://` and `www.` occurrences.
pub fn count_links(text: &str) -> usize {
    let lower = text.to_lowercase();
    lower.matches("http://").count()
        + lower.matches("https://").count()
        + lower
            .match_indices("www.")
            .filter(|(i, _)| !lower[..*i].ends_with("//"))
            .count()
}

/// The longest run of one repeated non-space character.
fn longest_run(text: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for c in text.chars() {
        if Some(c) == prev && !c.is_whitespace() {
            run += 1;
        } else {
            run = 1;
        }
        prev = Some(c);
        best = best.max(run);
    }
    best
}

/// Characters in a row beyond which a repeated character is a spam signal.
pub const MAX_RUN: usize = 10;
/// Letters at or above which an all-capitals comment is a spam signal.
pub const CAPS_MIN_LETTERS: usize = 20;

pub fn spam_signals(f: &Facts<'_>, r: &Rules) -> Decision {
    const P: &str = "spam_signals";
    let mut d = Decision::publish();
    if let Some(m) = r.suspect.find(f.body) {
        d.merge(Decision::hold(
            P,
            "suspect_word",
            format!(
                "contains the suspect entry \"{}\" (\"{}\")",
                m.entry,
                m.matched(f.body)
            ),
        ));
    }
    let links = count_links(f.body);
    if links > r.policy.max_links as usize {
        d.merge(Decision::hold(
            P,
            "many_links",
            format!("{links} links (more than {})", r.policy.max_links),
        ));
    }
    let letters: Vec<char> = f.body.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= CAPS_MIN_LETTERS && letters.iter().all(|c| !c.is_lowercase()) {
        d.merge(Decision::hold(P, "all_caps", "written all in capitals"));
    }
    let run = longest_run(f.body);
    if run > MAX_RUN {
        d.merge(Decision::hold(
            P,
            "repeated_characters",
            format!("one character repeated {run} times"),
        ));
    }
    d
}

pub fn site_policy(f: &Facts<'_>, r: &Rules) -> Decision {
    const P: &str = "site_policy";
    if r.policy.premoderate {
        return Decision::hold(P, "premoderation", "this site reviews every comment");
    }
    if r.policy.hold_links && count_links(f.body) > 0 {
        return Decision::hold(P, "has_links", "comments with links are reviewed");
    }
    Decision::publish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(body: &str) -> Facts<'_> {
        Facts {
            body,
            is_edit: false,
            now: 1_000,
            story_closed: false,
            closed_message: None,
            author_status: UserStatus::Active,
            approved_count: 10,
            recent_count: 0,
            ip_recent_count: 0,
            last_body: None,
        }
    }

    fn rules(policy: Policy) -> Rules {
        Rules::compile(policy).unwrap_or_else(|e| panic!("{e}"))
    }

    fn codes(d: &Decision) -> Vec<&str> {
        d.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn the_default_policy_publishes_an_ordinary_comment() {
        let d = run(
            &facts("A fair point, well made."),
            &rules(Policy::default()),
        );
        assert_eq!(d, Decision::publish());
    }

    #[test]
    fn a_policy_reads_from_partial_json_and_refuses_unknown_fields() {
        let Ok(p) = serde_json::from_str::<Policy>(r#"{"premoderate": true}"#) else {
            panic!("a partial policy reads")
        };
        assert!(p.premoderate && p.max_chars == 5_000);
        assert!(serde_json::from_str::<Policy>(r#"{"premoderat": true}"#).is_err());
    }

    #[test]
    fn a_closed_story_rejects_with_its_message() {
        let mut f = facts("hi");
        f.story_closed = true;
        f.closed_message = Some("Closed after a week");
        let d = story_open(&f, &rules(Policy::default()));
        assert_eq!(d.verdict, Verdict::Reject);
        assert_eq!(d.reasons[0].message, "Closed after a week");
        f.closed_message = None;
        assert_eq!(
            codes(&story_open(&f, &rules(Policy::default()))),
            ["story_closed"]
        );
    }

    #[test]
    fn author_status_rejects_banned_and_suspended_and_holds_premoderated() {
        let r = rules(Policy::default());
        let mut f = facts("hi");
        f.author_status = UserStatus::Banned;
        assert_eq!(author_status(&f, &r).verdict, Verdict::Reject);
        f.author_status = UserStatus::Suspended { until: 2_000 };
        assert_eq!(codes(&author_status(&f, &r)), ["suspended"]);
        f.author_status = UserStatus::Suspended { until: 1_000 };
        assert_eq!(author_status(&f, &r).verdict, Verdict::Publish);
        f.author_status = UserStatus::PreModerated;
        assert_eq!(author_status(&f, &r).verdict, Verdict::Hold);
    }

    #[test]
    fn new_commenters_are_held_until_n_comments_are_approved() {
        let r = rules(Policy {
            hold_new_commenters: 3,
            ..Policy::default()
        });
        let mut f = facts("hi");
        f.approved_count = 2;
        assert_eq!(codes(&author_status(&f, &r)), ["new_commenter"]);
        f.approved_count = 3;
        assert_eq!(author_status(&f, &r).verdict, Verdict::Publish);
        f.approved_count = 0;
        assert_eq!(
            author_status(&f, &rules(Policy::default())).verdict,
            Verdict::Publish
        );
    }

    #[test]
    fn the_rate_limit_counts_recent_comments() {
        let r = rules(Policy {
            rate_per_minute: 3,
            ..Policy::default()
        });
        let mut f = facts("hi");
        f.recent_count = 2;
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Publish);
        f.recent_count = 3;
        assert_eq!(codes(&rate_limit(&f, &r)), ["rate_limited"]);
        f.is_edit = true;
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Publish);
        f.is_edit = false;
        f.recent_count = 100;
        assert_eq!(
            rate_limit(&f, &rules(Policy::default())).verdict,
            Verdict::Publish
        );
    }

    #[test]
    fn the_address_rate_limit_counts_every_author_on_it() {
        let r = rules(Policy {
            ip_rate_per_minute: 5,
            ..Policy::default()
        });
        let mut f = facts("hi");
        f.ip_recent_count = 4;
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Publish);
        f.ip_recent_count = 5;
        assert_eq!(codes(&rate_limit(&f, &r)), ["rate_limited"]);
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Reject);
        f.is_edit = true;
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Publish);
        f.is_edit = false;
        assert_eq!(
            rate_limit(&f, &rules(Policy::default())).verdict,
            Verdict::Publish
        );
    }

    #[test]
    fn a_repeat_of_the_last_comment_is_held() {
        let r = rules(Policy::default());
        let mut f = facts("Buy  my Book");
        f.last_body = Some("buy my book");
        assert_eq!(codes(&rate_limit(&f, &r)), ["repeat_post"]);
        f.last_body = Some("something else");
        assert_eq!(rate_limit(&f, &r).verdict, Verdict::Publish);
        let off = rules(Policy {
            hold_repeats: false,
            ..Policy::default()
        });
        f.last_body = Some("buy my book");
        assert_eq!(rate_limit(&f, &off).verdict, Verdict::Publish);
    }

    #[test]
    fn length_and_format_reject_empty_long_and_textless_comments() {
        let r = rules(Policy {
            max_chars: 10,
            ..Policy::default()
        });
        assert_eq!(codes(&length_format(&facts("  "), &r)), ["empty"]);
        assert_eq!(
            codes(&length_format(&facts("12345678901"), &r)),
            ["too_long"]
        );
        assert_eq!(
            length_format(&facts("1234567890"), &r).verdict,
            Verdict::Publish
        );
        assert_eq!(codes(&length_format(&facts("?!?! ..."), &r)), ["no_text"]);
    }

    #[test]
    fn banned_words_reject_through_spelling_tricks() {
        let r = rules(Policy {
            banned: "orc\n".into(),
            ..Policy::default()
        });
        let d = banned_words(&facts("You 0.r.c!"), &r);
        assert_eq!(codes(&d), ["banned_word"]);
        assert!(d.reasons[0].message.contains("0.r.c"));
        assert_eq!(
            banned_words(&facts("the orchestra"), &r).verdict,
            Verdict::Publish
        );
    }

    #[test]
    fn spam_signals_hold_suspect_words_links_caps_and_runs() {
        let r = rules(Policy {
            suspect: "crypto\n".into(),
            max_links: 1,
            ..Policy::default()
        });
        assert_eq!(
            codes(&spam_signals(&facts("buy CRYPTO now"), &r)),
            ["suspect_word"]
        );
        assert_eq!(
            codes(&spam_signals(
                &facts("see http://a.example and www.b.example"),
                &r
            )),
            ["many_links"]
        );
        assert_eq!(
            codes(&spam_signals(&facts("THIS IS OUTRAGEOUS AND WRONG!!"), &r)),
            ["all_caps"]
        );
        assert_eq!(spam_signals(&facts("OK BBC"), &r).verdict, Verdict::Publish);
        assert_eq!(
            codes(&spam_signals(&facts("noooooooooooooo"), &r)),
            ["repeated_characters"]
        );
        assert_eq!(spam_signals(&facts("nooooo"), &r).verdict, Verdict::Publish);
    }

    #[test]
    fn links_are_counted_once_each() {
        assert_eq!(count_links("https://www.example.com and www.x.org"), 2);
        assert_eq!(count_links("no links"), 0);
    }

    #[test]
    fn site_policy_holds_everything_or_links() {
        let pre = rules(Policy {
            premoderate: true,
            ..Policy::default()
        });
        assert_eq!(codes(&site_policy(&facts("hi"), &pre)), ["premoderation"]);
        let links = rules(Policy {
            hold_links: true,
            ..Policy::default()
        });
        assert_eq!(site_policy(&facts("hi"), &links).verdict, Verdict::Publish);
        assert_eq!(
            codes(&site_policy(&facts("see https://x.example"), &links)),
            ["has_links"]
        );
    }

    #[test]
    fn the_pipeline_stops_at_a_reject_and_gathers_holds() {
        let r = rules(Policy {
            premoderate: true,
            suspect: "crypto\n".into(),
            banned: "orc\n".into(),
            ..Policy::default()
        });
        let d = run(&facts("crypto tips"), &r);
        assert_eq!(d.verdict, Verdict::Hold);
        assert_eq!(codes(&d), ["suspect_word", "premoderation"]);
        assert_eq!(d.first_phase(), Some("spam_signals"));
        let mut f = facts("crypto orc");
        f.author_status = UserStatus::PreModerated;
        let d = run(&f, &r);
        assert_eq!(d.verdict, Verdict::Reject);
        assert_eq!(codes(&d), ["premoderated", "banned_word"]);
        assert!(d.reasons_text().contains("banned_words: "));
    }

    #[test]
    fn account_deletion_keeps_tombstones_unless_the_site_says_remove() {
        assert_eq!(
            Policy::default().on_account_delete,
            OnAccountDelete::Tombstone
        );
        let p = serde_json::from_str::<Policy>(r#"{"on_account_delete":"remove"}"#);
        assert_eq!(
            p.map(|p| p.on_account_delete).ok(),
            Some(OnAccountDelete::Remove)
        );
        assert_eq!(OnAccountDelete::Remove.as_str(), "remove");
        assert!(serde_json::from_str::<Policy>(r#"{"on_account_delete":"erase"}"#).is_err());
    }
}
