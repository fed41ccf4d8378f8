//! The plain text of a news page as a browser copies it:
//!
//! ```text
//! HEADLINE
//! STANDFIRST
//! DATE                     (e.g. "Tuesday 4 March 2025 09.30 GMT", "4 March 2025", "2025-03-04")
//! CAPTION ... CREDIT: WHO  (optional)
//! body paragraphs, with short subheading lines between them
//! Selected comments from our readers:     (optional: the comments under it are featured)
//! AUTHOR
//! comment text, one or more paragraphs
//! Reply to AUTHOR          (the next comment answers AUTHOR's latest comment above)
//! AUTHOR
//! text
//! 42 comments              (optional heading)
//! 1                        (or "1." or "1. AUTHOR": a numbered top-level comment)
//! AUTHOR
//! text
//! Enter comments here:     (the comment box: the end of the content)
//! ```
//!
//! Without numbers (the selected block), a new comment starts at a name-like line
//! (short, no closing punctuation) after a blank line.

use crate::body::{escape_inline, escape_line};
use crate::plan::{PlannedItem, PlannedStory, Skip, plan_all};
use crate::{ParseError, Source, SourceAuthor, SourceItem, SourcePost, SourceStatus, SourceThread};

/// Parses a page; `url` is the story's address (default `/stories/SLUG`).
pub fn parse_page(text: &str, url: Option<&str>) -> Result<Vec<PlannedItem>, ParseError> {
    let lines: Vec<(u64, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.trim()))
        .collect();
    let mut content = lines.iter().filter(|(_, l)| !l.is_empty());
    let (_, headline) = content
        .next()
        .ok_or_else(|| ParseError::new(1, "the page is empty: expected a headline line"))?;
    let (sf_line, standfirst) = content
        .next()
        .ok_or_else(|| ParseError::new(1, "expected a standfirst line after the headline"))?;
    let (date_line, date) = content
        .next()
        .ok_or_else(|| ParseError::new(*sf_line, "expected a date line after the standfirst"))?;
    let published_at = parse_date(date).ok_or_else(|| {
        ParseError::new(
            *date_line,
            format!("expected the date (like \"4 March 2025\"), found {date:?}"),
        )
    })?;
    let url = url
        .map(str::to_owned)
        .unwrap_or_else(|| format!("/stories/{}", parley_core::slugify(headline)));

    let start = lines
        .iter()
        .position(|(n, _)| n == date_line)
        .map_or(lines.len(), |i| i + 1);
    let mut rest = &lines[start..];
    while rest.first().is_some_and(|(_, l)| l.is_empty()) {
        rest = &rest[1..];
    }
    let (mut picture_caption, mut picture_credit) = (None, None);
    if let Some((_, first)) = rest.first()
        && let Some(i) = first.to_uppercase().find("CREDIT:")
        && first.is_char_boundary(i)
    {
        picture_caption = Some(first[..i].trim().to_owned()).filter(|c| !c.is_empty());
        picture_credit = Some(first[i + 7..].trim().to_owned()).filter(|c| !c.is_empty());
        rest = &rest[1..];
    }

    let comments_at = rest
        .iter()
        .position(|(_, l)| starts_comments(l))
        .unwrap_or(rest.len());
    let body_md = body_markdown(&rest[..comments_at]);
    let story = PlannedStory {
        key: url.clone(),
        url: url.clone(),
        headline: headline.to_string(),
        standfirst: standfirst.to_string(),
        body_md,
        published_at: Some(published_at),
        picture_caption,
        picture_credit,
        closed: false,
    };
    let (entries, mut skips) = comment_entries(&rest[comments_at..]);

    let mut items = vec![SourceItem::Thread(SourceThread {
        key: url.clone(),
        url: url.clone(),
        title: headline.to_string(),
        created_at: Some(published_at),
        closed: false,
        line: 1,
    })];
    let mut orphans = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let parent = e.reply_to.as_ref().map(|name| {
            entries[..i]
                .iter()
                .rposition(|p| p.author.to_lowercase() == name.to_lowercase())
                .map(|j| format!("{url}#{}", j + 1))
                .ok_or_else(|| name.clone())
        });
        let parent_key = match parent {
            Some(Ok(key)) => Some(key),
            Some(Err(name)) => {
                orphans.push((i, name));
                None
            }
            None => None,
        };
        items.push(SourceItem::Post(SourcePost {
            key: format!("{url}#{}", i + 1),
            thread_key: url.clone(),
            parent_key,
            author: SourceAuthor {
                name: e.author.clone(),
                email: None,
                username: None,
            },
            message: e.text.clone(),
            // Copied pages carry no comment times: keep page order, after the story.
            created_at: Some(published_at + i as i64 + 1),
            status: SourceStatus::Approved,
            featured: e.featured,
            line: e.line,
        }));
    }
    let mut planned = plan_all(Source::Text, items);
    for item in &mut planned {
        match item {
            PlannedItem::Story(s) => *s = story.clone(),
            PlannedItem::Comment(c) => {
                if let Some((_, name)) = orphans
                    .iter()
                    .find(|(i, _)| c.key == format!("{url}#{}", i + 1))
                {
                    c.missing_parent = Some(format!("a comment by {name}"));
                }
            }
            PlannedItem::Skip(_) => {}
        }
    }
    if !planned.iter().any(|i| matches!(i, PlannedItem::Story(_))) {
        planned.insert(0, PlannedItem::Story(story));
    }
    planned.append(&mut skips);
    Ok(planned)
}

