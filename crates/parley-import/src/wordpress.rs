//! WordPress WXR export: an RSS document whose `<item>`s are posts and pages, each with
//! its `<wp:comment>`s inside. Comment ids are scoped to their item here (exports have
//! been seen repeating them across items), and parents are named by `comment_parent`.

use std::collections::VecDeque;
use std::io::BufRead;

use crate::xml::{Element, Ev, XmlStream, rfc2822_ms, sql_datetime_ms};
use crate::{ParseError, Skip, SourceAuthor, SourceItem, SourcePost, SourceStatus, SourceThread};

pub struct WxrReader<R: BufRead> {
    xml: XmlStream<R>,
    queue: VecDeque<SourceItem>,
    item: Option<OpenItem>,
    done: bool,
}

/// The item being read: its fields so far, and whether its story went out already.
struct OpenItem {
    line: u64,
    depth: usize,
    fields: Vec<(String, String)>,
    thread: Option<SourceThread>,
}

impl OpenItem {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn key(&self) -> String {
        match (self.field("post_id"), self.field("link")) {
            (Some(id), _) => id.to_owned(),
            (None, Some(link)) => link.to_owned(),
            (None, None) => format!("line-{}", self.line),
        }
    }

    fn thread(&self) -> SourceThread {
        SourceThread {
            key: self.key(),
            url: self.field("link").unwrap_or_default().to_owned(),
            title: self.field("title").unwrap_or_default().to_owned(),
            created_at: self
                .field("post_date_gmt")
                .and_then(sql_datetime_ms)
                .or_else(|| self.field("pubDate").and_then(rfc2822_ms))
                .or_else(|| self.field("post_date").and_then(sql_datetime_ms)),
            closed: self.field("comment_status") == Some("closed"),
            line: self.line,
        }
    }
}

impl<R: BufRead> WxrReader<R> {
    pub fn new(input: R) -> Self {
        WxrReader {
            xml: XmlStream::new(input),
            queue: VecDeque::new(),
            item: None,
            done: false,
        }
    }

    fn step(&mut self) -> Result<bool, ParseError> {
        let event = self.xml.next()?;
        let depth = self.xml.depth();
        match (&mut self.item, event) {
            (_, Ev::Eof) => return Ok(false),
            (None, Ev::Start { name, attrs, line }) => match (depth, name.as_str()) {
                (1, "rss") | (2, "channel") => {}
                (1, other) => {
                    return Err(ParseError::new(
                        line,
                        format!("<{other}> is not a WordPress export (its root is <rss>)"),
                    ));
                }
                (3, "item") => {
                    let _ = attrs;
                    self.item = Some(OpenItem {
                        line,
                        depth,
                        fields: Vec::new(),
                        thread: None,
                    });
                }
                _ => self.xml.skip()?,
            },
            (Some(item), Ev::Start { name, attrs, line }) => {
                let e = self.xml.element(name, attrs, line)?;
                if e.name == "comment" {
                    if item.thread.is_none() {
                        let thread = item.thread();
                        self.queue.push_back(SourceItem::Thread(thread.clone()));
                        item.thread = Some(thread);
                    }
                    let key = item.key();
                    self.queue.push_back(comment(&e, &key));
                } else {
                    item.fields.push((e.name, e.text));
                }
            }
            (Some(item), Ev::End) if depth < item.depth => {
                if item.thread.is_none() {
                    self.queue.push_back(SourceItem::Thread(item.thread()));
                }
                self.item = None;
            }
            _ => {}
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for WxrReader<R> {
    type Item = Result<SourceItem, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            match self.step() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

fn comment(e: &Element, thread_key: &str) -> SourceItem {
    let Some(id) = e.text("comment_id") else {
        return SourceItem::Skipped(Skip::new(e.line, "a comment without comment_id"));
    };
    let key = format!("{thread_key}/{id}");
    match e.text("comment_type") {
        None | Some("comment") => {}
        Some(other) => {
            return SourceItem::Skipped(Skip::new(
                e.line,
                format!("comment {id}: a {other}, not a reader's comment"),
            ));
        }
    }
    let status = match e.text("comment_approved").unwrap_or("1") {
        "1" | "approve" | "approved" => SourceStatus::Approved,
        "spam" => SourceStatus::Spam,
        "trash" | "post-trashed" => SourceStatus::Deleted,
        _ => SourceStatus::Unapproved,
    };
    SourceItem::Post(SourcePost {
        key,
        thread_key: thread_key.to_owned(),
        parent_key: e
            .text("comment_parent")
            .filter(|p| *p != "0")
            .map(|p| format!("{thread_key}/{p}")),
        author: SourceAuthor {
            name: e.text("comment_author").unwrap_or_default().to_owned(),
            email: e.text("comment_author_email").map(str::to_lowercase),
            username: None,
        },
        message: e.text("comment_content").unwrap_or_default().to_owned(),
        created_at: e
            .text("comment_date_gmt")
            .and_then(sql_datetime_ms)
            .or_else(|| e.text("comment_date").and_then(sql_datetime_ms)),
        status,
        featured: false,
        line: e.line,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn items_and_scoped_comments() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Blog</title>
  <item><title>First</title><link>https://blog.example/first</link>
    <wp:post_id>5</wp:post_id><wp:post_date_gmt>2020-01-01 10:00:00</wp:post_date_gmt>
    <wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Ann</wp:comment_author>
      <wp:comment_content>Line one
line two</wp:comment_content><wp:comment_approved>0</wp:comment_approved>
      <wp:comment_parent>0</wp:comment_parent></wp:comment>
    <wp:comment><wp:comment_id>2</wp:comment_id><wp:comment_approved>spam</wp:comment_approved>
      <wp:comment_parent>1</wp:comment_parent></wp:comment>
    <wp:comment><wp:comment_id>3</wp:comment_id><wp:comment_type>pingback</wp:comment_type></wp:comment>
  </item>
  <item><title>Empty</title><link>https://blog.example/empty</link></item>
</channel></rss>"#;
        let items: Vec<SourceItem> = WxrReader::new(xml.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(items.len(), 5, "{items:#?}");
        let SourceItem::Thread(t) = &items[0] else {
            panic!()
        };
        assert_eq!((t.key.as_str(), t.title.as_str()), ("5", "First"));
        assert_eq!(t.created_at, Some(1_577_872_800_000));
        let SourceItem::Post(a) = &items[1] else {
            panic!()
        };
        assert_eq!(
            (a.key.as_str(), a.status),
            ("5/1", SourceStatus::Unapproved)
        );
        assert_eq!(a.message, "Line one\nline two");
        let SourceItem::Post(b) = &items[2] else {
            panic!()
        };
        assert_eq!(
            (b.parent_key.as_deref(), b.status),
            (Some("5/1"), SourceStatus::Spam)
        );
        assert!(matches!(&items[3], SourceItem::Skipped(s) if s.reason.contains("pingback")));
        assert!(matches!(&items[4], SourceItem::Thread(t) if t.title == "Empty"));
    }
}
