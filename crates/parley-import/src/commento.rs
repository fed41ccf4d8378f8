//! Commento's JSON export (version 1): `comments` (each names its page by `domain` and
//! `url` path, its parent by `parentHex` or "root", its author by `commenterHex` or
//! "anonymous") and then `commenters`. Commenters come after the comments, so the file
//! is walked twice: once for the commenters (comments skipped unread), once for the
//! comments. A story is a page's full address; Commento has no titles, so the address
//! is its headline too.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use serde::Deserialize;
use serde::de::MapAccess;

use crate::json::{
    Each, JsonItems, OneArray, Sink, Walk, anonymous, author, join, markdown_or_html, non_empty,
    skip, skip_bom, version, walk,
};
use crate::xml::rfc3339_ms;
use crate::{ParseError, Skip, SourceAuthor, SourceItem, SourcePost, SourceStatus, SourceThread};

const VERSION: u64 = 1;

/// Items of a Commento export, read on a thread of their own (see [`crate::json`]).
pub struct CommentoReader(JsonItems);

impl CommentoReader {
    /// `open` is called once per walk and must give the file from its start each time.
    /// `base_url` replaces `https://{domain}` in front of each comment's path.
    pub fn new<F, R>(mut open: F, base_url: Option<String>) -> Self
    where
        F: FnMut() -> std::io::Result<R> + Send + 'static,
        R: BufRead,
    {
        CommentoReader(JsonItems::spawn("commento-reader", move |sink| {
            let mut reopen = || {
                open()
                    .and_then(skip_bom)
                    .map_err(|e| ParseError::new(0, format!("reading the file: {e}")))
            };
            let mut first = Commenters::default();
            walk(reopen()?, "Commento", &mut first)?;
            // Another version was refused where the first walk met it.
            if first.version.is_none() {
                return Err(ParseError::new(
                    1,
                    "no \"version\": not a Commento export (its top object has version, comments, commenters)",
                ));
            }
            let mut second = Comments {
                sink,
                authors: first.authors,
                base_url: base_url.map(|b| b.trim().trim_end_matches('/').to_owned()),
                seen: HashSet::new(),
            };
            let mut comments =
                OneArray::new("comments", sink, |line, c: Comment| second.comment(line, c));
            walk(reopen()?, "Commento", &mut comments)
        }))
    }
}

impl Iterator for CommentoReader {
    type Item = Result<SourceItem, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commenter {
    commenter_hex: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    comment_hex: Option<String>,
    domain: Option<String>,
    url: Option<String>,
    commenter_hex: Option<String>,
    markdown: Option<String>,
    html: Option<String>,
    parent_hex: Option<String>,
    state: Option<String>,
    creation_date: Option<String>,
    deleted: Option<bool>,
}

/// First walk: the version and every commenter, by hex.
#[derive(Default)]
struct Commenters {
    version: Option<u64>,
    authors: HashMap<String, SourceAuthor>,
}

impl Walk for Commenters {
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        lines: &std::rc::Rc<std::cell::Cell<u64>>,
    ) -> Result<(), A::Error> {
        match key {
            "version" => {
                self.version = Some(version(map, "Commento", VERSION)?);
                Ok(())
            }
            "commenters" => {
                let authors = &mut self.authors;
                map.next_value_seed(Each::new(lines, None, |_, c: Commenter| {
                    if let Some(hex) = non_empty(c.commenter_hex) {
                        authors.insert(hex.clone(), author(c.name, c.email, Some(hex)));
                    }
                    Ok(())
                }))
            }
            _ => skip(map),
        }
    }
}

/// Second walk: the comments, each with its story the first time that story is met.
struct Comments<'a> {
    sink: &'a Sink,
    authors: HashMap<String, SourceAuthor>,
    base_url: Option<String>,
    /// Story addresses sent so far.
    seen: HashSet<String>,
}

