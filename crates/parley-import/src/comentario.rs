//! Comentario's native export (version 3), plain JSON or gzip (told apart by the gzip
//! magic bytes): `pages` (id, path, title, isReadonly), `comments` (id, pageId,
//! parentId, markdown, html, isApproved/isPending/isDeleted/isSticky, userCreated) and
//! `commenters` (id, email, name). The file is walked twice: once for the pages, the
//! commenters and the first comment's address (comments otherwise skipped unread), once
//! for the comments. Pages become stories (keyed by page id) at `base + path`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::{
    Each, JsonItems, OneArray, Sink, Walk, anonymous, author, join, markdown_or_html, non_empty,
    origin, skip, skip_bom, version, walk,
};
use crate::xml::rfc3339_ms;
use crate::{ParseError, Skip, SourceAuthor, SourceItem, SourcePost, SourceStatus, SourceThread};

const VERSION: u64 = 3;
/// What Comentario writes for "nobody" in a user id.
const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// Items of a Comentario export, read on a thread of their own.
pub struct ComentarioReader(JsonItems);

impl ComentarioReader {
    /// `open` is called once per walk and must give the file from its start each time.
    /// Stories are at `base_url` + page path; without `base_url`, at the origin of the
    /// first comment's `url`, and the reader fails when no comment has one.
    pub fn new<F, R>(mut open: F, base_url: Option<String>) -> Self
    where
        F: FnMut() -> std::io::Result<R> + Send + 'static,
        R: BufRead + 'static,
    {
        ComentarioReader(JsonItems::spawn("comentario-reader", move |sink| {
            let mut reopen = || -> Result<Box<dyn BufRead>, ParseError> {
                open()
                    .and_then(gunzip)
                    .and_then(skip_bom)
                    .map_err(|e| ParseError::new(0, format!("reading the file: {e}")))
            };
            let mut first = First::default();
            walk(reopen()?, "Comentario", &mut first)?;
            if first.version.is_none() {
                return Err(ParseError::new(
                    1,
                    "no \"version\": not a Comentario export (its top object has version, pages, comments, commenters)",
                ));
            }
            let base = match non_empty(base_url) {
                Some(base) => base.trim_end_matches('/').to_owned(),
                None => match first.first_url.as_deref().and_then(origin) {
                    Some(o) => o.to_owned(),
                    None => {
                        return Err(ParseError::new(
                            1,
                            "no comment has a url to take the site's address from: give it with --base-url (e.g. --base-url https://news.example)",
                        ));
                    }
                },
            };
            for (line, page) in &first.pages {
                sink.send(SourceItem::Thread(SourceThread {
                    key: page.id.clone(),
                    url: join(&base, &page.path),
                    title: page.title.clone(),
                    created_at: page.created.as_deref().and_then(rfc3339_ms),
                    closed: page.readonly,
                    line: *line,
                }))
                .map_err(|m| ParseError::new(*line, m))?;
            }
            let mut second = Comments {
                sink,
                authors: first.authors,
            };
            let mut comments =
                OneArray::new("comments", sink, |line, c: Comment| second.comment(line, c));
            walk(reopen()?, "Comentario", &mut comments)
        }))
    }
}