fn lower(l: &str) -> String {
    l.to_lowercase()
}

fn is_selected_heading(l: &str) -> bool {
    let l = lower(l);
    l.starts_with("selected comments")
        || (l.starts_with("selected ") && l.trim_end_matches(':').ends_with("readers"))
}

fn is_comments_heading(l: &str) -> bool {
    let l = lower(l);
    let l = l.trim_end_matches(':');
    let words: Vec<&str> = l.split_whitespace().collect();
    matches!(
        words.as_slice(),
        ["comments"] | ["readers'", "comments"] | ["readers’", "comments"] | ["all", "comments"]
    ) || (words.len() == 2
        && words[0].chars().all(|c| c.is_ascii_digit() || c == ',')
        && matches!(words[1], "comments" | "comment"))
        || (words.first() == Some(&"comments") && words.len() == 2 && words[1].starts_with('('))
}

fn is_comment_box(l: &str) -> bool {
    lower(l).starts_with("enter comments here")
}

/// A number line: "1", "1." — or "1. NAME", returning the name.
fn number_line(l: &str) -> Option<Option<&str>> {
    let digits = l.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 6 {
        return None;
    }
    let rest = &l[digits..];
    if rest.is_empty() || rest == "." {
        return Some(None);
    }
    let name = rest
        .strip_prefix(". ")
        .or_else(|| rest.strip_prefix(") "))?
        .trim();
    (!name.is_empty() && name_like(name)).then_some(Some(name))
}

fn reply_line(l: &str) -> Option<&str> {
    let lowered = lower(l);
    if lowered.starts_with("reply to ") && l.is_char_boundary(9) {
        Some(l[9..].trim().trim_end_matches(':').trim()).filter(|n| !n.is_empty())
    } else {
        None
    }
}

fn starts_comments(l: &str) -> bool {
    is_selected_heading(l)
        || is_comments_heading(l)
        || is_comment_box(l)
        || reply_line(l).is_some()
        || matches!(number_line(l), Some(None))
}

/// Short, few words, no closing punctuation: a name or a subheading.
fn name_like(l: &str) -> bool {
    let chars = l.chars().count();
    chars <= 40
        && l.split_whitespace().count() <= 5
        && !l.ends_with(['.', '!', '?', ',', ';', ':', '"', '\'', ')', '…', '”', '’'])
}

fn is_subheading(l: &str) -> bool {
    l.chars().count() <= 60
        && l.split_whitespace().count() <= 8
        && !l.ends_with(['.', '!', '?', ',', ';', ':', '"', '”', '…', ')'])
}

