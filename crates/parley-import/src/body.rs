//! Imported messages to comment bodies. An export's HTML first passes an allow-list
//! sanitiser (scripts and styles go with their content), then becomes Markdown — the
//! `body_src` Parley keeps for every comment — and that Markdown is rendered by the
//! same [`render_comment`] as a reader's own comment, so an imported comment's HTML is
//! exactly what Parley would make of its source.

use std::collections::HashSet;
use std::sync::LazyLock;

use parley_core::markdown::render_comment;

/// A comment body as Parley stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub src: String,
    pub html: String,
}

/// A Disqus message: HTML.
pub fn from_html(html: &str) -> Body {
    let src = to_markdown(html);
    let html = render_comment(&src);
    Body { src, html }
}

/// A Commento or Comentario comment: Markdown, kept as its source (line endings made
/// `\n`, control characters other than tabs and line breaks dropped, outer blank lines
/// trimmed) and rendered as a reader's own comment is, so raw HTML in it (a `<script>`
/// too) shows as text and never runs.
pub fn from_markdown(markdown: &str) -> Body {
    let src: String = markdown
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let src = src.trim_matches('\n').trim_end().to_owned();
    let html = render_comment(&src);
    Body { src, html }
}

/// A WordPress comment: text whose blank lines separate paragraphs and whose single
/// line breaks are kept, with optional HTML inside.
pub fn from_text_with_html(text: &str) -> Body {
    let mut html = String::with_capacity(text.len() + 16);
    let normalized = text.replace("\r\n", "\n");
    for para in normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        html.push_str("<p>");
        html.push_str(&para.replace('\n', "<br>\n"));
        html.push_str("</p>");
    }
    from_html(&html)
}

/// Plain text (no markup at all): blank lines separate paragraphs, line breaks stay.
pub fn from_plain_text(text: &str) -> Body {
    let mut paras = Vec::new();
    let normalized = text.replace("\r\n", "\n");
    for para in normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let lines: Vec<String> = para
            .lines()
            .map(|l| escape_line(&escape_inline(&collapse(l))))
            .collect();
        paras.push(lines.join("\\\n"));
    }
    let src = paras.join("\n\n");
    let html = render_comment(&src);
    Body { src, html }
}

/// Built once: a builder is a dozen hash sets, and making one per message cost more
/// than cleaning the message.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(cleaner);

fn cleaner() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::empty();
    b.tags(HashSet::from([
        "p",
        "br",
        "em",
        "i",
        "strong",
        "b",
        "del",
        "s",
        "a",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
    ]))
    .tag_attributes([("a", HashSet::from(["href"]))].into())
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .clean_content_tags(HashSet::from([
        "script", "style", "template", "iframe", "object",
    ]))
    .link_rel(None);
    b
}

/// Sanitised HTML to Markdown.
pub fn to_markdown(html: &str) -> String {
    let clean = CLEANER.clean(html).to_string();
    let tree = parse(&clean);
    blocks(&tree).join("\n\n").trim().to_owned()
}

#[derive(Debug)]
enum Node {
    Text(String),
    El {
        tag: String,
        href: Option<String>,
        children: Vec<Node>,
    },
}

