//! Markdown to sanitised HTML, for comments (a small subset) and story bodies.
//!
//! Raw HTML in the source is shown as text, never interpreted; the rendered HTML then
//! passes an allow-list sanitiser as a second line of defence.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// Renders a reader's comment: paragraphs, emphasis, links, lists, quotes, code.
/// Headings become paragraphs; images and raw HTML never render.
pub fn render_comment(source: &str) -> String {
    let events = Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Heading { .. }) => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::Heading(_)) => Event::End(TagEnd::Paragraph),
        Event::Start(Tag::Image { dest_url, .. }) => Event::Text(dest_url),
        Event::End(TagEnd::Image) => Event::Text(CowStr::Borrowed("")),
        other => other,
    });
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    html::push_html(&mut out, events);
    COMMENT_CLEANER.clean(&out).to_string()
}

/// Renders a story body written by staff: adds subheadings (level 2 to 4, the headline
/// is the page's level 1), figures, tables and images.
pub fn render_story(source: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Heading {
            level: HeadingLevel::H1,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: HeadingLevel::H2,
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(HeadingLevel::H1)) => {
            Event::End(TagEnd::Heading(HeadingLevel::H2))
        }
        other => other,
    });
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    html::push_html(&mut out, events);
    story_cleaner().clean(&out).to_string()
}

/// Built once: a builder is a dozen hash sets, and making one per comment cost more
/// than cleaning it (an import renders every comment).
static COMMENT_CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(comment_cleaner);

fn comment_cleaner() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::empty();
    b.tags(HashSet::from([
        "p",
        "br",
        "em",
        "strong",
        "del",
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
    .link_rel(Some("nofollow ugc noopener"));
    b
}

fn story_cleaner() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::empty();
    b.tags(HashSet::from([
        "p",
        "br",
        "em",
        "strong",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "hr",
        "img",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]))
    .tag_attributes(
        [
            ("a", HashSet::from(["href", "title"])),
            ("img", HashSet::from(["src", "alt", "title"])),
        ]
        .into(),
    )
    .url_schemes(HashSet::from(["http", "https", "mailto"]))
    .link_rel(Some("noopener"));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_keep_simple_formatting() {
        assert_eq!(
            render_comment("*hi* **there**"),
            "<p><em>hi</em> <strong>there</strong></p>\n"
        );
        assert!(render_comment("> quoted").contains("<blockquote>"));
        assert!(render_comment("- a\n- b").contains("<li>a</li>"));
    }

    #[test]
    fn links_are_marked_nofollow_ugc_noopener() {
        let html = render_comment("[site](https://example.org)");
        assert!(html.contains(r#"href="https://example.org""#), "{html}");
        assert!(html.contains(r#"rel="nofollow ugc noopener""#), "{html}");
    }

    #[test]
    fn raw_html_and_scripts_render_as_text() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](javascript:alert(1))",
            "<svg onload=alert(1)>",
            "<iframe src=//evil>",
        ] {
            let html = render_comment(payload);
            assert!(!html.contains("<script"), "{payload} -> {html}");
            assert!(!html.contains("<img"), "{payload} -> {html}");
            assert!(!html.contains("<svg"), "{payload} -> {html}");
            assert!(!html.contains("<iframe"), "{payload} -> {html}");
            assert!(
                !html.contains("<a href=\"javascript"),
                "{payload} -> {html}"
            );
        }
    }

    #[test]
    fn images_and_headings_do_not_render_in_comments() {
        let html = render_comment("# Big\n\n![alt](https://example.org/x.png)");
        assert!(!html.contains("<h1") && !html.contains("<img"), "{html}");
        assert!(html.contains("Big"));
    }

    #[test]
    fn story_bodies_have_subheadings_and_quotes() {
        let html = render_story("# Section\n\n## Sub\n\n> \"A quote\"\n\n<b onclick=x>raw</b>");
        assert!(
            html.contains("<h2>Section</h2>") && html.contains("<h2>Sub</h2>"),
            "{html}"
        );
        assert!(html.contains("<blockquote>"));
        assert!(
            !html.contains("<b ") && !html.contains("<b>"),
            "raw HTML is shown as text: {html}"
        );
        assert!(html.contains("&lt;b onclick=x&gt;"), "{html}");
    }
}
