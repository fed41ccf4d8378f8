//! The word-list matcher: a 5,000-character comment against a 5,000-entry list.
//!
//! `cargo bench -p parley-core --bench wordlist`
//!
//! The list and the comments are generated (deterministically) to look like the real thing:
//! the list mixes made-up words, words that share long prefixes with the comment's own
//! vocabulary (so the matcher walks deep into the trie before giving up), phrases that
//! start with common words, and wildcard stems; the comment is English prose with
//! punctuation, numbers, accents, an emoji, and short one-letter words.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use parley_core::wordlist::WordList;

/// A small deterministic generator (xorshift), so every run measures the same input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let n = items.len() as u64;
        items
            .get((self.next() % n) as usize)
            .copied()
            .unwrap_or_default()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const VOCABULARY: &[&str] = &[
    "the",
    "council",
    "said",
    "that",
    "new",
    "housing",
    "plan",
    "would",
    "bring",
    "more",
    "homes",
    "to",
    "town",
    "but",
    "residents",
    "were",
    "not",
    "convinced",
    "and",
    "many",
    "asked",
    "why",
    "nobody",
    "had",
    "told",
    "them",
    "about",
    "traffic",
    "school",
    "places",
    "or",
    "parking",
    "I",
    "think",
    "this",
    "article",
    "misses",
    "point",
    "entirely",
    "because",
    "people",
    "who",
    "live",
    "here",
    "have",
    "been",
    "saying",
    "same",
    "thing",
    "for",
    "years",
    "government",
    "should",
    "listen",
    "instead",
    "of",
    "pretending",
    "everything",
    "is",
    "fine",
    "report",
    "shows",
    "costs",
    "rising",
    "again",
    "while",
    "wages",
    "stay",
    "flat",
    "a",
    "lot",
    "families",
    "struggle",
    "with",
    "rent",
    "energy",
    "bills",
    "food",
    "prices",
    "honestly",
    "don't",
    "know",
    "what",
    "answer",
    "mayor",
    "promised",
    "change",
    "last",
    "election",
    "nothing",
    "happened",
    "since",
    "then",
    "my",
    "neighbour",
    "waited",
    "months",
    "repair",
    "roof",
    "landlord",
    "ignored",
    "every",
    "letter",
    "well",
    "written",
    "piece",
    "thanks",
    "journalist",
    "digging",
    "into",
    "details",
    "numbers",
    "speak",
    "themselves",
    "weekly",
    "meeting",
    "open",
    "public",
    "anyone",
    "can",
    "attend",
    "share",
    "views",
    "hope",
    "they",
    "read",
    "comments",
    "café",
    "naïve",
    "résumé",
    "station",
    "bridge",
    "river",
    "library",
    "hospital",
    "doctor",
    "nurse",
    "teacher",
    "bus",
    "train",
    "cycle",
    "lane",
    "road",
    "works",
    "summer",
    "winter",
    "flood",
    "storm",
    "weather",
    "forecast",
    "market",
    "shop",
    "closed",
    "opened",
    "local",
    "business",
    "owner",
    "tax",
];

const SYLLABLES: &[&str] = &[
    "ba", "ko", "ri", "tel", "mon", "gra", "spi", "der", "lo", "un", "sta", "ve", "qu", "zor",
    "pha", "nix", "ter", "al", "bro", "cre", "dim", "fu", "gle", "hy", "jo", "kra", "lu", "mi",
    "no", "pe", "ros", "sli", "tu", "vi", "wex", "yo", "zu", "ch", "sh", "th", "ing", "er",
];

fn made_up_word(rng: &mut Rng) -> String {
    let n = 2 + rng.below(3);
    (0..n).map(|_| rng.pick(SYLLABLES)).collect()
}

