//! A thin layer over quick-xml shared by the Disqus and WordPress readers: events with
//! decoded text and local names, line numbers for byte positions, whole small elements
//! gathered as path → text fields, and the well-formedness checks quick-xml leaves to us
//! (text outside the root, a second root, a file that ends inside an element).

use std::collections::VecDeque;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::ParseError;

/// How many recent line starts are remembered: errors are always near the read position.
const LINE_WINDOW: usize = 1 << 16;

/// Counts the lines of everything quick-xml consumes, so a byte position can be named
/// by its line without keeping the file.
pub(crate) struct Lines<R> {
    inner: R,
    consumed: u64,
    /// Newlines that fell out of `window`.
    lines_before: u64,
    /// Offsets of the most recent newlines.
    window: VecDeque<u64>,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(inner: R) -> Self {
        Lines {
            inner,
            consumed: 0,
            lines_before: 0,
            window: VecDeque::new(),
        }
    }

    /// The 1-based line of the byte at `offset` (already read).
    pub(crate) fn line_of(&self, offset: u64) -> u64 {
        1 + self.lines_before + self.window.partition_point(|&nl| nl < offset) as u64
    }
}

impl<R: BufRead> std::io::Read for Lines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // The bytes are still buffered: fill_buf hands them back without reading.
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            for (i, b) in buf[..amt].iter().enumerate() {
                if *b == b'\n' {
                    if self.window.len() == LINE_WINDOW {
                        self.window.pop_front();
                        self.lines_before += 1;
                    }
                    self.window.push_back(self.consumed + i as u64);
                }
            }
            self.consumed += amt as u64;
            self.inner.consume(amt);
        }
    }
}

/// One step through the document.
#[derive(Debug)]
pub(crate) enum Ev {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        line: u64,
    },
    End,
    Text(String),
    Eof,
}

pub(crate) struct XmlStream<R: BufRead> {
    reader: Reader<Lines<R>>,
    buf: Vec<u8>,
    /// Open elements: local name and the line each started on.
    open: Vec<(String, u64)>,
    /// An empty element `<a/>` reads as a start and then this end.
    pending_end: bool,
    root_seen: bool,
}

impl<R: BufRead> XmlStream<R> {
    pub(crate) fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(Lines::new(input));
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        XmlStream {
            reader,
            buf: Vec::with_capacity(8192),
            open: Vec::new(),
            pending_end: false,
            root_seen: false,
        }
    }

    pub(crate) fn depth(&self) -> usize {
        self.open.len()
    }

    fn line_at(&self, offset: u64) -> u64 {
        self.reader.get_ref().line_of(offset)
    }

    fn error(&self, offset: u64, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line_at(offset), message)
    }

    pub(crate) fn next(&mut self) -> Result<Ev, ParseError> {
        if self.pending_end {
            self.pending_end = false;
            self.open.pop();
            return Ok(Ev::End);
        }
        loop {
            let before = self.reader.buffer_position();
            // The event borrows this buffer, not `self`, so handling it may use `self`.
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let result = match self.reader.read_event_into(&mut buf) {
                Ok(event) => self.handle(event, before),
                Err(e) => {
                    let at = self.reader.error_position();
                    let inside = match self.open.last() {
                        Some((name, line)) => format!(" (inside <{name}> from line {line})"),
                        None => String::new(),
                    };
                    Err(self.error(at, format!("malformed XML: {e}{inside}")))
                }
            };
            self.buf = buf;
            if let Some(ev) = result? {
                return Ok(ev);
            }
        }
    }

    fn handle(&mut self, event: Event<'_>, before: u64) -> Result<Option<Ev>, ParseError> {
        match event {
            Event::Start(e) => self.start(&e, before, false).map(Some),
            Event::Empty(e) => self.start(&e, before, true).map(Some),
            Event::End(_) => {
                self.open.pop();
                Ok(Some(Ev::End))
            }
            Event::Text(t) => {
                let text = t
                    .decode()
                    .map_err(|e| self.error(before, format!("text is not UTF-8: {e}")))?;
                if self.open.is_empty() && !text.trim().is_empty() {
                    let lead = (text.len() - text.trim_start().len()) as u64;
                    return Err(self.error(
                        before + lead,
                        format!(
                            "text {:?} outside the root element",
                            text.trim().chars().take(20).collect::<String>()
                        ),
                    ));
                }
                Ok(Some(Ev::Text(text.into_owned())))
            }
            Event::CData(c) => {
                let text = c
                    .decode()
                    .map_err(|e| self.error(before, format!("CDATA is not UTF-8: {e}")))?;
                Ok(Some(Ev::Text(text.into_owned())))
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map(|n| n.into_owned()).unwrap_or_default();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_owned(),
                            None => format!("&{name};"),
                        }
                    }
                    Err(e) => return Err(self.error(before, format!("bad reference: {e}"))),
                };
                Ok(Some(Ev::Text(resolved)))
            }
            Event::Eof => {
                if let Some((name, line)) = self.open.last() {
                    return Err(ParseError::new(
                        self.line_at(before),
                        format!("the file ends inside <{name}> opened on line {line}"),
                    ));
                }
                if !self.root_seen {
                    return Err(ParseError::new(1, "the file holds no XML element"));
                }
                Ok(Some(Ev::Eof))
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => Ok(None),
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, before: u64, empty: bool) -> Result<Ev, ParseError> {
        let line = self.line_at(before);
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.open.is_empty() {
            if self.root_seen {
                return Err(ParseError::new(
                    line,
                    format!("a second root element <{name}>"),
                ));
            }
            self.root_seen = true;
        }
        let mut attrs = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| {
                ParseError::new(
                    line,
                    format!("element <{name}>: malformed attribute: {err}"),
                )
            })?;
            let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
            let value = attr
                .decode_and_unescape_value(self.reader.decoder())
                .map_err(|err| {
                    ParseError::new(line, format!("element <{name}>: attribute {key}: {err}"))
                })?
                .into_owned();
            attrs.push((key, value));
        }
        self.open.push((name.clone(), line));
        self.pending_end = empty;
        Ok(Ev::Start { name, attrs, line })
    }

    /// Reads the rest of an element whose start was just returned, as fields by path.
    pub(crate) fn element(
        &mut self,
        name: String,
        attrs: Vec<(String, String)>,
        line: u64,
    ) -> Result<Element, ParseError> {
        let mut element = Element {
            name,
            line,
            attrs,
            fields: Vec::new(),
            text: String::new(),
        };
        // Indexes into `fields` of the open children, innermost last.
        let mut stack: Vec<usize> = Vec::new();
        loop {
            match self.next()? {
                Ev::Start { name, attrs, .. } => {
                    let path = match stack.last() {
                        Some(&i) => format!("{}/{name}", element.fields[i].path),
                        None => name,
                    };
                    element.fields.push(Field {
                        path,
                        attrs,
                        text: String::new(),
                    });
                    stack.push(element.fields.len() - 1);
                }
                Ev::End => match stack.pop() {
                    Some(_) => {}
                    None => return Ok(element),
                },
                Ev::Text(t) => match stack.last() {
                    Some(&i) => element.fields[i].text.push_str(&t),
                    None => element.text.push_str(&t),
                },
                Ev::Eof => {
                    return Err(ParseError::new(
                        line,
                        format!("the file ends inside <{}>", element.name),
                    ));
                }
            }
        }
    }

    /// Skips the rest of an element whose start was just returned.
    pub(crate) fn skip(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Ev::Start { .. } => depth += 1,
                Ev::End if depth == 0 => return Ok(()),
                Ev::End => depth -= 1,
                Ev::Text(_) => {}
                Ev::Eof => return Ok(()),
            }
        }
    }
}