impl Comments<'_> {
    fn comment(&mut self, line: u64, c: Comment) -> Result<(), String> {
        let Some(key) = non_empty(c.comment_hex) else {
            return self.sink.send(SourceItem::Skipped(Skip::new(
                line,
                "a comment without commentHex",
            )));
        };
        let path = non_empty(c.url).unwrap_or_default();
        let url = if path.contains("://") {
            path
        } else {
            match (&self.base_url, non_empty(c.domain)) {
                (Some(base), _) => join(base, &path),
                (None, Some(domain)) => join(&format!("https://{domain}"), &path),
                (None, None) => {
                    return self.sink.send(SourceItem::Skipped(Skip::new(
                        line,
                        format!("comment {key}: no domain to make its page's address from (give --base-url)"),
                    )));
                }
            }
        };
        if !self.seen.contains(&url) {
            self.seen.insert(url.clone());
            self.sink.send(SourceItem::Thread(SourceThread {
                key: url.clone(),
                url: url.clone(),
                title: url.clone(),
                created_at: None,
                closed: false,
                line,
            }))?;
        }
        let status = if c.deleted.unwrap_or(false) {
            SourceStatus::Deleted
        } else {
            match c.state.as_deref().map(str::trim) {
                Some("flagged") => SourceStatus::Spam,
                Some("unapproved") => SourceStatus::Unapproved,
                _ => SourceStatus::Approved,
            }
        };
        let author = match non_empty(c.commenter_hex) {
            Some(hex) if hex != "anonymous" => {
                self.authors.get(&hex).cloned().unwrap_or_else(anonymous)
            }
            _ => anonymous(),
        };
        self.sink.send(SourceItem::Post(SourcePost {
            key,
            thread_key: url,
            parent_key: non_empty(c.parent_hex).filter(|p| p != "root"),
            author,
            message: markdown_or_html(status, c.markdown, c.html),
            created_at: c.creation_date.as_deref().and_then(rfc3339_ms),
            status,
            featured: false,
            line,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::plan::{PlannedComment, PlannedItem, plan_all};
    use crate::{Source, body};
    use parley_core::thread::CommentStatus;

    const FIXTURE: &str = include_str!("../tests/fixtures/commento.json");

    fn read(json: &'static str, base: Option<&str>) -> Result<Vec<SourceItem>, ParseError> {
        CommentoReader::new(
            move || Ok(std::io::Cursor::new(json.as_bytes())),
            base.map(str::to_owned),
        )
        .collect()
    }

    fn comments(planned: &[PlannedItem]) -> Vec<&PlannedComment> {
        planned
            .iter()
            .filter_map(|p| match p {
                PlannedItem::Comment(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fixture_items() {
        let items = read(FIXTURE, None).unwrap();
        let threads: Vec<&SourceThread> = items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Thread(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(threads.len(), 2);
        assert_eq!(threads[0].key, "https://harbour.example/2025/ferry-vote");
        assert_eq!(threads[0].url, threads[0].key);
        assert_eq!(threads[0].title, threads[0].key);
        assert_eq!(threads[0].line, 4);
        assert_eq!(threads[1].url, "https://harbour.example/2025/market-hall");
        let posts: Vec<&SourcePost> = items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Post(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(posts.len(), 12);
        let p = |k: &str| *posts.iter().find(|p| p.key == k).unwrap();
        assert_eq!(p("c1").parent_key, None);
        assert_eq!(p("c2").parent_key.as_deref(), Some("c1"));
        assert_eq!(p("c1").author.name, "Morag Bell");
        assert_eq!(p("c1").author.email.as_deref(), Some("morag@example.org"));
        assert_eq!(p("c1").created_at, Some(1_741_082_400_000));
        assert_eq!(p("c2").created_at, Some(1_741_082_700_500));
        assert_eq!(p("c1").line, 4);
        assert_eq!(p("c2").line, 17);
        assert_eq!(p("c4").status, SourceStatus::Deleted);
        assert_eq!(p("c4").message, "");
        assert_eq!(p("c8").status, SourceStatus::Spam);
        assert_eq!(p("c9").status, SourceStatus::Unapproved);
        for anon in ["c5", "c11", "c12"] {
            let a = &p(anon).author;
            assert_eq!((a.name.as_str(), a.email.as_deref()), ("Anonymous", None));
            assert_eq!(a.key(), "name:anonymous");
        }
        // A commenter without name or email: Anonymous, told apart by its hex.
        let empty = &p("c10").author;
        assert_eq!(
            (empty.name.as_str(), empty.email.as_deref()),
            ("Anonymous", None)
        );
        assert_eq!(empty.key(), "user:ddd4");
        // The html only when the markdown is empty, and sanitised.
        assert_eq!(p("c11").message, "Only **HTML** here");
        assert!(p("c10").message.contains("<script>"), "the source is kept");
    }

    #[test]
    fn fixture_plan() {
        let planned = plan_all(Source::Commento, read(FIXTURE, None).unwrap());
        let c = comments(&planned);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "c1", "c2", "c3", "c4", "c5", "c7", "c8", "c9", "c10", "c11", "c12"
            ]
        );
        let by = |k: &str| *c.iter().find(|c| c.key == k).unwrap();
        assert_eq!(by("c3").parent_key.as_deref(), Some("c2"));
        assert_eq!(by("c4").status, CommentStatus::Deleted);
        assert_eq!(by("c5").parent_key.as_deref(), Some("c4"));
        assert_eq!(by("c7").missing_parent.as_deref(), Some("c999"));
        assert_eq!(by("c7").parent_key, None);
        assert_eq!(by("c8").status, CommentStatus::Rejected);
        assert_eq!(by("c9").status, CommentStatus::Pending);
        assert_eq!(by("c1").expected_replies, 1);
        assert_eq!(
            by("c2").body.src,
            "Ça va — 日本語 ✓ Привет, the fares will tell."
        );
        assert_eq!(
            by("c1").body.html,
            "<p>Good news for the <strong>island</strong> at last.</p>\n"
        );
        let bad = &by("c10").body.html;
        assert!(
            !bad.contains("<script") && !bad.contains("<a href=\"javascript"),
            "{bad}"
        );
        assert!(bad.contains("&lt;script&gt;"), "{bad}");
        let from_html = &by("c11").body;
        assert_eq!(
            *from_html,
            body::from_html(
                "<p>Only <b>HTML</b> here<script>alert(3)</script><img src=x onerror=alert(4)></p>"
            )
        );
        for bad in ["script", "alert", "<img", "onerror"] {
            assert!(!from_html.html.contains(bad), "{}", from_html.html);
        }
        assert!(planned.iter().any(|p| matches!(p,
            PlannedItem::Skip(s) if s.reason == "post c6: deleted, and nothing replies to it")));
    }

    #[test]
    fn base_url_replaces_the_domain() {
        let items = read(FIXTURE, Some("http://localhost:8080/")).unwrap();
        let SourceItem::Thread(t) = &items[0] else {
            panic!("{:?}", items[0])
        };
        assert_eq!(t.url, "http://localhost:8080/2025/ferry-vote");
        let SourceItem::Post(p) = &items[1] else {
            panic!()
        };
        assert_eq!(p.thread_key, t.key);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = read(
            "{\n  \"version\": 1,\n  \"comments\": [\n    {\"commentHex\": \"a\",}\n  ]\n}",
            None,
        )
        .unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(err.message.starts_with("column 24:"), "{err}");
        // Truncated.
        let err = read(
            "{\"version\": 1, \"comments\": [{\"commentHex\": \"a\"",
            None,
        )
        .unwrap_err();
        assert!(err.message.contains("ends inside"), "{err}");
        // Broken commenters, after comments that parse: still no item at all.
        let items: Vec<_> = CommentoReader::new(
            || {
                Ok(std::io::Cursor::new(
                    &b"{\"version\":1,\"comments\":[{\"commentHex\":\"a\",\"url\":\"/x\",\"domain\":\"d.example\"}],\n\"commenters\": [{]}"[..],
                ))
            },
            None,
        )
        .collect();
        assert_eq!(items.len(), 1, "{items:?}");
        let err = items[0].as_ref().unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        // Not an object, and garbage after the object.
        assert!(
            read("[1, 2]", None)
                .unwrap_err()
                .message
                .contains("a Commento export")
        );
        assert!(
            read("{\"version\":1} x", None)
                .unwrap_err()
                .message
                .contains("trailing")
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let items = read("\u{feff}{\"version\": 1, \"comments\": [{\"commentHex\": \"a\", \"url\": \"/x\", \"domain\": \"d.example\", \"markdown\": \"Hi\"}]}", None).unwrap();
        assert_eq!(items.len(), 2, "{items:?}");
    }

    #[test]
    fn versions() {
        let err = read("{\"version\": 2, \"comments\": []}", None).unwrap_err();
        assert!(err.message.contains("version 2 is not supported"), "{err}");
        let err = read("{\"comments\": []}", None).unwrap_err();
        assert!(err.message.contains("no \"version\""), "{err}");
        assert_eq!(read("{\"version\": 1}", None).unwrap(), []);
        assert_eq!(
            read(
                "{\"version\": 1, \"comments\": null, \"commenters\": null}",
                None
            )
            .unwrap(),
            []
        );
    }

    #[test]
    fn stopping_early_ends_the_thread() {
        let mut json = String::from("{\"version\": 1, \"comments\": [");
        for i in 0..2000 {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                "{{\"commentHex\": \"h{i}\", \"domain\": \"d.example\", \"url\": \"/a\", \"markdown\": \"x\"}}"
            ));
        }
        json.push_str("]}");
        let bytes = std::sync::Arc::new(json.into_bytes());
        let held = bytes.clone();
        let mut r = CommentoReader::new(
            move || Ok(std::io::Cursor::new(held.as_slice().to_vec())),
            None,
        );
        assert!(matches!(r.next(), Some(Ok(SourceItem::Thread(_)))));
        // The reader is blocked on a full queue; dropping the iterator lets it end, and
        // with it the opener that holds the other reference.
        drop(r);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::sync::Arc::strong_count(&bytes) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the reader thread kept running"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