impl Iterator for ComentarioReader {
    type Item = Result<SourceItem, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

/// Gzip (by its magic bytes) decompressed as it is read; anything else as it is.
fn gunzip<R: BufRead + 'static>(mut input: R) -> std::io::Result<Box<dyn BufRead>> {
    let gz = input.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gz {
        Ok(Box::new(BufReader::new(
            flate2::bufread::MultiGzDecoder::new(input),
        )))
    } else {
        Ok(Box::new(input))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageIn {
    id: Option<String>,
    path: Option<String>,
    title: Option<String>,
    created_time: Option<String>,
    is_readonly: Option<bool>,
}

struct Page {
    id: String,
    path: String,
    title: String,
    created: Option<String>,
    readonly: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commenter {
    id: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    id: Option<String>,
    page_id: Option<String>,
    parent_id: Option<String>,
    markdown: Option<String>,
    html: Option<String>,
    is_approved: Option<bool>,
    is_pending: Option<bool>,
    is_deleted: Option<bool>,
    is_sticky: Option<bool>,
    created_time: Option<String>,
    user_created: Option<String>,
    /// The name an unregistered commenter gave, when the export has it.
    author_name: Option<String>,
}

/// First walk: version, pages, commenters, and the first comment address.
#[derive(Default)]
struct First {
    version: Option<u64>,
    pages: Vec<(u64, Page)>,
    authors: HashMap<String, SourceAuthor>,
    first_url: Option<String>,
}

/// The `url` of the first comment that has one; every other comment skipped unread.
struct FirstUrl<'a>(&'a mut Option<String>);

#[derive(Deserialize)]
struct UrlOnly {
    url: Option<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for FirstUrl<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstUrl<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of comments")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while self.0.is_none() {
            match seq.next_element::<UrlOnly>()? {
                Some(c) => *self.0 = non_empty(c.url),
                None => return Ok(()),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

impl Walk for First {
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        lines: &std::rc::Rc<std::cell::Cell<u64>>,
    ) -> Result<(), A::Error> {
        match key {
            "version" => {
                self.version = Some(version(map, "Comentario", VERSION)?);
                Ok(())
            }
            "pages" => {
                let pages = &mut self.pages;
                map.next_value_seed(Each::new(lines, None, |line, p: PageIn| {
                    let Some(id) = non_empty(p.id) else {
                        return Err("a page without id".to_owned());
                    };
                    pages.push((
                        line,
                        Page {
                            id,
                            path: p.path.unwrap_or_default(),
                            title: p.title.unwrap_or_default(),
                            created: p.created_time,
                            readonly: p.is_readonly.unwrap_or(false),
                        },
                    ));
                    Ok(())
                }))
            }
            "commenters" => {
                let authors = &mut self.authors;
                map.next_value_seed(Each::new(lines, None, |_, c: Commenter| {
                    if let Some(id) = non_empty(c.id) {
                        authors.insert(id.clone(), author(c.name, c.email, Some(id)));
                    }
                    Ok(())
                }))
            }
            "comments" => map.next_value_seed(FirstUrl(&mut self.first_url)),
            _ => skip(map),
        }
    }
}

/// Second walk: the comments.
struct Comments<'a> {
    sink: &'a Sink,
    authors: HashMap<String, SourceAuthor>,
}

impl Comments<'_> {
    fn comment(&mut self, line: u64, c: Comment) -> Result<(), String> {
        let Some(key) = non_empty(c.id) else {
            return self
                .sink
                .send(SourceItem::Skipped(Skip::new(line, "a comment without id")));
        };
        let Some(page) = non_empty(c.page_id) else {
            return self.sink.send(SourceItem::Skipped(Skip::new(
                line,
                format!("comment {key}: no pageId"),
            )));
        };
        let status = if c.is_deleted.unwrap_or(false) {
            SourceStatus::Deleted
        } else if c.is_pending.unwrap_or(false) || !c.is_approved.unwrap_or(true) {
            SourceStatus::Unapproved
        } else {
            SourceStatus::Approved
        };
        let author = match non_empty(c.user_created).filter(|u| u != ZERO_UUID) {
            Some(id) => self.authors.get(&id).cloned().unwrap_or_else(anonymous),
            None => author(c.author_name, None, None),
        };
        self.sink.send(SourceItem::Post(SourcePost {
            key,
            thread_key: page,
            parent_key: non_empty(c.parent_id).filter(|p| p != ZERO_UUID),
            author,
            message: markdown_or_html(status, c.markdown, c.html),
            created_at: c.created_time.as_deref().and_then(rfc3339_ms),
            status,
            featured: c.is_sticky.unwrap_or(false),
            line,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{Cursor, Write};

    use super::*;
    use crate::Source;
    use crate::plan::{PlannedComment, PlannedItem, plan_all};
    use parley_core::thread::CommentStatus;

    const FIXTURE: &str = include_str!("../tests/fixtures/comentario.json");
    const P1: &str = "11111111-0000-0000-0000-000000000001";

    fn read_bytes(bytes: Vec<u8>, base: Option<&str>) -> Result<Vec<SourceItem>, ParseError> {
        ComentarioReader::new(
            move || Ok(Cursor::new(bytes.clone())),
            base.map(str::to_owned),
        )
        .collect()
    }

    fn read(json: &str, base: Option<&str>) -> Result<Vec<SourceItem>, ParseError> {
        read_bytes(json.as_bytes().to_vec(), base)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
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
    fn pages_and_comments() {
        let items = read(FIXTURE, None).unwrap();
        let SourceItem::Thread(t) = &items[0] else {
            panic!("{:?}", items[0])
        };
        assert_eq!(t.key, P1);
        // The origin of the first comment's url, port included.
        assert_eq!(t.url, "https://harbour.example:8443/2025/ferry-vote");
        assert_eq!(t.title, "Ferry vote: the council keeps the crossing");
        assert!(t.closed);
        assert_eq!(t.line, 4);
        assert_eq!(t.created_at, Some(1_741_078_800_000));
        let SourceItem::Thread(t2) = &items[1] else {
            panic!()
        };
        assert!(!t2.closed);
        let posts: Vec<&SourcePost> = items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Post(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(posts.len(), 12);
        let p = |k: &str| *posts.iter().find(|p| p.key == k).unwrap();
        assert!(p("k1").featured);
        assert!(!p("k2").featured);
        assert_eq!(p("k1").author.name, "Una Harbour");
        assert_eq!(p("k1").author.email.as_deref(), Some("una@example.org"));
        assert_eq!(p("k2").author.name, "Tom Ó Briain");
        assert_eq!(p("k2").parent_key.as_deref(), Some("k1"));
        assert_eq!(p("k1").parent_key, None);
        assert_eq!(p("k11").parent_key, None, "null parentId");
        for anon in ["k3", "k5", "k11"] {
            let a = &p(anon).author;
            assert_eq!(
                (a.name.as_str(), a.email.as_deref()),
                ("Anonymous", None),
                "{anon}"
            );
        }
        assert_eq!(p("k4").status, SourceStatus::Deleted);
        assert_eq!(p("k8").status, SourceStatus::Unapproved);
        assert_eq!(p("k9").status, SourceStatus::Unapproved);
        assert_eq!(p("k1").status, SourceStatus::Approved);
        assert_eq!(p("k11").message, "Only *HTML*");
        assert_eq!(p("k2").created_at, Some(1_741_082_460_000));
    }

    #[test]
    fn planned() {
        let planned = plan_all(
            Source::Comentario,
            read(FIXTURE, Some("https://harbour.example/")).unwrap(),
        );
        let c = comments(&planned);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            ["k1", "k2", "k3", "k4", "k5", "k7", "k8", "k9", "k10", "k11"]
        );
        let by = |k: &str| *c.iter().find(|c| c.key == k).unwrap();
        assert_eq!(by("k3").parent_key.as_deref(), Some("k2"));
        assert_eq!(by("k4").status, CommentStatus::Deleted);
        assert_eq!(by("k7").missing_parent.as_deref(), Some("k999"));
        assert_eq!(by("k9").status, CommentStatus::Pending);
        assert_eq!(by("k2").body.src, "Reply — ünïcödé 🚢");
        let html = &by("k10").body.html;
        assert!(!html.contains("<script"), "{html}");
        let html = &by("k11").body.html;
        assert_eq!(html, "<p>Only <em>HTML</em></p>\n");
        let stories: Vec<_> = planned
            .iter()
            .filter_map(|p| match p {
                PlannedItem::Story(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(stories.len(), 1);
        let s = stories[0];
        assert_eq!(s.url, "https://harbour.example/2025/ferry-vote");
        assert!(s.closed);
        let skips: Vec<&str> = planned
            .iter()
            .filter_map(|p| match p {
                PlannedItem::Skip(s) => Some(s.reason.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            skips.contains(&"thread 11111111-0000-0000-0000-000000000002: no comments"),
            "{skips:?}"
        );
        assert!(
            skips.contains(&"post k6: deleted, and nothing replies to it"),
            "{skips:?}"
        );
        assert!(
            skips.contains(
                &"post k12: its thread 11111111-0000-0000-0000-00000000beef is not in the export"
            ),
            "{skips:?}"
        );
    }

    #[test]
    fn gzip_reads_as_plain() {
        let plain = read(FIXTURE, None).unwrap();
        let gz = read_bytes(gzip(FIXTURE.as_bytes()), None).unwrap();
        assert_eq!(plain, gz);
        // A broken gzip stream is an error, not an empty file.
        let mut broken = gzip(FIXTURE.as_bytes());
        broken.truncate(broken.len() / 2);
        assert!(read_bytes(broken, None).is_err());
    }

    #[test]
    fn no_address_without_base_url() {
        let json = r#"{"version": 3, "pages": [{"id": "p", "path": "/a"}],
            "comments": [{"id": "c", "pageId": "p", "markdown": "hi"}]}"#;
        let err = read(json, None).unwrap_err();
        assert!(err.message.contains("--base-url"), "{err}");
        let items = read(json, Some("https://news.example")).unwrap();
        assert!(matches!(&items[0], SourceItem::Thread(t) if t.url == "https://news.example/a"));
    }

    #[test]
    fn errors() {
        let err = read("{\"version\": 2}", None).unwrap_err();
        assert!(err.message.contains("version 2 is not supported"), "{err}");
        let err = read_bytes(gzip(b"{\"version\": 3,\n\"pages\": [}"), None).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.starts_with("column 11:"), "{err}");
        let err = read("{\"version\": 3, \"pages\": [{\"path\": \"/x\"}]}", None).unwrap_err();
        assert!(err.message.contains("a page without id"), "{err}");
    }
}