/// Parses the sanitiser's output: well-formed, only the allow-listed tags, the only
/// attribute an `a`'s href, text escaped the way html5ever serialises it.
fn parse(html: &str) -> Vec<Node> {
    let mut stack: Vec<(String, Option<String>, Vec<Node>)> =
        vec![(String::new(), None, Vec::new())];
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').unwrap_or(after.len());
            let tag_text = &after[..end];
            rest = after.get(end + 1..).unwrap_or("");
            if let Some(name) = tag_text.strip_prefix('/') {
                let name = name.trim();
                if stack.len() > 1
                    && stack.last().is_some_and(|(t, _, _)| t == name)
                    && let Some((tag, href, children)) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.2.push(Node::El {
                        tag,
                        href,
                        children,
                    });
                }
                continue;
            }
            let name: String = tag_text
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if name == "br" {
                if let Some(top) = stack.last_mut() {
                    top.2.push(Node::El {
                        tag: name,
                        href: None,
                        children: Vec::new(),
                    });
                }
                continue;
            }
            let href = tag_text.find("href=\"").map(|i| {
                let v = &tag_text[i + 6..];
                decode(&v[..v.find('"').unwrap_or(v.len())])
            });
            stack.push((name, href, Vec::new()));
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            if let Some(top) = stack.last_mut() {
                top.2.push(Node::Text(decode(&rest[..end])));
            }
            rest = &rest[end..];
        }
    }
    // Unclosed elements (none from the sanitiser) fold into their parents.
    while stack.len() > 1 {
        if let Some((tag, href, children)) = stack.pop()
            && let Some(parent) = stack.last_mut()
        {
            parent.2.push(Node::El {
                tag,
                href,
                children,
            });
        }
    }
    stack.pop().map(|(_, _, c)| c).unwrap_or_default()
}

fn decode(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&j| j <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_block(tag: &str) -> bool {
    matches!(tag, "p" | "blockquote" | "ul" | "ol" | "li" | "pre")
}

/// Block-level Markdown for a list of nodes: runs of inline nodes become paragraphs.
fn blocks(nodes: &[Node]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<&Node> = Vec::new();
    let flush = |run: &mut Vec<&Node>, out: &mut Vec<String>| {
        let para = paragraph(run);
        if !para.is_empty() {
            out.push(para);
        }
        run.clear();
    };
    for node in nodes {
        match node {
            Node::El { tag, children, .. } if is_block(tag) => {
                flush(&mut run, &mut out);
                match tag.as_str() {
                    "p" | "li" => out.extend(blocks(children)),
                    "blockquote" => {
                        let inner = blocks(children).join("\n\n");
                        if !inner.is_empty() {
                            out.push(
                                inner
                                    .lines()
                                    .map(|l| {
                                        if l.is_empty() {
                                            ">".to_owned()
                                        } else {
                                            format!("> {l}")
                                        }
                                    })
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            );
                        }
                    }
                    "pre" => {
                        let code = raw_text(children);
                        let code = code.trim_matches('\n');
                        if !code.is_empty() {
                            let fence = if code.contains("```") { "~~~~" } else { "```" };
                            out.push(format!("{fence}\n{code}\n{fence}"));
                        }
                    }
                    _ => {
                        let ordered = tag == "ol";
                        let mut items = Vec::new();
                        let mut n = 0;
                        for child in children {
                            let item = match child {
                                Node::El { tag, children, .. } if tag == "li" => {
                                    blocks(children).join("\n\n")
                                }
                                other => blocks(std::slice::from_ref(other)).join("\n\n"),
                            };
                            if item.is_empty() {
                                continue;
                            }
                            n += 1;
                            let marker = if ordered {
                                format!("{n}. ")
                            } else {
                                "- ".to_owned()
                            };
                            let indent = " ".repeat(marker.len());
                            let mut lines = item.lines();
                            let mut text = format!("{marker}{}", lines.next().unwrap_or(""));
                            for l in lines {
                                text.push('\n');
                                if !l.is_empty() {
                                    text.push_str(&indent);
                                    text.push_str(l);
                                }
                            }
                            items.push(text);
                        }
                        if !items.is_empty() {
                            out.push(items.join("\n"));
                        }
                    }
                }
            }
            inline => run.push(inline),
        }
    }
    flush(&mut run, &mut out);
    out
}

fn raw_text(nodes: &[Node]) -> String {
    let mut s = String::new();
    for node in nodes {
        match node {
            Node::Text(t) => s.push_str(t),
            Node::El { tag, .. } if tag == "br" => s.push('\n'),
            Node::El { children, .. } => s.push_str(&raw_text(children)),
        }
    }
    s
}

/// One paragraph of inline nodes; hard breaks split it into lines.
fn paragraph(nodes: &[&Node]) -> String {
    let mut text = String::new();
    for node in nodes {
        inline(node, &mut text);
    }
    text.split('\n')
        .map(|l| escape_line(l.trim()))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\\\n")
}

fn inline(node: &Node, out: &mut String) {
    match node {
        Node::Text(t) => out.push_str(&escape_inline(&collapse(t))),
        Node::El {
            tag,
            href,
            children,
        } => {
            let mut inner = String::new();
            for child in children {
                inline(child, &mut inner);
            }
            match tag.as_str() {
                "br" => out.push('\n'),
                "em" | "i" => wrap(out, &inner, "*"),
                "strong" | "b" => wrap(out, &inner, "**"),
                "del" | "s" => wrap(out, &inner, "~~"),
                "code" => {
                    let code = collapse(&raw_text(children));
                    let code = code.trim();
                    if !code.is_empty() {
                        let tick = if code.contains('`') { "`` " } else { "`" };
                        let close = if code.contains('`') { " ``" } else { "`" };
                        out.push_str(tick);
                        out.push_str(code);
                        out.push_str(close);
                    }
                }
                "a" => match href {
                    Some(href) if !href.is_empty() => {
                        let label = inner.trim();
                        let target = href
                            .replace('<', "%3C")
                            .replace('>', "%3E")
                            .replace(' ', "%20");
                        if label.is_empty() || escape_inline(href) == label {
                            out.push('<');
                            out.push_str(&target);
                            out.push('>');
                        } else {
                            out.push('[');
                            out.push_str(label);
                            out.push_str("](<");
                            out.push_str(&target);
                            out.push_str(">)");
                        }
                    }
                    _ => out.push_str(&inner),
                },
                _ => out.push_str(&inner),
            }
        }
    }
}

/// Emphasis markers hug the text: spaces at the edges move outside them.
fn wrap(out: &mut String, inner: &str, marker: &str) {
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        out.push_str(inner);
        return;
    }
    if inner.starts_with(char::is_whitespace) {
        out.push(' ');
    }
    out.push_str(marker);
    out.push_str(trimmed);
    out.push_str(marker);
    if inner.ends_with(char::is_whitespace) {
        out.push(' ');
    }
}