fn body_markdown(lines: &[(u64, &str)]) -> String {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, blocks: &mut Vec<String>| {
        if !para.is_empty() {
            blocks.push(escape_line(&escape_inline(&para.join(" "))));
            para.clear();
        }
    };
    // A browser's copy puts each paragraph on its own line.
    for (_, l) in lines {
        flush(&mut para, &mut blocks);
        if l.is_empty() {
            continue;
        }
        if is_subheading(l) {
            blocks.push(format!("## {}", escape_inline(l)));
        } else {
            para.push(l);
        }
    }
    flush(&mut para, &mut blocks);
    blocks.join("\n\n")
}

#[derive(Debug)]
struct Entry {
    author: String,
    reply_to: Option<String>,
    text: String,
    featured: bool,
    line: u64,
}

fn comment_entries(lines: &[(u64, &str)]) -> (Vec<Entry>, Vec<PlannedItem>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut skips = Vec::new();
    let mut current: Option<Entry> = None;
    let mut featured = false;
    let mut expect_author = false;
    let mut pending_reply: Option<String> = None;
    let mut blank_before = true;

    let close =
        |current: &mut Option<Entry>, entries: &mut Vec<Entry>, skips: &mut Vec<PlannedItem>| {
            if let Some(mut e) = current.take() {
                e.text = e.text.trim().to_owned();
                if e.text.is_empty() {
                    skips.push(PlannedItem::Skip(Skip::new(
                        e.line,
                        format!("a comment by {} without text", e.author),
                    )));
                } else if !e.featured
                    && entries
                        .iter()
                        .any(|p| p.featured && p.author == e.author && p.text == e.text)
                {
                    skips.push(PlannedItem::Skip(Skip::new(
                        e.line,
                        format!("the comment by {} repeats a selected comment", e.author),
                    )));
                } else {
                    entries.push(e);
                }
            }
        };

    for &(n, l) in lines {
        if l.is_empty() {
            blank_before = true;
            if let Some(e) = &mut current
                && !e.text.is_empty()
                && !e.text.ends_with("\n\n")
            {
                e.text.push_str("\n\n");
            }
            continue;
        }
        let was_blank = std::mem::replace(&mut blank_before, false);
        if is_comment_box(l) {
            break;
        }
        if is_selected_heading(l) {
            close(&mut current, &mut entries, &mut skips);
            featured = true;
            continue;
        }
        if is_comments_heading(l) {
            close(&mut current, &mut entries, &mut skips);
            featured = false;
            continue;
        }
        if let Some(numbered) = number_line(l) {
            close(&mut current, &mut entries, &mut skips);
            featured = false;
            pending_reply = None;
            match numbered {
                Some(name) => current = Some(entry(name, None, featured, n)),
                None => expect_author = true,
            }
            continue;
        }
        if let Some(name) = reply_line(l) {
            match &mut current {
                Some(e) if e.text.is_empty() && e.reply_to.is_none() => {
                    e.reply_to = Some(name.to_owned());
                }
                _ => {
                    close(&mut current, &mut entries, &mut skips);
                    pending_reply = Some(name.to_owned());
                    expect_author = true;
                }
            }
            continue;
        }
        let starts_entry = expect_author
            || current.is_none()
            || (featured
                && was_blank
                && current.as_ref().is_some_and(|e| !e.text.is_empty())
                && name_like(l));
        if starts_entry {
            close(&mut current, &mut entries, &mut skips);
            current = Some(entry(l, pending_reply.take(), featured, n));
            expect_author = false;
        } else if let Some(e) = &mut current {
            if !e.text.is_empty() && !e.text.ends_with('\n') {
                e.text.push('\n');
            }
            e.text.push_str(l);
        }
    }
    close(&mut current, &mut entries, &mut skips);
    (entries, skips)
}

