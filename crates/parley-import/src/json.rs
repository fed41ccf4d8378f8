//! What the JSON readers (Commento, Comentario) share: serde_json driven one array
//! element at a time, line numbers for elements and errors, and a reader thread whose
//! items come out of a bounded channel, so a push-style walk becomes an [`Iterator`].
//!
//! A reader walks the file twice: a first walk collects what later elements refer to
//! (commenters, pages) and skips the comments with [`IgnoredAny`]; a second walk turns
//! comments into items. Memory grows with what the first walk keeps, never with the
//! number of comments.

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    DeserializeSeed, Deserializer as _, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::{ParseError, SourceAuthor, SourceItem, SourceStatus};

/// Items the reader thread may be ahead of its consumer.
const AHEAD: usize = 256;

/// Counts the newlines of what serde_json has read. serde_json reads one byte at a
/// time and looks at most one byte ahead, so when an object's `{` has just been read,
/// the count is the line it stands on.
struct LineCount<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        if newlines > 0 {
            self.lines.set(self.lines.get() + newlines);
        }
        Ok(n)
    }
}

/// A serde_json error as a [`ParseError`] naming its line and column.
pub(crate) fn json_error(e: &serde_json::Error) -> ParseError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match e.classify() {
        serde_json::error::Category::Io => {
            ParseError::new(e.line() as u64, format!("reading the file: {message}"))
        }
        serde_json::error::Category::Eof => ParseError::new(
            e.line() as u64,
            format!(
                "column {}: the file ends inside a value ({message}): truncated?",
                e.column()
            ),
        ),
        _ => ParseError::new(e.line() as u64, format!("column {}: {message}", e.column())),
    }
}

/// Where a walk sends its items, and whether its consumer is gone.
pub(crate) struct Sink {
    tx: SyncSender<Result<SourceItem, ParseError>>,
    stop: Arc<AtomicBool>,
}

/// Said by a walk told to stop; never seen by anyone.
const STOPPED: &str = "the import stopped";

impl Sink {
    /// Sends an item; an error when nobody listens any more (the walk should end).
    pub(crate) fn send(&self, item: SourceItem) -> Result<(), String> {
        self.tx.send(Ok(item)).map_err(|_| STOPPED.to_owned())
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Set when the consumer is gone: [`Each`] checks it between elements.
    pub(crate) fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }
}

/// One top-level walk over an export: `field` reads the value of each of the top
/// object's keys from `map` (its `next_value` or `next_value_seed`, exactly once).
pub(crate) trait Walk {
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        lines: &Rc<Cell<u64>>,
    ) -> Result<(), A::Error>;
}

struct TopLevel<'a, W> {
    walk: &'a mut W,
    lines: &'a Rc<Cell<u64>>,
    what: &'static str,
}

impl<'de, W: Walk> Visitor<'de> for TopLevel<'_, W> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} export (a JSON object)", self.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.walk.field(&key, &mut map, self.lines)?;
        }
        Ok(())
    }
}

/// Runs one walk over a whole file: it parses to its end (nothing but whitespace after
/// the top object) or fails with the line and column.
pub(crate) fn walk<R: Read, W: Walk>(
    input: R,
    what: &'static str,
    w: &mut W,
) -> Result<(), ParseError> {
    let lines = Rc::new(Cell::new(1));
    let mut de = serde_json::Deserializer::from_reader(LineCount {
        inner: input,
        lines: lines.clone(),
    });
    let visitor = TopLevel {
        walk: w,
        lines: &lines,
        what,
    };
    (&mut de)
        .deserialize_map(visitor)
        .map_err(|e| json_error(&e))?;
    de.end().map_err(|e| json_error(&e))
}

/// An object of the export, with the line its `{` stands on.
struct Lined<'a, T> {
    lines: &'a Rc<Cell<u64>>,
    _t: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Lined<'_, T> {
    type Value = (u64, T);

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Lined<'_, T> {
    type Value = (u64, T);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let line = self.lines.get();
        let value = T::deserialize(MapAccessDeserializer::new(map))?;
        Ok((line, value))
    }
}

/// An array read one object at a time: `f` gets each with its line, and may stop the
/// walk with a message. `null` counts as an empty array.
pub(crate) struct Each<'a, T, F> {
    pub(crate) lines: &'a Rc<Cell<u64>>,
    pub(crate) stop: Option<&'a AtomicBool>,
    pub(crate) f: F,
    pub(crate) _t: PhantomData<T>,
}

impl<'a, T, F> Each<'a, T, F> {
    pub(crate) fn new(lines: &'a Rc<Cell<u64>>, stop: Option<&'a AtomicBool>, f: F) -> Self {
        Each {
            lines,
            stop,
            f,
            _t: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(u64, T) -> Result<(), String>> DeserializeSeed<'de>
    for Each<'_, T, F>
{
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>, F: FnMut(u64, T) -> Result<(), String>> Visitor<'de>
    for Each<'_, T, F>
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return Err(A::Error::custom(STOPPED));
            }
            let seed = Lined::<T> {
                lines: self.lines,
                _t: PhantomData,
            };
            match seq.next_element_seed(seed)? {
                Some((line, value)) => (self.f)(line, value).map_err(A::Error::custom)?,
                None => return Ok(()),
            }
        }
    }
}