/// HTML whitespace rules: any run of whitespace is one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            space = true;
        } else {
            if space {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

/// Characters that would mean something to Markdown are escaped, so text stays text.
pub(crate) fn escape_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '|' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A line that would start a heading, list, quote or rule gets its marker escaped.
pub(crate) fn escape_line(line: &str) -> String {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && matches!(line[digits..].chars().next(), Some('.') | Some(')')) {
        return format!("{}\\{}", &line[..digits], &line[digits..]);
    }
    match line.chars().next() {
        Some('#' | '+' | '-' | '=') => format!("\\{line}"),
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn markdown_is_kept_and_rendered_inert() {
        let b = from_markdown("\r\nHello **you**\r\n\r\n[x](https://x.example)\u{0}\n\n");
        assert_eq!(b.src, "Hello **you**\n\n[x](https://x.example)");
        assert_eq!(
            b.html,
            "<p>Hello <strong>you</strong></p>\n<p><a href=\"https://x.example\" rel=\"nofollow ugc noopener\">x</a></p>\n"
        );
        for payload in [
            "<script>alert(1)</script>",
            "hi <img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
        ] {
            let b = from_markdown(payload);
            assert_eq!(b.src, payload);
            assert!(!b.html.contains("<script"), "{}", b.html);
            assert!(!b.html.contains("<img"), "{}", b.html);
            assert!(!b.html.contains("<a href=\"javascript"), "{}", b.html);
        }
        assert!(
            from_markdown("<script>alert(1)</script>")
                .html
                .contains("&lt;script&gt;")
        );
    }

    #[test]
    fn paragraphs_links_and_emphasis() {
        let b = from_html(
            r#"<p>Hello <b>bold</b> and <a href="https://x.example/a?b=1&amp;c=2">a link</a>.</p><p>Two<br>lines</p>"#,
        );
        assert_eq!(
            b.src,
            "Hello **bold** and [a link](<https://x.example/a?b=1&c=2>).\n\nTwo\\\nlines"
        );
        assert!(
            b.html
                .contains(r#"<a href="https://x.example/a?b=1&amp;c=2""#),
            "{}",
            b.html
        );
        assert!(b.html.contains("<strong>bold</strong>"), "{}", b.html);
        assert!(b.html.contains("<br"), "{}", b.html);
    }

    #[test]
    fn scripts_and_handlers_are_stripped() {
        let b = from_html(
            r#"<p>ok<script>alert('x')</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a></p><style>p{}</style><iframe src="https://evil.example"></iframe>"#,
        );
        assert_eq!(b.src, "okclick");
        for bad in [
            "script",
            "alert",
            "onerror",
            "javascript",
            "iframe",
            "style",
        ] {
            assert!(!b.html.contains(bad), "{bad} in {}", b.html);
            assert!(!b.src.contains(bad), "{bad} in {}", b.src);
        }
    }

    #[test]
    fn markdown_characters_in_text_stay_text() {
        let b = from_html("<p># not a heading *not em* [x](y) 1. no list &lt;b&gt;</p>");
        assert!(!b.html.contains("<h1"), "{}", b.html);
        assert!(!b.html.contains("<em>"), "{}", b.html);
        assert!(!b.html.contains("<a"), "{}", b.html);
        assert!(b.html.contains("*not em*"), "{}", b.html);
        assert!(b.html.contains("&lt;b&gt;"), "{}", b.html);
    }

    #[test]
    fn lists_quotes_and_code() {
        let b = from_html(
            "<blockquote><p>quoted</p></blockquote><ul><li>one</li><li>two</li></ul><ol><li>a</li></ol><pre><code>x = 1;\ny</code></pre><p><code>a*b</code></p>",
        );
        assert_eq!(
            b.src,
            "> quoted\n\n- one\n- two\n\n1. a\n\n```\nx = 1;\ny\n```\n\n`a*b`"
        );
        assert!(b.html.contains("<blockquote>"), "{}", b.html);
        assert!(b.html.contains("<li>two</li>"), "{}", b.html);
        assert!(b.html.contains("<code>a*b</code>"), "{}", b.html);
    }

    #[test]
    fn wordpress_text_keeps_its_lines() {
        let b = from_text_with_html("First line\nsecond line\n\nNew <em>para</em>");
        assert_eq!(b.src, "First line\\\nsecond line\n\nNew *para*");
        assert!(b.html.contains("<p>New <em>para</em></p>"), "{}", b.html);
    }

    #[test]
    fn unicode_passes_through() {
        let b = from_html("<p>Drölfter! Радио-Т 229 ✓ 日本</p>");
        assert_eq!(b.src, "Drölfter! Радио-Т 229 ✓ 日本");
    }

    proptest! {
        /// Whatever words a message holds, a rendered import shows them as text, and a
        /// script never survives.
        #[test]
        fn text_survives_and_scripts_never_do(words in proptest::collection::vec("[a-zA-Z0-9*_#<>&\\[\\]`!.-]{1,8}", 1..12)) {
            let text = words.join(" ");
            let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let b = from_html(&format!("<p>{escaped}<script>evil()</script></p>"));
            prop_assert!(!b.html.contains("evil"));
            let shown = b.html.replace("<p>", "").replace("</p>", "").replace("&lt;", "<")
                .replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
            prop_assert_eq!(shown.trim(), text.as_str());
        }
    }
}
