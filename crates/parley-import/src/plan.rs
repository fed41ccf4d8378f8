//! Two passes over a Disqus or WordPress source. The first ([`Scan`]) keeps, per post, a
//! hash of its key, its thread, whether anything replies to it and how many approved
//! posts do; per thread, its
//! fields. The second ([`Plan`]) turns items into records ready to store: stories before
//! their first comment, parents before their children (a reply met before its parent
//! waits for it), deleted posts kept as tombstones only when something replies to them,
//! replies to posts that are not in the export marked as orphans.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use parley_core::thread::CommentStatus;

use crate::body::{self, Body};
use crate::{Source, SourceItem, SourcePost, SourceStatus, SourceThread};

/// Something left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub line: u64,
    pub reason: String,
}

impl Skip {
    pub fn new(line: u64, reason: impl Into<String>) -> Self {
        Skip {
            line,
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStory {
    pub key: String,
    pub url: String,
    pub headline: String,
    pub standfirst: String,
    pub body_md: String,
    pub published_at: Option<i64>,
    pub picture_caption: Option<String>,
    pub picture_credit: Option<String>,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAuthor {
    /// Identifies the author within the source (see [`crate::SourceAuthor::key`]).
    pub key: String,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedComment {
    pub key: String,
    pub story_key: String,
    pub parent_key: Option<String>,
    /// The parent the export names but does not hold: the comment goes top-level.
    pub missing_parent: Option<String>,
    pub author: PlannedAuthor,
    pub body: Body,
    pub status: CommentStatus,
    pub featured: bool,
    pub created_at: Option<i64>,
    pub line: u64,
    /// Approved posts in the source that name this one as their parent: a forecast of
    /// its reply count, so the store can write the row once (see `ImportComment`).
    pub expected_replies: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedItem {
    Story(PlannedStory),
    Comment(PlannedComment),
    Skip(Skip),
}

const EXISTS: u8 = 1;
const HAS_REPLY: u8 = 2;
const DONE: u8 = 4;
const KEPT: u8 = 8;

#[derive(Clone, Copy)]
struct PostInfo {
    flags: u8,
    thread: u32,
    /// Approved posts naming this one as their parent (a forecast only, so a u16 that
    /// stops at its top keeps the entry at 16 bytes with its key).
    replies: u16,
}

struct ThreadInfo {
    thread: Option<SourceThread>,
    posts: u32,
    story_out: bool,
}

/// What the first pass learns.
#[derive(Default)]
pub struct Scan {
    thread_index: HashMap<String, u32>,
    threads: Vec<ThreadInfo>,
    posts: HashMap<u64, PostInfo>,
}

fn hash_key(key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl Scan {
    pub fn new() -> Self {
        Self::default()
    }

    fn thread_idx(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.thread_index.get(key) {
            return i;
        }
        let i = self.threads.len() as u32;
        self.threads.push(ThreadInfo {
            thread: None,
            posts: 0,
            story_out: false,
        });
        self.thread_index.insert(key.to_owned(), i);
        i
    }

    pub fn add(&mut self, item: &SourceItem) {
        match item {
            SourceItem::Thread(t) => {
                let i = self.thread_idx(&t.key) as usize;
                if self.threads[i].thread.is_none() {
                    self.threads[i].thread = Some(t.clone());
                }
            }
            SourceItem::Post(p) => {
                let thread = self.thread_idx(&p.thread_key);
                self.threads[thread as usize].posts += 1;
                let info = self.posts.entry(hash_key(&p.key)).or_insert(PostInfo {
                    flags: 0,
                    thread,
                    replies: 0,
                });
                if info.flags & EXISTS == 0 {
                    info.thread = thread;
                }
                info.flags |= EXISTS;
                if let Some(parent) = &p.parent_key {
                    let parent = self.posts.entry(hash_key(parent)).or_insert(PostInfo {
                        flags: 0,
                        thread,
                        replies: 0,
                    });
                    parent.flags |= HAS_REPLY;
                    if p.status == SourceStatus::Approved {
                        parent.replies = parent.replies.saturating_add(1);
                    }
                }
            }
            SourceItem::Skipped(_) => {}
        }
    }
}

/// The second pass.
pub struct Plan {
    source: Source,
    scan: Scan,
    /// Replies met before their parent, by the parent's key.
    waiting: HashMap<String, Vec<SourcePost>>,
}

impl Plan {
    pub fn new(source: Source, scan: Scan) -> Self {
        Plan {
            source,
            scan,
            waiting: HashMap::new(),
        }
    }

    pub fn push(&mut self, item: SourceItem, out: &mut Vec<PlannedItem>) {
        match item {
            SourceItem::Thread(t) => {
                let Some(&i) = self.scan.thread_index.get(&t.key) else {
                    return;
                };
                let info = &self.scan.threads[i as usize];
                if info.posts == 0 {
                    out.push(PlannedItem::Skip(Skip::new(
                        t.line,
                        format!("thread {}: no comments", t.key),
                    )));
                } else if t.url.is_empty() {
                    out.push(PlannedItem::Skip(Skip::new(
                        t.line,
                        format!(
                            "thread {}: no link, so its {} comments have no story",
                            t.key, info.posts
                        ),
                    )));
                }
            }
            SourceItem::Post(p) => self.post(p, out),
            SourceItem::Skipped(s) => out.push(PlannedItem::Skip(s)),
        }
    }

    /// Replies still waiting (their parent never came: a cycle) go top-level.
    pub fn finish(&mut self, out: &mut Vec<PlannedItem>) {
        let waiting: Vec<SourcePost> = self.waiting.drain().flat_map(|(_, v)| v).collect();
        for mut p in waiting {
            let parent = p.parent_key.take();
            self.emit(p, parent, out);
        }
    }

    fn post(&mut self, p: SourcePost, out: &mut Vec<PlannedItem>) {
        let h = hash_key(&p.key);
        let info = self.scan.posts.get(&h).copied();
        if info.is_some_and(|i| i.flags & DONE != 0) {
            out.push(PlannedItem::Skip(Skip::new(
                p.line,
                format!("post {}: appears twice", p.key),
            )));
            return;
        }
        let thread = self
            .scan
            .thread_index
            .get(&p.thread_key)
            .map(|&i| &self.scan.threads[i as usize]);
        let reason = match thread.map(|t| t.thread.as_ref()) {
            None | Some(None) => Some(format!(
                "post {}: its thread {} is not in the export",
                p.key, p.thread_key
            )),
            Some(Some(t)) if t.url.is_empty() => Some(format!(
                "post {}: its thread {} has no link",
                p.key, p.thread_key
            )),
            _ => None,
        };
        let has_reply = info.is_some_and(|i| i.flags & HAS_REPLY != 0);
        let reason = reason.or_else(|| {
            (p.status == SourceStatus::Deleted && !has_reply)
                .then(|| format!("post {}: deleted, and nothing replies to it", p.key))
        });
        if let Some(reason) = reason {
            self.mark(h, DONE);
            out.push(PlannedItem::Skip(Skip::new(p.line, reason)));
            self.release(&p.key, out);
            return;
        }
        let mut missing = None;
        if let Some(parent) = p.parent_key.clone() {
            let own_thread = info.map(|i| i.thread);
            match self.scan.posts.get(&hash_key(&parent)).copied() {
                Some(pi) if pi.flags & EXISTS != 0 && Some(pi.thread) == own_thread => {
                    if pi.flags & DONE == 0 {
                        self.waiting.entry(parent).or_default().push(p);
                        return;
                    }
                    if pi.flags & KEPT == 0 {
                        missing = Some(parent);
                    }
                }
                _ => missing = Some(parent),
            }
        }
        if missing.is_some() {
            let mut p = p;
            p.parent_key = None;
            self.emit(p, missing, out);
        } else {
            self.emit(p, None, out);
        }
    }

    fn mark(&mut self, h: u64, flag: u8) {
        if let Some(i) = self.scan.posts.get_mut(&h) {
            i.flags |= flag;
        }
    }

    fn release(&mut self, key: &str, out: &mut Vec<PlannedItem>) {
        if let Some(children) = self.waiting.remove(key) {
            for child in children {
                self.post(child, out);
            }
        }
    }

    fn emit(&mut self, p: SourcePost, missing_parent: Option<String>, out: &mut Vec<PlannedItem>) {
        if let Some(&i) = self.scan.thread_index.get(&p.thread_key) {
            let info = &mut self.scan.threads[i as usize];
            if !info.story_out
                && let Some(t) = &info.thread
            {
                info.story_out = true;
                out.push(PlannedItem::Story(story_of(t)));
            }
        }
        let h = hash_key(&p.key);
        self.mark(h, DONE | KEPT);
        let expected_replies = self.scan.posts.get(&h).map_or(0, |i| u32::from(i.replies));
        let key = p.key.clone();
        out.push(PlannedItem::Comment(comment_of(
            self.source,
            p,
            missing_parent,
            expected_replies,
        )));
        self.release(&key, out);
    }
}

fn story_of(t: &SourceThread) -> PlannedStory {
    PlannedStory {
        key: t.key.clone(),
        url: t.url.clone(),
        headline: if t.title.trim().is_empty() {
            t.url.clone()
        } else {
            t.title.trim().to_owned()
        },
        standfirst: String::new(),
        body_md: String::new(),
        published_at: t.created_at,
        picture_caption: None,
        picture_credit: None,
        closed: t.closed,
    }
}

/// A display name fit for Parley: spaces collapsed, no control or invisible characters,
/// at most 40 characters; "Anonymous" when nothing is left.
pub fn display_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}')
        })
        .collect();
    let name: String = cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(parley_core::DisplayName::MAX_CHARS)
        .collect();
    let name = name.trim().to_owned();
    if name.is_empty() {
        "Anonymous".to_owned()
    } else {
        name
    }
}

fn comment_of(
    source: Source,
    p: SourcePost,
    missing_parent: Option<String>,
    expected_replies: u32,
) -> PlannedComment {
    let status = match p.status {
        SourceStatus::Approved => CommentStatus::Published,
        SourceStatus::Unapproved => CommentStatus::Pending,
        SourceStatus::Spam => CommentStatus::Rejected,
        SourceStatus::Deleted => CommentStatus::Deleted,
    };
    let body = match (status, source) {
        (CommentStatus::Deleted, _) => Body {
            src: String::new(),
            html: String::new(),
        },
        (_, Source::Wordpress) => body::from_text_with_html(&p.message),
        (_, Source::Text) => body::from_plain_text(&p.message),
        (_, Source::Disqus) => body::from_html(&p.message),
        (_, Source::Commento | Source::Comentario) => body::from_markdown(&p.message),
    };
    PlannedComment {
        author: PlannedAuthor {
            key: p.author.key(),
            name: display_name(&p.author.name),
            email: p.author.email.clone(),
        },
        key: p.key,
        story_key: p.thread_key,
        parent_key: p.parent_key,
        missing_parent,
        body,
        status,
        featured: p.featured,
        created_at: p.created_at,
        line: p.line,
        expected_replies,
    }
}

/// Runs both passes over an in-memory list of items (tests, small files).
pub fn plan_all(source: Source, items: Vec<SourceItem>) -> Vec<PlannedItem> {
    let mut scan = Scan::new();
    for item in &items {
        scan.add(item);
    }
    let mut plan = Plan::new(source, scan);
    let mut out = Vec::new();
    for item in items {
        plan.push(item, &mut out);
    }
    plan.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::SourceAuthor;
    use proptest::prelude::*;

    fn thread(key: &str) -> SourceItem {
        SourceItem::Thread(SourceThread {
            key: key.into(),
            url: format!("https://news.example/{key}"),
            title: format!("Story {key}"),
            created_at: None,
            closed: false,
            line: 1,
        })
    }

    fn post(key: &str, thread: &str, parent: Option<&str>, status: SourceStatus) -> SourceItem {
        SourceItem::Post(SourcePost {
            key: key.into(),
            thread_key: thread.into(),
            parent_key: parent.map(Into::into),
            author: SourceAuthor {
                name: "Ann".into(),
                ..Default::default()
            },
            message: format!("<p>{key}</p>"),
            created_at: None,
            status,
            featured: false,
            line: 2,
        })
    }

    fn shape(items: &[PlannedItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                PlannedItem::Story(s) => format!("story {}", s.key),
                PlannedItem::Comment(c) => format!(
                    "{}<{}{}:{}",
                    c.key,
                    c.parent_key.as_deref().unwrap_or("-"),
                    c.missing_parent
                        .as_deref()
                        .map(|m| format!("!{m}"))
                        .unwrap_or_default(),
                    c.status.as_str()
                ),
                PlannedItem::Skip(s) => format!("skip {}", s.reason),
            })
            .collect()
    }

    use SourceStatus::*;

    #[test]
    fn parents_first_tombstones_orphans_and_skips() {
        let items = vec![
            thread("t1"),
            thread("t2"),
            post("c", "t1", Some("b"), Approved),
            post("a", "t1", None, Approved),
            post("b", "t1", Some("a"), Spam),
            post("d", "t1", None, Deleted),
            post("e", "t1", None, Deleted),
            post("f", "t1", Some("d"), Unapproved),
            post("g", "t1", Some("zz"), Approved),
            post("h", "t9", None, Approved),
        ];
        let got = shape(&plan_all(Source::Disqus, items));
        assert_eq!(
            got,
            [
                "skip thread t2: no comments",
                "story t1",
                "a<-:published",
                "b<a:rejected",
                "c<b:published",
                "d<-:deleted",
                "skip post e: deleted, and nothing replies to it",
                "f<d:pending",
                "g<-!zz:published",
                "skip post h: its thread t9 is not in the export",
            ]
        );
    }

    #[test]
    fn a_reply_to_a_post_of_another_thread_is_an_orphan() {
        let items = vec![
            thread("t1"),
            thread("t2"),
            post("a", "t1", None, Approved),
            post("b", "t2", Some("a"), Approved),
        ];
        let got = shape(&plan_all(Source::Disqus, items));
        assert_eq!(
            got,
            ["story t1", "a<-:published", "story t2", "b<-!a:published"]
        );
    }

    #[test]
    fn cycles_end_up_top_level() {
        let items = vec![
            thread("t"),
            post("a", "t", Some("b"), Approved),
            post("b", "t", Some("a"), Approved),
        ];
        let got = plan_all(Source::Disqus, items);
        let comments = got
            .iter()
            .filter(|i| matches!(i, PlannedItem::Comment(_)))
            .count();
        assert_eq!(comments, 2, "{got:?}");
    }

    #[test]
    fn reply_counts_are_forecast_from_approved_replies() {
        let items = vec![
            thread("t"),
            post("b1", "t", Some("a"), Approved),
            post("a", "t", None, Approved),
            post("b2", "t", Some("a"), Approved),
            post("b3", "t", Some("a"), Spam),
            post("c1", "t", Some("b1"), Unapproved),
        ];
        let mut forecasts: Vec<(String, u32)> = plan_all(Source::Disqus, items)
            .into_iter()
            .filter_map(|i| match i {
                PlannedItem::Comment(c) => Some((c.key, c.expected_replies)),
                _ => None,
            })
            .collect();
        forecasts.sort();
        let expected = [("a", 2), ("b1", 0), ("b2", 0), ("b3", 0), ("c1", 0)];
        assert_eq!(
            forecasts,
            expected.map(|(k, n)| (k.to_owned(), n)),
            "a reply met before its parent counts too; spam and pending do not"
        );
    }

    #[test]
    fn display_names_are_cleaned() {
        assert_eq!(display_name("  Ann\u{200b}  \tLee "), "Ann Lee");
        assert_eq!(display_name(""), "Anonymous");
        assert_eq!(display_name(&"x".repeat(60)).chars().count(), 40);
    }

    proptest! {
        /// Whatever order a file lists posts in, each kept comment comes after its parent,
        /// and every post is either kept or skipped, exactly once.
        #[test]
        fn parents_always_come_first(parents in proptest::collection::vec(proptest::option::of(0usize..30), 1..30),
                                     order in Just((0..30).collect::<Vec<usize>>()).prop_shuffle()) {
            let n = parents.len();
            let mut items = vec![thread("t")];
            for &i in order.iter().filter(|&&i| i < n) {
                let parent = parents[i].filter(|&p| p < n && p != i).map(|p| p.to_string());
                items.push(post(&i.to_string(), "t", parent.as_deref(), Approved));
            }
            let out = plan_all(Source::Disqus, items);
            let mut seen = std::collections::HashSet::new();
            let mut count = 0;
            for item in &out {
                if let PlannedItem::Comment(c) = item {
                    count += 1;
                    if let Some(p) = &c.parent_key {
                        prop_assert!(seen.contains(p), "{} before its parent {}", c.key, p);
                    }
                    prop_assert!(seen.insert(c.key.clone()));
                }
            }
            prop_assert_eq!(count, n);
        }
    }
}