/// A walk that reads one array of the top object an element at a time (with `f`, as
/// [`Each`] does, stopping when the sink's consumer is gone) and skips every other key:
/// the JSON readers' walk over their comments.
pub(crate) struct OneArray<'a, T, F> {
    key: &'static str,
    stop: &'a AtomicBool,
    f: F,
    _t: PhantomData<T>,
}

impl<'a, T, F> OneArray<'a, T, F> {
    pub(crate) fn new(key: &'static str, sink: &'a Sink, f: F) -> Self {
        OneArray {
            key,
            stop: sink.stop_flag(),
            f,
            _t: PhantomData,
        }
    }
}

impl<T: DeserializeOwned, F: FnMut(u64, T) -> Result<(), String>> Walk for OneArray<'_, T, F> {
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        lines: &Rc<Cell<u64>>,
    ) -> Result<(), A::Error> {
        if key == self.key {
            map.next_value_seed(Each::<T, _>::new(lines, Some(self.stop), &mut self.f))
        } else {
            skip(map)
        }
    }
}

/// The top object's `version`, when it is the one this reader knows.
pub(crate) fn version<'de, A: MapAccess<'de>>(
    map: &mut A,
    format: &str,
    supported: u64,
) -> Result<u64, A::Error> {
    let v: u64 = map.next_value()?;
    if v != supported {
        return Err(A::Error::custom(format!(
            "{format} export version {v} is not supported (this reads version {supported})"
        )));
    }
    Ok(v)
}

/// An author from the export's fields; "Anonymous" without email when there is no
/// name.
pub(crate) fn author(
    name: Option<String>,
    email: Option<String>,
    id: Option<String>,
) -> SourceAuthor {
    SourceAuthor {
        name: non_empty(name).unwrap_or_else(|| "Anonymous".to_owned()),
        email: non_empty(email).map(|e| e.to_lowercase()),
        username: id,
    }
}

pub(crate) fn anonymous() -> SourceAuthor {
    author(None, None, None)
}

/// The comment's Markdown (what both systems edit and keep); its HTML, turned into
/// Markdown by the same sanitising path as [`crate::body::from_html`], only when the
/// Markdown is empty. Nothing for a deleted comment: its body is never kept.
pub(crate) fn markdown_or_html(
    status: SourceStatus,
    markdown: Option<String>,
    html: Option<String>,
) -> String {
    if status == SourceStatus::Deleted {
        return String::new();
    }
    match (markdown, html) {
        (Some(md), _) if !md.trim().is_empty() => md,
        (_, Some(html)) if !html.trim().is_empty() => crate::body::to_markdown(&html),
        _ => String::new(),
    }
}

/// Skips a value whatever it is.
pub(crate) fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// The items of a reader thread, in order; ends after the first error.
pub(crate) struct JsonItems {
    rx: Receiver<Result<SourceItem, ParseError>>,
    thread: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    done: bool,
}

impl JsonItems {
    /// Runs `read` on a thread of its own; what it sends comes out of the iterator, and
    /// the error it returns, if any, last.
    pub(crate) fn spawn(
        name: &str,
        read: impl FnOnce(&Sink) -> Result<(), ParseError> + Send + 'static,
    ) -> JsonItems {
        let (tx, rx) = sync_channel(AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let sink = Sink {
            tx: tx.clone(),
            stop: stop.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                if let Err(e) = read(&sink)
                    && !sink.stopped()
                {
                    let _ = sink.tx.send(Err(e));
                }
            });
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                let _ = tx.send(Err(ParseError::new(0, format!("starting the reader: {e}"))));
                None
            }
        };
        drop(tx);
        JsonItems {
            rx,
            thread,
            stop,
            done: false,
        }
    }
}

impl Iterator for JsonItems {
    type Item = Result<SourceItem, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Ok(item)) => Some(Ok(item)),
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Err(_) => {
                // The thread is gone: it finished, or it panicked.
                self.done = true;
                let panicked = self.thread.take().is_some_and(|t| t.join().is_err());
                panicked.then(|| Err(ParseError::new(0, "the reader failed")))
            }
        }
    }
}

impl Drop for JsonItems {
    fn drop(&mut self) {
        // A reader in its first walk sends nothing, so it would not notice otherwise.
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The input past a UTF-8 byte order mark, if it starts with one (serde_json refuses it).
pub(crate) fn skip_bom<R: std::io::BufRead>(mut input: R) -> std::io::Result<R> {
    if input.fill_buf()?.starts_with(&[0xef, 0xbb, 0xbf]) {
        input.consume(3);
    }
    Ok(input)
}

/// `scheme://host[:port]` of an absolute URL.
pub(crate) fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    Some(&url[..scheme.len() + 3 + end])
}

/// A base address and a path joined by exactly one slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = path.trim();
    if path.is_empty() {
        return format!("{base}/");
    }
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Trimmed, and None when empty.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_joins() {
        assert_eq!(
            origin("http://localhost:8000/#c-1"),
            Some("http://localhost:8000")
        );
        assert_eq!(origin("https://news.example"), Some("https://news.example"));
        assert_eq!(
            origin("https://news.example?x"),
            Some("https://news.example")
        );
        assert_eq!(origin("/just/a/path"), None);
        assert_eq!(origin("https:///nohost"), None);
        assert_eq!(join("https://a.example/", "/x/y"), "https://a.example/x/y");
        assert_eq!(join("https://a.example", "x"), "https://a.example/x");
        assert_eq!(join("https://a.example", ""), "https://a.example/");
    }
}