fn entry(author: &str, reply_to: Option<String>, featured: bool, line: u64) -> Entry {
    Entry {
        author: author.to_owned(),
        reply_to,
        text: String::new(),
        featured,
        line,
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A page's date line to unix milliseconds (UTC): day, month name and year in either
/// order, or ISO `YYYY-MM-DD`, with an optional `HH:MM` / `HH.MM` time.
pub fn parse_date(line: &str) -> Option<i64> {
    let mut year = None;
    let mut month = None;
    let mut day = None;
    let mut hm = (0u8, 0u8);
    for raw in line.split(|c: char| c.is_whitespace() || c == ',') {
        let token = raw.trim_matches(|c: char| !c.is_alphanumeric());
        if token.is_empty() {
            continue;
        }
        let parts: Vec<&str> = raw.split('-').collect();
        if parts.len() == 3 && parts[0].len() == 4 {
            year = parts[0].parse::<i32>().ok();
            month = parts[1].parse::<u8>().ok();
            day = parts[2].get(..2).unwrap_or(parts[2]).parse::<u8>().ok();
            continue;
        }
        let time_parts: Vec<&str> = raw.split([':', '.']).collect();
        if time_parts.len() == 2
            && let (Ok(h), Ok(m)) = (
                time_parts[0].parse::<u8>(),
                time_parts[1].get(..2).unwrap_or("").parse::<u8>(),
            )
        {
            hm = (h, m);
            continue;
        }
        let lowered = token.to_lowercase();
        if let Some(m) = MONTHS.iter().position(|m| lowered.starts_with(m)) {
            if lowered.len() >= 3 && month.is_none() {
                month = Some(m as u8 + 1);
            }
            continue;
        }
        let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() == 4 {
            year = digits.parse().ok();
        } else if !digits.is_empty() && digits.len() <= 2 && day.is_none() {
            day = digits.parse().ok();
        }
    }
    let month = time::Month::try_from(month?).ok()?;
    let date = time::Date::from_calendar_date(year?, month, day?).ok()?;
    let time = time::Time::from_hms(hm.0, hm.1, 0).ok()?;
    let at = time::PrimitiveDateTime::new(date, time).assume_utc();
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::plan::PlannedComment;

    const PAGE: &str = "\
Harbour town votes to keep its ferry
A narrow majority backs the council's plan to run the crossing itself
Tuesday 4 March 2025 09.30 GMT
The morning ferry leaves the north quay in light rain. CREDIT: Quayside Pictures

The council's vote came after a long evening meeting in the old market hall.

Supporters said the crossing was a lifeline for the island villages.
What happens next
The first timetable under the new operator starts in May.

Selected comments from our readers:
Morag Bell
This is the best news the island has had in years.

We rely on that boat for everything.
Reply to Morag Bell
Tom Reid
Agreed, though the fares will tell.

37 comments
1
Ann Lee
Who pays when the engine breaks down?
Reply to Ann Lee
Morag Bell
The reserve fund does, as the report explains.
2. Sam Ortiz
Let's see the figures first!
Reply to Nobody Known
Tom Reid
Replying into the void.
Enter comments here:
This box text is not a comment.
";

    fn comments(items: &[PlannedItem]) -> Vec<&PlannedComment> {
        items
            .iter()
            .filter_map(|i| match i {
                PlannedItem::Comment(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_the_story() {
        let items = parse_page(PAGE, None).unwrap();
        let PlannedItem::Story(s) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(s.headline, "Harbour town votes to keep its ferry");
        assert!(s.standfirst.starts_with("A narrow majority"));
        assert_eq!(s.published_at, parse_date("2025-03-04 09:30"));
        assert_eq!(
            s.picture_caption.as_deref(),
            Some("The morning ferry leaves the north quay in light rain.")
        );
        assert_eq!(s.picture_credit.as_deref(), Some("Quayside Pictures"));
        assert_eq!(s.url, "/stories/harbour-town-votes-to-keep-its-ferry");
        assert_eq!(
            s.body_md,
            "The council's vote came after a long evening meeting in the old market hall.\n\n\
             Supporters said the crossing was a lifeline for the island villages.\n\n\
             ## What happens next\n\n\
             The first timetable under the new operator starts in May."
        );
    }

    #[test]
    fn reads_comments_replies_and_featured() {
        let items = parse_page(PAGE, Some("https://news.example/ferry")).unwrap();
        let c = comments(&items);
        let got: Vec<(&str, Option<&str>, bool)> = c
            .iter()
            .map(|c| (c.author.name.as_str(), c.parent_key.as_deref(), c.featured))
            .collect();
        let u = "https://news.example/ferry";
        assert_eq!(
            got,
            [
                ("Morag Bell", None, true),
                ("Tom Reid", Some(&*format!("{u}#1")), true),
                ("Ann Lee", None, false),
                ("Morag Bell", Some(&*format!("{u}#3")), false),
                ("Sam Ortiz", None, false),
                ("Tom Reid", None, false),
            ]
        );
        assert_eq!(
            c[0].body.src,
            "This is the best news the island has had in years.\n\nWe rely on that boat for everything."
        );
        assert_eq!(
            c[5].missing_parent.as_deref(),
            Some("a comment by Nobody Known")
        );
        assert!(c.iter().all(|c| !c.body.src.contains("box text")));
        assert!(c.windows(2).all(|w| w[0].created_at < w[1].created_at));
    }

    #[test]
    fn a_missing_date_names_its_line() {
        let err = parse_page("Headline\nStandfirst\n\nnot a date at all\n", None).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn dates() {
        let d = parse_date("4 March 2025").unwrap();
        assert_eq!(parse_date("March 4, 2025"), Some(d));
        assert_eq!(parse_date("2025-03-04"), Some(d));
        assert_eq!(parse_date("Tue 4th Mar 2025 00:00"), Some(d));
        assert_eq!(parse_date("Monday"), None);
        assert_eq!(parse_date("31 February 2025"), None);
    }

    #[test]
    fn a_duplicated_selected_comment_is_kept_once() {
        let page = "H\nS\n1 May 2024\nBody text here.\n\nSelected comments from 3 readers:\nAnn\nGreat piece.\n\n1\nAnn\nGreat piece.\n2\nBob\nNot so sure.\nEnter comments here:\n";
        let items = parse_page(page, None).unwrap();
        assert_eq!(comments(&items).len(), 2, "{items:?}");
        assert!(
            items
                .iter()
                .any(|i| matches!(i, PlannedItem::Skip(s) if s.reason.contains("repeats")))
        );
    }

    proptest::proptest! {
        /// Any number of numbered comments, each possibly replying to an earlier author,
        /// reads back with the same authors, texts and parents.
        #[test]
        fn numbered_comments_round_trip(spec in proptest::collection::vec((0usize..4, proptest::option::of(0usize..4), "[a-z]{1,8}( [a-z]{1,8}){0,5}\\."), 1..15)) {
            let names = ["Ann Lee", "Bob Ray", "Cy Dunn", "Dee Fox"];
            let mut page = String::from("Headline\nStandfirst\n2 June 2024\nA body paragraph.\n\n");
            for (i, (who, reply, text)) in spec.iter().enumerate() {
                if let Some(r) = reply {
                    page.push_str(&format!("Reply to {}\n{}\n{}\n", names[*r], names[*who], text));
                } else {
                    page.push_str(&format!("{}\n{}\n{}\n", i + 1, names[*who], text));
                }
            }
            page.push_str("Enter comments here:\n");
            let items = parse_page(&page, Some("u")).unwrap();
            let c = comments(&items);
            proptest::prop_assert_eq!(c.len(), spec.len());
            for (i, (who, reply, text)) in spec.iter().enumerate() {
                proptest::prop_assert_eq!(&c[i].author.name, names[*who]);
                proptest::prop_assert_eq!(&c[i].body.src, &escape_inline(text));
                let expected = reply.and_then(|r| spec[..i].iter().rposition(|(w, _, _)| *w == r)).map(|j| format!("u#{}", j + 1));
                proptest::prop_assert_eq!(c[i].parent_key.clone(), expected);
            }
        }
    }
}