/// A small element read whole: its attributes and its descendants' texts by path.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub line: u64,
    pub attrs: Vec<(String, String)>,
    pub fields: Vec<Field>,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub path: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        attr(&self.attrs, name)
    }

    /// The trimmed text of the first child at `path`; None when missing or empty.
    pub(crate) fn text(&self, path: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// An attribute of the first child at `path`.
    pub(crate) fn child_attr(&self, path: &str, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| attr(&f.attrs, name))
    }

    pub(crate) fn flag(&self, path: &str) -> bool {
        self.text(path)
            .is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
    }
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// RFC 3339 (`2013-10-10T19:20:29Z`) to unix milliseconds.
pub(crate) fn rfc3339_ms(raw: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `2014-01-14 17:32:12`, read as UTC, to unix milliseconds.
pub(crate) fn sql_datetime_ms(raw: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(raw.trim(), &format).ok()?;
    if t.year() < 1971 {
        return None;
    }
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// RFC 2822 (`Tue, 14 Jan 2014 17:31:03 +0000`) to unix milliseconds.
pub(crate) fn rfc2822_ms(raw: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc2822)
        .ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn events(xml: &str) -> Result<Vec<String>, ParseError> {
        let mut s = XmlStream::new(xml.as_bytes());
        let mut out = Vec::new();
        loop {
            match s.next()? {
                Ev::Start { name, line, .. } => out.push(format!("<{name}@{line}")),
                Ev::End => out.push("/".into()),
                Ev::Text(t) if t.trim().is_empty() => {}
                Ev::Text(t) => out.push(t),
                Ev::Eof => return Ok(out),
            }
        }
    }

    #[test]
    fn names_lines_and_resolves_references() {
        let got =
            events("<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">x &amp; y &#233;</b>\n<c/></a>")
                .unwrap();
        assert_eq!(
            got,
            ["<a@2", "<b@3", "x ", "&", " y ", "é", "/", "<c@4", "/", "/"]
        );
    }

    #[test]
    fn stray_text_before_the_root_is_an_error_on_its_line() {
        let err = events("`<?xml version=\"1.0\"?>\n<a/>").unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        let err = events("<a/>\n\nstray").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn unquoted_attributes_and_truncation_name_their_line() {
        let err = events("<a>\n<b>\n<c id=12/>\n</b></a>").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("<c>"), "{err}");
        let err = events("<a>\n<b>text\n").unwrap_err();
        assert!(err.message.contains("ends inside <b>"), "{err}");
        let err = events("<a>\n<b></c></a>").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn lines_survive_a_long_file() {
        let mut xml = String::from("<a>\n");
        for _ in 0..(LINE_WINDOW + 10) {
            xml.push_str("<b/>\n");
        }
        xml.push_str("<c x=1/></a>");
        let err = events(&xml).unwrap_err();
        assert_eq!(err.line, LINE_WINDOW as u64 + 12, "{err}");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339_ms("2013-10-10T19:20:29Z"), Some(1_381_432_829_000));
        assert_eq!(
            sql_datetime_ms("2013-10-10 19:20:29"),
            Some(1_381_432_829_000)
        );
        assert_eq!(
            rfc2822_ms("Thu, 10 Oct 2013 19:20:29 +0000"),
            Some(1_381_432_829_000)
        );
        assert_eq!(sql_datetime_ms("0000-00-00 00:00:00"), None);
        assert_eq!(rfc3339_ms("2011-x09-30T22:48:43Z"), None);
    }
}
