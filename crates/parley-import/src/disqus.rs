//! Disqus XML export: `<disqus>` holds `<category>`, `<thread dsq:id>` and
//! `<post dsq:id>` elements side by side; a post names its thread and its parent by
//! `dsq:id`. Read one element at a time.

use std::io::BufRead;

use crate::xml::{Element, Ev, XmlStream, rfc3339_ms};
use crate::{ParseError, Skip, SourceAuthor, SourceItem, SourcePost, SourceStatus, SourceThread};

pub struct DisqusReader<R: BufRead> {
    xml: XmlStream<R>,
    done: bool,
}

impl<R: BufRead> DisqusReader<R> {
    pub fn new(input: R) -> Self {
        DisqusReader {
            xml: XmlStream::new(input),
            done: false,
        }
    }

    fn next_item(&mut self) -> Result<Option<SourceItem>, ParseError> {
        loop {
            match self.xml.next()? {
                Ev::Eof => return Ok(None),
                Ev::Start { name, attrs, line } => match (self.xml.depth(), name.as_str()) {
                    (1, "disqus") => {}
                    (1, other) => {
                        return Err(ParseError::new(
                            line,
                            format!("<{other}> is not a Disqus export (its root is <disqus>)"),
                        ));
                    }
                    (2, "thread") => {
                        let e = self.xml.element(name, attrs, line)?;
                        return Ok(Some(thread(&e)));
                    }
                    (2, "post") => {
                        let e = self.xml.element(name, attrs, line)?;
                        return Ok(Some(post(&e)));
                    }
                    _ => self.xml.skip()?,
                },
                Ev::End | Ev::Text(_) => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for DisqusReader<R> {
    type Item = Result<SourceItem, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_item();
        if !matches!(item, Ok(Some(_))) {
            self.done = true;
        }
        item.transpose()
    }
}

fn thread(e: &Element) -> SourceItem {
    let Some(key) = e.attr("id") else {
        return SourceItem::Skipped(Skip::new(e.line, "a thread without dsq:id"));
    };
    SourceItem::Thread(SourceThread {
        key: key.to_owned(),
        url: e.text("link").unwrap_or_default().to_owned(),
        title: e.text("title").unwrap_or_default().to_owned(),
        created_at: e.text("createdAt").and_then(rfc3339_ms),
        closed: e.flag("isClosed"),
        line: e.line,
    })
}

fn post(e: &Element) -> SourceItem {
    let Some(key) = e.attr("id") else {
        return SourceItem::Skipped(Skip::new(e.line, "a post without dsq:id"));
    };
    let Some(thread_key) = e.child_attr("thread", "id") else {
        return SourceItem::Skipped(Skip::new(e.line, format!("post {key}: no thread named")));
    };
    let status = if e.flag("isDeleted") {
        SourceStatus::Deleted
    } else if e.flag("isSpam") {
        SourceStatus::Spam
    } else if e.text("isApproved").is_some() && !e.flag("isApproved") {
        SourceStatus::Unapproved
    } else {
        SourceStatus::Approved
    };
    SourceItem::Post(SourcePost {
        key: key.to_owned(),
        thread_key: thread_key.to_owned(),
        parent_key: e.child_attr("parent", "id").map(str::to_owned),
        author: SourceAuthor {
            name: e.text("author/name").unwrap_or_default().to_owned(),
            email: e.text("author/email").map(str::to_lowercase),
            username: e.text("author/username").map(str::to_owned),
        },
        message: e.text("message").unwrap_or_default().to_owned(),
        created_at: e.text("createdAt").and_then(rfc3339_ms),
        status,
        featured: e.flag("isHighlighted"),
        line: e.line,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(xml: &str) -> Result<Vec<SourceItem>, ParseError> {
        DisqusReader::new(xml.as_bytes()).collect()
    }

    #[test]
    fn threads_and_posts() {
        let items = read(
            r#"<?xml version="1.0"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <category dsq:id="1"><title>General</title></category>
  <thread dsq:id="10"><link>https://news.example/a</link><title>A &amp; B</title>
    <createdAt>2020-01-02T03:04:05Z</createdAt><isClosed>true</isClosed></thread>
  <post dsq:id="20"><message><![CDATA[<p>Hi</p>]]></message>
    <createdAt>2020-01-02T04:00:00Z</createdAt><isDeleted>false</isDeleted><isSpam>true</isSpam>
    <author><email>X@Example.org</email><name>Ann</name></author>
    <thread dsq:id="10"/><parent dsq:id="19"/></post>
  <post><message>no id</message><thread dsq:id="10"/></post>
</disqus>"#,
        )
        .unwrap();
        assert_eq!(items.len(), 3);
        let SourceItem::Thread(t) = &items[0] else {
            panic!()
        };
        assert_eq!(
            (t.key.as_str(), t.url.as_str(), t.title.as_str()),
            ("10", "https://news.example/a", "A & B")
        );
        assert!(t.closed);
        assert_eq!(t.line, 4);
        let SourceItem::Post(p) = &items[1] else {
            panic!()
        };
        assert_eq!(p.parent_key.as_deref(), Some("19"));
        assert_eq!(p.status, SourceStatus::Spam);
        assert_eq!(p.author.email.as_deref(), Some("x@example.org"));
        assert_eq!(p.message, "<p>Hi</p>");
        assert!(matches!(&items[2], SourceItem::Skipped(s) if s.line == 10));
    }

    #[test]
    fn a_foreign_root_is_refused() {
        let err = read("<rss><channel/></rss>").unwrap_err();
        assert!(err.message.contains("not a Disqus export"), "{err}");
    }
}