/// 5,000 entries: made-up words, vocabulary words with a suffix, phrases, wildcard stems.
fn generate_list() -> String {
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let mut lines = vec!["# generated banned list".to_owned()];
    let mut count = 0;
    while count < 5_000 {
        let line = match rng.below(20) {
            0..=9 => made_up_word(&mut rng),
            10..=13 => {
                let w = rng.pick(VOCABULARY);
                format!("{w}{}", rng.pick(&["x", "zz", "ity", "ism", "q", "oid"]))
            }
            14..=15 => format!("{} {}", rng.pick(VOCABULARY), made_up_word(&mut rng)),
            16..=17 => format!("{}*", made_up_word(&mut rng)),
            _ => format!("{} {}", made_up_word(&mut rng), made_up_word(&mut rng)),
        };
        lines.push(line);
        count += 1;
    }
    lines.join("\n")
}

/// About 5,000 characters of prose that hits nothing in the list.
fn generate_comment(seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    let mut sentence_start = true;
    while out.chars().count() < 5_000 {
        let word = match rng.below(40) {
            0 => "2024".to_owned(),
            1 => format!("{}", rng.below(100)),
            2 => "🙂".to_owned(),
            3 => "4 weeks".to_owned(),
            4 => "a b c".to_owned(),
            _ => rng.pick(VOCABULARY).to_owned(),
        };
        if sentence_start {
            let mut cs = word.chars();
            if let Some(first) = cs.next() {
                out.extend(first.to_uppercase());
                out.push_str(cs.as_str());
            }
        } else {
            out.push_str(&word);
        }
        sentence_start = false;
        match rng.below(12) {
            0 => {
                out.push_str(". ");
                sentence_start = true;
            }
            1 => out.push_str(", "),
            2 => out.push_str("! "),
            _ => out.push(' '),
        }
    }
    out.chars().take(5_000).collect()
}

fn bench(c: &mut Criterion) {
    let source = generate_list();
    let list = WordList::parse(&source).unwrap_or_default();
    assert_eq!(list.len(), 5_000);
    let miss = generate_comment(0x0123_4567_89ab_cdef);
    assert_eq!(miss.chars().count(), 5_000);
    assert!(list.find(&miss).is_none(), "the miss comment hits");

    let entries: Vec<&str> = list
        .entries()
        .iter()
        .filter(|e| !e.wildcard && !e.normalised.contains(' ') && e.normalised.len() >= 6)
        .map(|e| e.normalised.as_str())
        .take(5)
        .collect();
    // The same prose with five disguised entries, one in each fifth of it (at a space).
    let mut hit = String::new();
    let mut rest = miss.as_str();
    for (k, e) in entries.iter().enumerate() {
        let target = miss.len() * (2 * k + 1) / 10;
        let done = miss.len() - rest.len();
        let at = rest
            .char_indices()
            .find(|&(i, c)| done + i >= target && c == ' ')
            .map_or(rest.len(), |(i, _)| i + 1);
        let (before, after) = rest.split_at_checked(at).unwrap_or((rest, ""));
        hit.push_str(before);
        let disguised: String = e
            .chars()
            .map(|ch| match ch {
                'o' => '0',
                'e' => '3',
                'a' => 'а', // Cyrillic
                other => other,
            })
            .collect();
        hit.push_str(&disguised.to_uppercase());
        hit.push_str("! ");
        rest = after;
    }
    hit.push_str(rest);
    let found = list.find_all(&hit).len();
    assert_eq!(found, 5, "the hit comment should hit five times");

    let spaced: String = "s p a c e d o u t ".repeat(250);

    let mut g = c.benchmark_group("wordlist");
    g.bench_function("find, 5000-char comment, no hit, 5000 entries", |b| {
        b.iter(|| list.find(black_box(&miss)))
    });
    g.bench_function("find_all, 5000-char comment, 5 hits, 5000 entries", |b| {
        b.iter(|| list.find_all(black_box(&hit)))
    });
    g.bench_function(
        "find, 5000 chars of spaced single letters, 5000 entries",
        |b| b.iter(|| list.find(black_box(&spaced))),
    );
    g.bench_function("parse 5000 entries", |b| {
        b.iter(|| WordList::parse(black_box(&source)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
