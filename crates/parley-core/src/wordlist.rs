//! Word lists that see through spelling tricks.
//!
//! Moderators keep banned and suspect lists: one entry per line, words or phrases, with an
//! optional trailing `*` for word stems. [`WordList::parse`] reads such a list once into a
//! prefix automaton (a trie over normalised letters); [`WordList::find`] and
//! [`WordList::find_all`] then look for whole-word occurrences in a comment, seeing through
//! case, accents, leetspeak digits and symbols, separators between single letters, letters
//! repeated for effect, zero-width characters and look-alike letters from other scripts.
//! Matches carry the entry as the moderator wrote it and the byte span in the original
//! comment.
//!
//! The exact rules, with examples, are in `docs/WORDLISTS.md`; the table test at the end of
//! this file holds the same examples.
//!
//! # How it works
//!
//! 1. The text becomes a sequence of *units*, one per normalised character, each remembering
//!    the byte span of the original character it came from (`scan`): zero-width characters
//!    are dropped, every character is decomposed (NFKD) and stripped of combining marks,
//!    look-alikes are folded to Latin letters, then everything is lowercased.
//! 2. Context decides what digits and symbols are (`classify`): a leet digit is a letter
//!    only in a digit run touching a letter (`h4te`), otherwise it is part of a number
//!    (`4 weeks`, `2024`); a leet symbol between letters is a letter (`sh!t`), at the edge of a
//!    word it may be either (`$hit`, `orc!`), alone it is punctuation; runs of one-letter
//!    words (`o r c`, `s.p.a.c.e.d`) are glued together into one word.
//! 3. The matcher tries every place where a word may start and walks the trie: plain
//!    letters on a fast path with a single state, anything else with a small set of states
//!    that branches only where the text is ambiguous (`1` is `i` or `l`; a repeated letter is
//!    either the entry's next letter or a repeat for effect; a trailing `!` is either a
//!    letter or punctuation). It needs no allocation per step and stops as soon as no entry
//!    can continue, so the work is linear in the comment's length.

use std::fmt;
use std::ops::Range;

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The longest entry, in normalised letters and word gaps.
pub const MAX_ENTRY_CHARS: usize = 200;

/// A trie node or entry index.
type Id = u32;
/// No node / no entry.
const NONE: Id = Id::MAX;
/// The trie's root.
const ROOT: Id = 0;
/// Trie node head flags (see `TrieBuilder::emit_node`).
const GAP_BIT: u32 = 26;
const LETTER_BITS: u32 = (1 << 27) - 1;
const HAS_EXACT: u32 = 1 << 27;
const HAS_WILD: u32 = 1 << 28;
const HAS_OTHER: u32 = 1 << 29;

/// The head bit of `a`..=`z` and the phrase gap; other letters have none.
#[inline]
fn letter_bit(c: char) -> Option<u32> {
    match c {
        'a'..='z' => Some(u32::from(c) - u32::from('a')),
        WORD_GAP => Some(GAP_BIT),
        _ => None,
    }
}

/// How many words follow a node's head before its child offsets.
#[inline]
fn head_extra(head: u32) -> usize {
    usize::from(head & HAS_EXACT != 0) + usize::from(head & HAS_WILD != 0)
}

/// The most entries a list may have (keeps every trie index within `Id`).
pub const MAX_ENTRIES: usize = 1_000_000;
/// The trie symbol between the words of a phrase.
const WORD_GAP: char = ' ';
/// "No letter" (the second reading of an unambiguous unit; the last letter at a word start).
const NO_LETTER: char = '\0';

/// One line of a list: what the moderator wrote and what it is compared as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The entry as written (trimmed, comment removed), e.g. `orc*` or `Go back`.
    pub text: String,
    /// 1-based line number in the list.
    pub line: usize,
    /// The normalised form: lowercase letters, words separated by one space, without the `*`.
    pub normalised: String,
    /// Whether the entry ends with the `*` wildcard.
    pub wildcard: bool,
}

/// An occurrence of a listed entry in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordMatch {
    /// The entry as written in the list (e.g. `orc*`).
    pub entry: String,
    /// The entry's 1-based line number in the list.
    pub line: usize,
    /// Byte offset in the original text where the match starts (a char boundary).
    pub start: usize,
    /// Byte offset in the original text where the match ends (exclusive; a char boundary).
    pub end: usize,
}

impl WordMatch {
    /// The byte span in the original text.
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The matched part of `text` (the text the match was found in), as the reader wrote it.
    pub fn matched<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// Why an entry was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryErrorKind {
    #[error("`*` may only end an entry, as in `orc*` (it stands for the rest of a word)")]
    WildcardNotAtEnd,
    #[error("`*` must directly follow a letter, as in `orc*`")]
    WildcardAfterSeparator,
    #[error("nothing is left to match after normalisation: an entry needs letters")]
    Empty,
    #[error("`{0}` is a number or holds a digit that stands for no letter: entries are words")]
    NotAWord(String),
    #[error("longer than {MAX_ENTRY_CHARS} letters")]
    TooLong,
    #[error("a list has at most {MAX_ENTRIES} entries")]
    TooManyEntries,
}

/// A refused line of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryError {
    /// 1-based line number.
    pub line: usize,
    /// The line's entry as written (trimmed, comment removed).
    pub entry: String,
    pub reason: EntryErrorKind,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.entry, self.reason)
    }
}

/// A list that could not be read: every refused line, in order (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordListError {
    pub errors: Vec<EntryError>,
}

impl fmt::Display for WordListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WordListError {}

/// What a trie node says about the entries that end at it.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// The entry (index) that ends here without a wildcard, or `NONE`.
    exact: Id,
    /// The wildcard entry (index) whose stem ends here, or `NONE`.
    wild: Id,
    /// The child along the gap between the words of a phrase, or `NONE`.
    gap: Id,
}

/// A parsed word list, compiled into a trie. Build it once; share it freely.
#[derive(Clone, Debug, Default)]
pub struct WordList {
    entries: Vec<Entry>,
    /// The trie, flattened into one array: the first levels breadth-first, then each subtree
    /// depth-first (see `TrieBuilder::finish`, and `TrieBuilder::emit_node` for a node's
    /// layout). Node ids are offsets into it; the root is at 0.
    trie: Vec<u32>,
}

impl WordList {
    /// Reads a list: one entry per line; blank lines and `#` comments (from `#` to the end of
    /// the line) are ignored. Every refused line is reported with its line number.
    pub fn parse(source: &str) -> Result<WordList, WordListError> {
        let mut builder = TrieBuilder::new();
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        let mut units = Vec::new();
        for (i, raw) in source.lines().enumerate() {
            let line = i + 1;
            let content = raw.split_once('#').map_or(raw, |(before, _)| before);
            let content = content.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
            if content.is_empty() {
                continue;
            }
            let key = if entries.len() >= MAX_ENTRIES {
                Err(EntryErrorKind::TooManyEntries)
            } else {
                entry_key(content, &mut units)
            };
            match key {
                Ok((normalised, wildcard)) => {
                    builder.insert(&normalised, wildcard, id(entries.len()));
                    entries.push(Entry {
                        text: content.to_owned(),
                        line,
                        normalised,
                        wildcard,
                    });
                }
                Err(reason) => errors.push(EntryError {
                    line,
                    entry: content.to_owned(),
                    reason,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(WordListError { errors });
        }
        Ok(WordList {
            entries,
            trie: builder.finish(),
        })
    }

    /// The entries, in list order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The leftmost occurrence of any entry in `text` (the longest one if several start
    /// there; the earlier line if they also end together).
    pub fn find(&self, text: &str) -> Option<WordMatch> {
        let mut found = None;
        self.scan_matches::<true>(text, |m| {
            found = Some(m);
            false
        });
        found
    }

    /// Every occurrence, left to right, without overlaps (each the leftmost-longest one
    /// after the previous).
    pub fn find_all(&self, text: &str) -> Vec<WordMatch> {
        let mut all = Vec::new();
        self.scan_matches::<true>(text, |m| {
            all.push(m);
            true
        });
        all
    }

    /// `find_all` without the fast path (for testing that it changes nothing).
    #[cfg(test)]
    fn find_all_slowly(&self, text: &str) -> Vec<WordMatch> {
        let mut all = Vec::new();
        self.scan_matches::<false>(text, |m| {
            all.push(m);
            true
        });
        all
    }

    /// Calls `on_match` for each match, left to right, until it returns false. `FAST`: take
    /// the fast path for plain letters (always, except in tests comparing the two).
    fn scan_matches<const FAST: bool>(
        &self,
        text: &str,
        mut on_match: impl FnMut(WordMatch) -> bool,
    ) {
        if self.entries.is_empty() {
            return;
        }
        let mut units = Vec::with_capacity(text.len());
        let mut specials = Vec::new();
        scan(text, &mut units, &mut specials);
        classify(&mut units, &specials, true);
        let mut walk = Walk::default();
        let mut s = 0;
        while s < units.len() {
            if can_start(&units, s)
                && let Some((last, entry)) = self.match_at::<FAST>(&units, s, &mut walk)
            {
                let start = units.get(s).map_or(0, |u| u.start as usize);
                let end = units.get(last).map_or(start, |u| u.end as usize);
                let Some(e) = self.entries.get(entry as usize) else {
                    return;
                };
                let m = WordMatch {
                    entry: e.text.clone(),
                    line: e.line,
                    start,
                    end,
                };
                if !on_match(m) {
                    return;
                }
                s = last + 1;
                continue;
            }
            s = if units
                .get(s)
                .is_some_and(|u| matches!(u.kind, Kind::Letter | Kind::Blocker))
            {
                // No word starts inside a word: go to its end.
                next_where(&units, s + 1, |u| {
                    !matches!(u.kind, Kind::Letter | Kind::Blocker)
                })
                .unwrap_or(units.len())
            } else {
                s + 1
            };
        }
    }

    /// The child of `node` along `c` (a letter, or `WORD_GAP`), or `NONE`.
    #[inline]
    fn child(&self, node: Id, c: char) -> Id {
        let head = self.trie.get(node as usize).copied().unwrap_or(0);
        self.child_of(node, head, c).0
    }

    /// The child of `node` (whose head word is `head`) along `c`, with the child's head word;
    /// `(NONE, 0)` if there is none.
    #[inline]
    fn child_of(&self, node: Id, head: u32, c: char) -> (Id, u32) {
        let slots = node as usize + 1 + head_extra(head);
        if let Some(bit) = letter_bit(c) {
            if head & (1 << bit) == 0 {
                return (NONE, 0);
            }
            let bits = head & LETTER_BITS;
            let i = if bits & (bits - 1) == 0 {
                0 // the only child
            } else {
                (head & ((1 << bit) - 1)).count_ones() as usize
            };
            return match self.trie.get(slots + 2 * i..slots + 2 * i + 2) {
                Some(&[offset, child_head]) => (offset, child_head),
                _ => (NONE, 0),
            };
        }
        if head & HAS_OTHER == 0 {
            return (NONE, 0);
        }
        let base = slots + 2 * (head & LETTER_BITS).count_ones() as usize;
        let Some(&n) = self.trie.get(base) else {
            return (NONE, 0);
        };
        let n = n as usize;
        let Some(letters) = self.trie.get(base + 1..base + 1 + n) else {
            return (NONE, 0);
        };
        let offset = letters
            .binary_search(&u32::from(c))
            .ok()
            .and_then(|i| self.trie.get(base + 1 + n + i))
            .copied()
            .unwrap_or(NONE);
        (offset, self.trie.get(offset as usize).copied().unwrap_or(0))
    }

    /// What node `node` says about entries ending at it.
    #[inline]
    fn node(&self, node: Id) -> Option<Node> {
        let o = node as usize;
        let head = *self.trie.get(o)?;
        let has_exact = usize::from(head & HAS_EXACT != 0);
        let exact = if has_exact == 1 {
            self.trie.get(o + 1).copied().unwrap_or(NONE)
        } else {
            NONE
        };
        let wild = if head & HAS_WILD != 0 {
            self.trie.get(o + 1 + has_exact).copied().unwrap_or(NONE)
        } else {
            NONE
        };
        let at = o + 1 + head_extra(head);
        let gap = if head & (1 << GAP_BIT) == 0 {
            NONE
        } else {
            let i = (head & ((1 << GAP_BIT) - 1)).count_ones() as usize;
            self.trie.get(at + 2 * i).copied().unwrap_or(NONE)
        };
        Some(Node { exact, wild, gap })
    }

    /// The longest match of any entry whose first letter is unit `s`: (last unit, entry).
    fn match_at<const FAST: bool>(
        &self,
        units: &[Unit],
        s: usize,
        walk: &mut Walk,
    ) -> Option<(usize, Id)> {
        walk.best = None;
        // The common case first: plain letters with one way to read them, words ending at
        // separators. Anything else is left to the general walk below.
        let mut u = s;
        let mut node = ROOT;
        let mut head = self.trie.first().copied().unwrap_or(0);
        let mut last = NO_LETTER;
        let mut mode = Mode::Word;
        while let Some(unit) = units.get(u).filter(|_| FAST) {
            if mode == Mode::Between {
                match unit.kind {
                    Kind::Sep => {
                        u += 1;
                        continue;
                    }
                    Kind::Letter if !unit.glued_in => {
                        mode = Mode::Word;
                        last = NO_LETTER;
                    }
                    _ => break,
                }
            }
            if unit.kind != Kind::Letter || unit.b != NO_LETTER || unit.a == last || unit.glue {
                break;
            }
            let (c, c_head) = self.child_of(node, head, unit.a);
            if c == NONE {
                return walk.best;
            }
            if c_head & HAS_WILD != 0 {
                break;
            }
            match units.get(u + 1).map(|f| f.kind) {
                Some(Kind::Letter) => {
                    node = c;
                    head = c_head;
                    last = unit.a;
                    u += 1;
                }
                None | Some(Kind::Sep | Kind::Number | Kind::Lone) => {
                    // The end of a word: an entry may end here, a phrase may go on.
                    let Some(n) = self.node(c) else {
                        return walk.best;
                    };
                    if n.exact != NONE {
                        walk.record(u, n.exact);
                    }
                    if n.gap == NONE {
                        return walk.best;
                    }
                    node = n.gap;
                    head = self.trie.get(node as usize).copied().unwrap_or(0);
                    mode = Mode::Between;
                    u += 1;
                }
                _ => break,
            }
        }
        // Everything else: a small set of states, read one unit at a time.
        walk.cur.clear();
        walk.next.clear();
        walk.cur.push(State { mode, node, last });
        while !walk.cur.is_empty() {
            let Some(unit) = units.get(u) else { break };
            for i in 0..walk.cur.len() {
                let Some(&st) = walk.cur.get(i) else { break };
                match st.mode {
                    Mode::Word => self.consume(units, u, unit, st.node, st.last, walk),
                    Mode::Gap => {
                        if between_singles(unit) {
                            walk.add(st);
                        } else {
                            self.consume(units, u, unit, st.node, st.last, walk);
                        }
                    }
                    Mode::Between => match unit.kind {
                        Kind::Sep | Kind::EdgeTrail => walk.add(st),
                        Kind::EdgeLead => {
                            walk.add(st);
                            if !starts_inside_a_run(units, u) {
                                self.consume(units, u, unit, st.node, NO_LETTER, walk);
                            }
                        }
                        Kind::Letter if !unit.glued_in => {
                            self.consume(units, u, unit, st.node, NO_LETTER, walk)
                        }
                        Kind::Letter | Kind::Blocker | Kind::Number | Kind::Lone => {}
                    },
                }
            }
            std::mem::swap(&mut walk.cur, &mut walk.next);
            walk.next.clear();
            u += 1;
        }
        walk.best
    }

    /// Reads unit `u` as a letter from state (`node`, `last`).
    #[inline]
    fn consume(
        &self,
        units: &[Unit],
        u: usize,
        unit: &Unit,
        node: Id,
        last: char,
        walk: &mut Walk,
    ) {
        if !matches!(unit.kind, Kind::Letter | Kind::EdgeLead | Kind::EdgeTrail) {
            return;
        }
        for x in [unit.a, unit.b] {
            if x == NO_LETTER {
                continue;
            }
            if x == last {
                // A repeat for effect: the entry stays where it was.
                self.after_letter(units, u, unit, node, x, walk);
            }
            let c = self.child(node, x);
            if c != NONE {
                self.after_letter(units, u, unit, c, x, walk);
            }
        }
    }

    /// Records what ends after unit `u` was read as letter `x`, reaching `node`, and queues
    /// the states that read on.
    #[inline]
    fn after_letter(
        &self,
        units: &[Unit],
        u: usize,
        unit: &Unit,
        node: Id,
        x: char,
        walk: &mut Walk,
    ) {
        let Some(n) = self.node(node) else {
            return;
        };
        if n.wild != NONE {
            walk.record(word_end(units, u), n.wild);
        }
        let following = units.get(u + 1);
        let at_boundary = following.is_none_or(|f| {
            matches!(
                f.kind,
                Kind::Sep | Kind::Number | Kind::EdgeTrail | Kind::Lone
            )
        });
        let gap = if at_boundary { n.gap } else { NONE };
        if at_boundary && !unit.glue {
            // The end of a word: an entry may end here, or a phrase go on to the next word.
            if n.exact != NONE {
                walk.record(u, n.exact);
            }
            if gap != NONE {
                walk.add(State {
                    mode: Mode::Between,
                    node: gap,
                    last: NO_LETTER,
                });
            }
        }
        if unit.glue {
            // Inside a run of glued single letters: the word goes on with the next letter,
            // or a phrase goes on with its next word (`y o u o r c` is `you orc`).
            walk.add(State {
                mode: Mode::Gap,
                node,
                last: x,
            });
            if gap != NONE {
                walk.add(State {
                    mode: Mode::Gap,
                    node: gap,
                    last: NO_LETTER,
                });
            }
        } else if following
            .is_some_and(|f| matches!(f.kind, Kind::Letter | Kind::EdgeLead | Kind::EdgeTrail))
        {
            walk.add(State {
                mode: Mode::Word,
                node,
                last: x,
            });
        }
    }
}

/// Where a state is in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Inside a word: the next unit must be read as a letter.
    Word,
    /// Between two glued single letters: separators are skipped, then the word (or the
    /// phrase's next word) goes on with the next letter.
    Gap,
    /// Between two words of a phrase: separators are skipped, then the next word starts.
    Between,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    mode: Mode,
    node: Id,
    /// The letter just read in this word (for repeats), or `NO_LETTER`.
    last: char,
}

/// The matcher's scratch space, reused across start positions.
#[derive(Default)]
struct Walk {
    cur: Vec<State>,
    next: Vec<State>,
    /// The best match so far from this start: (last unit, entry).
    best: Option<(usize, Id)>,
}

impl Walk {
    fn add(&mut self, st: State) {
        if !self.next.contains(&st) {
            self.next.push(st);
        }
    }

    fn record(&mut self, last: usize, entry: Id) {
        let better = match self.best {
            None => true,
            Some((l, e)) => last > l || (last == l && entry < e),
        };
        if better {
            self.best = Some((last, entry));
        }
    }
}

/// Whether a match may start at unit `s`: a letter (or a leading leet symbol) at the start
/// of a word, and not a start that the one just before already covers.
fn can_start(units: &[Unit], s: usize) -> bool {
    let Some(u) = units.get(s) else {
        return false;
    };
    let after_boundary = match s.checked_sub(1).and_then(|p| units.get(p)) {
        None => true,
        Some(p) => match p.kind {
            Kind::Sep | Kind::Number | Kind::Lone | Kind::EdgeTrail => true,
            // Inside a leading block of symbols (`$$hit`): starting one earlier reads the
            // same letter and covers everything a start here would.
            Kind::EdgeLead => !(p.a == u.a && p.b == u.b),
            Kind::Letter | Kind::Blocker => false,
        },
    };
    after_boundary
        && match u.kind {
            Kind::Letter => !u.glued_in,
            Kind::EdgeLead => !starts_inside_a_run(units, s),
            _ => false,
        }
}

/// Whether unit `u` (a letter, or leet symbols before one) is a single letter glued to the
/// one before it: glued single letters form one word, which starts at the first of them.
fn starts_inside_a_run(units: &[Unit], u: usize) -> bool {
    let core = run_end(units, u, |x| x.kind == Kind::EdgeLead);
    units.get(core).is_some_and(|x| x.glued_in)
}

/// The last unit of the word that unit `u` is in (for wildcards): to the end of the token,
/// or of the run of glued single letters.
fn word_end(units: &[Unit], u: usize) -> usize {
    let mut e = u;
    loop {
        let Some(cur) = units.get(e) else {
            return e.saturating_sub(1);
        };
        if cur.glue {
            let mut k = e + 1;
            while units.get(k).is_some_and(between_singles) {
                k += 1;
            }
            if units.get(k).is_none() {
                return e;
            }
            e = k;
            continue;
        }
        match units.get(e + 1) {
            Some(n) if matches!(n.kind, Kind::Letter | Kind::Blocker | Kind::EdgeLead) => {
                e += 1;
            }
            _ => return e,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------

/// What a normalised character is before context is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    Letter,
    /// An ASCII digit with a letter reading (0 1 3 4 5 7 8 9).
    LeetDigit,
    /// Any other digit.
    Digit,
    /// A symbol with a letter reading (@ $ ! | + €).
    Symbol,
    /// Everything else: spaces, punctuation, emoji...
    Sep,
}

/// What a unit is, in context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A letter (possibly a leet digit or symbol inside a word, or a glued lone one).
    Letter,
    /// A leet symbol before the letters of a word (`$hit`): a letter or punctuation.
    EdgeLead,
    /// A leet symbol after the letters of a word (`orc!`, `a$$`): a letter or punctuation.
    EdgeTrail,
    /// A digit inside a word that stands for no letter (`2nd`): part of the word, matches
    /// nothing.
    Blocker,
    /// A digit of a number (a digit run touching no letter).
    Number,
    /// A leet digit or symbol standing alone (`4`, `$`): glued as a letter between single
    /// letters, otherwise punctuation. Only seen while classifying, and in entries.
    Lone,
    /// A separator.
    Sep,
}

/// One normalised character, with the byte span of the original character it came from.
#[derive(Clone, Copy, Debug)]
struct Unit {
    /// Byte offsets in the original text (which `clip` keeps within `u32`).
    start: u32,
    end: u32,
    /// The letter (or the first letter reading).
    a: char,
    /// The second letter reading, or `NO_LETTER`.
    b: char,
    raw: Raw,
    kind: Kind,
    /// A single letter glued to the next single letter (across the separators after it).
    glue: bool,
    /// A single letter glued to the one before it (not the first of its run).
    glued_in: bool,
}

/// Characters dropped before anything else: zero-width and other invisible formatting.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Look-alike letters from other scripts, and Latin letters that NFKD leaves whole,
/// folded to plain Latin. Applied after NFKD, before lowercasing (so upper- and lowercase
/// forms that look different can fold differently, e.g. Greek `Η` → h but `η` → n).
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        // Cyrillic
        'А' | 'а' => "a",
        'В' | 'в' => "b",
        'Е' | 'е' => "e",
        'К' | 'к' => "k",
        'М' | 'м' => "m",
        'Н' | 'н' => "h",
        'О' | 'о' => "o",
        'Р' | 'р' => "p",
        'С' | 'с' => "c",
        'Т' | 'т' => "t",
        'У' | 'у' | 'Ү' | 'ү' => "y",
        'Х' | 'х' => "x",
        'І' | 'і' => "i",
        'Ј' | 'ј' => "j",
        'Ѕ' | 'ѕ' => "s",
        'Ԁ' | 'ԁ' => "d",
        'Ԛ' | 'ԛ' => "q",
        'Ԝ' | 'ԝ' => "w",
        'Һ' | 'һ' => "h",
        'Ӏ' | 'ӏ' => "l",
        'Ѵ' | 'ѵ' => "v",
        // Greek
        'Α' | 'α' => "a",
        'Β' | 'β' => "b",
        'Ε' | 'ε' => "e",
        'Ζ' => "z",
        'Η' => "h",
        'η' => "n",
        'Ι' | 'ι' => "i",
        'Κ' | 'κ' => "k",
        'Μ' => "m",
        'μ' => "u",
        'Ν' => "n",
        'ν' => "v",
        'Ο' | 'ο' => "o",
        'Ρ' | 'ρ' => "p",
        'Τ' | 'τ' => "t",
        'Υ' => "y",
        'υ' => "u",
        'Χ' | 'χ' => "x",
        'ω' => "w",
        'ϲ' | 'Ϲ' => "c",
        'ϳ' => "j",
        'ς' => "σ",
        // Latin letters without a decomposition
        'ß' | 'ẞ' => "ss",
        'Æ' | 'æ' => "ae",
        'Œ' | 'œ' => "oe",
        'Ø' | 'ø' => "o",
        'Đ' | 'đ' | 'Ð' | 'ð' => "d",
        'Ł' | 'ł' => "l",
        'Ħ' | 'ħ' => "h",
        'ı' => "i",
        'ȷ' => "j",
        'ɑ' => "a",
        'ɡ' => "g",
        'ɩ' => "i",
        // Small capitals
        'ᴀ' => "a",
        'ʙ' => "b",
        'ᴄ' => "c",
        'ᴅ' => "d",
        'ᴇ' => "e",
        'ɢ' => "g",
        'ʜ' => "h",
        'ɪ' => "i",
        'ᴊ' => "j",
        'ᴋ' => "k",
        'ʟ' => "l",
        'ᴍ' => "m",
        'ɴ' => "n",
        'ᴏ' => "o",
        'ᴘ' => "p",
        'ʀ' => "r",
        'ꜱ' => "s",
        'ᴛ' => "t",
        'ᴜ' => "u",
        'ᴠ' => "v",
        'ᴡ' => "w",
        'ʏ' => "y",
        'ᴢ' => "z",
        _ => return None,
    })
}

/// Digits and symbols that stand for letters: (first reading, second reading or `NO_LETTER`).
const fn leet(c: char) -> Option<(char, char)> {
    Some(match c {
        '0' => ('o', NO_LETTER),
        '1' => ('i', 'l'),
        '3' => ('e', NO_LETTER),
        '4' => ('a', NO_LETTER),
        '5' => ('s', NO_LETTER),
        '7' => ('t', NO_LETTER),
        '8' => ('b', NO_LETTER),
        '9' => ('g', NO_LETTER),
        '@' => ('a', NO_LETTER),
        '$' => ('s', NO_LETTER),
        '!' => ('i', NO_LETTER),
        '|' => ('l', 'i'),
        '+' => ('t', NO_LETTER),
        '€' => ('e', NO_LETTER),
        _ => return None,
    })
}

/// A separator unit, as a template.
const SEP_UNIT: Unit = Unit {
    start: 0,
    end: 0,
    a: NO_LETTER,
    b: NO_LETTER,
    raw: Raw::Sep,
    kind: Kind::Sep,
    glue: false,
    glued_in: false,
};

/// The unit of each ASCII character, without its span (see `ascii_class`).
static ASCII_UNITS: [Unit; 128] = {
    let mut table = [SEP_UNIT; 128];
    let mut i = 0;
    while i < 128 {
        let (raw, a, b) = ascii_class(i as u8 as char);
        table[i] = Unit {
            a,
            b,
            raw,
            kind: if matches!(raw, Raw::Letter) {
                Kind::Letter
            } else {
                Kind::Sep
            },
            ..SEP_UNIT
        };
        i += 1;
    }
    table
};

/// What an ASCII character is (the fast path of `char_class`, lowercasing on the way).
const fn ascii_class(c: char) -> (Raw, char, char) {
    match c {
        'a'..='z' => (Raw::Letter, c, NO_LETTER),
        'A'..='Z' => (Raw::Letter, c.to_ascii_lowercase(), NO_LETTER),
        '0'..='9' => match leet(c) {
            Some((a, b)) => (Raw::LeetDigit, a, b),
            None => (Raw::Digit, c, NO_LETTER),
        },
        _ => match leet(c) {
            Some((a, b)) => (Raw::Symbol, a, b),
            None => (Raw::Sep, c, NO_LETTER),
        },
    }
}

/// What a normalised, lowercased character is, with its letter readings.
fn char_class(c: char) -> (Raw, char, char) {
    if c.is_ascii() {
        ascii_class(c)
    } else if c.is_alphabetic() {
        (Raw::Letter, c, NO_LETTER)
    } else if c.is_ascii_digit() {
        match leet(c) {
            Some((a, b)) => (Raw::LeetDigit, a, b),
            None => (Raw::Digit, c, NO_LETTER),
        }
    } else if c.is_numeric() {
        (Raw::Digit, c, NO_LETTER)
    } else if let Some((a, b)) = leet(c) {
        (Raw::Symbol, a, b)
    } else {
        (Raw::Sep, c, NO_LETTER)
    }
}

/// Appends a unit for a character of class (`raw`, `a`, `b`) from original span start..end.
#[inline]
fn push_unit(
    out: &mut Vec<Unit>,
    specials: &mut Vec<usize>,
    (raw, a, b): (Raw, char, char),
    start: u32,
    end: u32,
) {
    if matches!(raw, Raw::LeetDigit | Raw::Digit | Raw::Symbol) {
        specials.push(out.len());
    }
    out.push(Unit {
        start,
        end,
        a,
        b,
        raw,
        kind: if raw == Raw::Letter {
            Kind::Letter
        } else {
            Kind::Sep
        },
        glue: false,
        glued_in: false,
    });
}

/// The text, or for a text over 4 GiB its first 4 GiB (to a character boundary): offsets
/// are kept as `u32`, and no comment comes near that.
fn clip(text: &str) -> &str {
    let mut end = text.len().min(u32::MAX as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Step 1: the text as normalised characters (invisible characters dropped, NFKD, combining
/// marks dropped, look-alikes folded, lowercased), each with its original span.
/// `specials` receives the index of every digit and leet symbol, for `classify`.
fn scan(text: &str, out: &mut Vec<Unit>, specials: &mut Vec<usize>) {
    out.clear();
    specials.clear();
    let text = clip(text);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A run of ASCII: one unit per byte, from the table.
        let rest = bytes.get(i..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let base = i;
        let first = out.len();
        out.extend(rest.iter().take(run).enumerate().map(|(k, &b)| {
            let mut unit = ASCII_UNITS.get(usize::from(b)).copied().unwrap_or(SEP_UNIT);
            // `clip` keeps every offset within `u32`.
            unit.start = (base + k) as u32;
            unit.end = unit.start + 1;
            if matches!(unit.raw, Raw::LeetDigit | Raw::Digit | Raw::Symbol) {
                specials.push(first + k);
            }
            unit
        }));
        i += run;
        // Then one other character.
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            break;
        };
        let (start, end) = (i as u32, (i + c.len_utf8()) as u32);
        i += c.len_utf8();
        if is_invisible(c) {
            continue;
        }
        let mut emitted = false;
        decompose_compatible(c, |d| {
            if is_combining_mark(d) {
                // A mark written as its own character belongs to the letter before it.
                if !emitted
                    && let Some(prev) = out.last_mut()
                    && prev.end == start
                {
                    prev.end = end;
                }
                return;
            }
            emitted = true;
            match fold(d) {
                Some(folded) => {
                    for f in folded.chars() {
                        push_unit(out, specials, char_class(f), start, end);
                    }
                }
                None => {
                    for l in d.to_lowercase() {
                        if is_combining_mark(l) {
                            continue;
                        }
                        push_unit(out, specials, char_class(l), start, end);
                    }
                }
            }
        });
    }
}

fn raw_at(units: &[Unit], i: Option<usize>) -> Option<Raw> {
    i.and_then(|i| units.get(i)).map(|u| u.raw)
}

fn kind_at(units: &[Unit], i: Option<usize>) -> Option<Kind> {
    i.and_then(|i| units.get(i)).map(|u| u.kind)
}

/// The first unit from `from` on that satisfies `pred`.
#[inline]
fn next_where(units: &[Unit], from: usize, pred: impl Fn(&Unit) -> bool) -> Option<usize> {
    units.get(from..)?.iter().position(pred).map(|k| from + k)
}

/// The end of the run of units from `s` that satisfy `pred`.
fn run_end(units: &[Unit], s: usize, pred: impl Fn(&Unit) -> bool) -> usize {
    let mut i = s;
    while units.get(i).is_some_and(&pred) {
        i += 1;
    }
    i
}

/// Step 2: decides from context what digits and symbols are, and glues runs of single
/// letters. In entries (`text == false`) nothing is glued and lone digits or symbols stay
/// `Lone` (so that they can be refused).
fn classify(units: &mut [Unit], specials: &[usize], text: bool) {
    let is_sep_or_none = |r: Option<Raw>| r.is_none_or(|r| r == Raw::Sep);

    // Digit runs: letters next to a letter (`h4te`, `2nd`), else a number (`2024`, `4`).
    let mut i = 0;
    let mut next = specials.iter().copied();
    while let Some(s) = next
        .by_ref()
        .find(|&k| k >= i && units.get(k).is_some_and(|u| u.raw != Raw::Symbol))
    {
        i = run_end(units, s, |u| matches!(u.raw, Raw::LeetDigit | Raw::Digit));
        let left = raw_at(units, s.checked_sub(1));
        let right = raw_at(units, Some(i));
        let in_word = left == Some(Raw::Letter) || right == Some(Raw::Letter);
        let lone = i - s == 1 && is_sep_or_none(left) && is_sep_or_none(right);
        for u in units.get_mut(s..i).into_iter().flatten() {
            u.kind = match (in_word, u.raw) {
                (true, Raw::LeetDigit) => Kind::Letter,
                (true, _) => Kind::Blocker,
                (false, Raw::LeetDigit) if lone => Kind::Lone,
                (false, _) => Kind::Number,
            };
        }
    }

    // Symbol runs: letters between letters (`sh!t`), either at a word's edge (`$hit`,
    // `orc!`), alone a possible glued letter (`a $ $`), else punctuation.
    let mut i = 0;
    let mut next = specials.iter().copied();
    while let Some(s) = next
        .by_ref()
        .find(|&k| k >= i && units.get(k).is_some_and(|u| u.raw == Raw::Symbol))
    {
        i = run_end(units, s, |u| u.raw == Raw::Symbol);
        let left = kind_at(units, s.checked_sub(1)) == Some(Kind::Letter);
        let right = kind_at(units, Some(i)) == Some(Kind::Letter);
        let lone = i - s == 1
            && is_sep_or_none(raw_at(units, s.checked_sub(1)))
            && is_sep_or_none(raw_at(units, Some(i)));
        let kind = match (left, right) {
            (true, true) => Kind::Letter,
            (true, false) => Kind::EdgeTrail,
            (false, true) => Kind::EdgeLead,
            (false, false) if lone => Kind::Lone,
            (false, false) => Kind::Sep,
        };
        for u in units.get_mut(s..i).into_iter().flatten() {
            u.kind = kind;
        }
    }

    // Runs of single letters (`o r c`, `s.p.a.c.e.d`, `b 1 t c h`) are glued: tokens of one
    // letter (or one lone leet character) separated only by separators, at least two of
    // them, at least one a real letter.
    let mut group = Group::default();
    let mut i = 0;
    while let Some(s) = next_where(units, i, |u| u.kind != Kind::Sep) {
        i = next_where(units, s, |u| u.kind == Kind::Sep).unwrap_or(units.len());
        let core = if i - s == 1 {
            // The common case: a one-unit token.
            units
                .get(s)
                .filter(|u| {
                    u.kind == Kind::Lone || (u.kind == Kind::Letter && u.raw == Raw::Letter)
                })
                .map(|_| s)
        } else {
            single_letter(units, s, i)
        };
        if let Some(core) = core {
            group.add(core, units.get(core).is_some_and(|u| u.raw == Raw::Letter));
        } else {
            group.finish(units, text);
        }
    }
    group.finish(units, text);
}

/// If the token `s..e` is a single letter (one letter, or one lone leet character, perhaps
/// with leet symbols around it as in `c!`), that letter's unit.
fn single_letter(units: &[Unit], s: usize, e: usize) -> Option<usize> {
    let mut core = None;
    for (i, u) in units.iter().enumerate().take(e).skip(s) {
        if matches!(u.kind, Kind::EdgeLead | Kind::EdgeTrail) {
            continue;
        }
        let letter = u.kind == Kind::Lone || (u.kind == Kind::Letter && u.raw == Raw::Letter);
        if !letter || core.is_some() {
            return None;
        }
        core = Some(i);
    }
    core
}

/// Whether a unit is skipped between two glued single letters.
fn between_singles(u: &Unit) -> bool {
    matches!(u.kind, Kind::Sep | Kind::EdgeLead | Kind::EdgeTrail)
}

/// A run of single-letter tokens being collected for gluing.
#[derive(Default)]
struct Group {
    first: usize,
    last: usize,
    count: usize,
    has_letter: bool,
}

impl Group {
    fn add(&mut self, unit: usize, is_letter: bool) {
        if self.count == 0 {
            self.first = unit;
        }
        self.last = unit;
        self.count += 1;
        self.has_letter |= is_letter;
    }

    fn finish(&mut self, units: &mut [Unit], text: bool) {
        if self.count > 0 {
            let glue = text && self.count >= 2 && self.has_letter;
            let (first, last) = (self.first, self.last);
            for (j, u) in units.iter_mut().enumerate().take(last + 1).skip(self.first) {
                if !matches!(u.kind, Kind::Letter | Kind::Lone) {
                    continue;
                }
                if glue {
                    if u.kind == Kind::Lone {
                        u.kind = Kind::Letter;
                    }
                    u.glue = j != last;
                    u.glued_in = j != first;
                } else if text && u.kind == Kind::Lone {
                    u.kind = Kind::Sep;
                }
            }
        }
        *self = Group::default();
    }
}

// ---------------------------------------------------------------------------------------
// Entries and the trie
// ---------------------------------------------------------------------------------------

/// The normalised form of one entry and whether it ends with the wildcard.
fn entry_key(content: &str, units: &mut Vec<Unit>) -> Result<(String, bool), EntryErrorKind> {
    let wildcard = content.ends_with('*');
    let stem = content.strip_suffix('*').unwrap_or(content);
    if stem.contains('*') {
        return Err(EntryErrorKind::WildcardNotAtEnd);
    }
    let mut specials = Vec::new();
    scan(stem, units, &mut specials);
    classify(units, &specials, false);
    if wildcard {
        match units.last() {
            None => return Err(EntryErrorKind::Empty),
            Some(u) if u.kind != Kind::Letter => {
                return Err(EntryErrorKind::WildcardAfterSeparator);
            }
            Some(_) => {}
        }
    }
    let mut key = String::new();
    let mut in_word = false;
    for (i, u) in units.iter().enumerate() {
        match u.kind {
            Kind::Letter => {
                if !in_word && !key.is_empty() {
                    key.push(WORD_GAP);
                }
                key.push(u.a);
                in_word = true;
            }
            Kind::Blocker | Kind::Number | Kind::Lone => {
                return Err(EntryErrorKind::NotAWord(token_text(stem, units, i)));
            }
            Kind::EdgeLead | Kind::EdgeTrail | Kind::Sep => in_word = false,
        }
    }
    if key.is_empty() {
        return Err(EntryErrorKind::Empty);
    }
    if key.chars().count() > MAX_ENTRY_CHARS {
        return Err(EntryErrorKind::TooLong);
    }
    Ok((key, wildcard))
}

/// The original text of the token (run of non-separators) around unit `i`.
fn token_text(source: &str, units: &[Unit], i: usize) -> String {
    let mut s = i;
    while s > 0 && kind_at(units, Some(s - 1)).is_some_and(|k| k != Kind::Sep) {
        s -= 1;
    }
    let e = run_end(units, i, |u| u.kind != Kind::Sep).saturating_sub(1);
    let start = units.get(s).map_or(0, |u| u.start as usize);
    let end = units.get(e).map_or(start, |u| u.end as usize);
    source.get(start..end).unwrap_or_default().to_owned()
}

/// Where a child's offset goes in its parent, and whether the child's head word follows it.
type Slot = (usize, bool);

/// Writes a child's offset into its slot (`usize::MAX`: the root has none), and for the
/// children along `a`..=`z` and the gap, the child's head word after it.
fn patch(trie: &mut [u32], (slot, pair): Slot, offset: Id) {
    let head = trie.get(offset as usize).copied().unwrap_or(0);
    if let Some(s) = trie.get_mut(slot) {
        *s = offset;
    }
    if pair && let Some(s) = trie.get_mut(slot + 1) {
        *s = head;
    }
}

/// An index as an `Id` (lists are capped at `MAX_ENTRIES` entries of `MAX_ENTRY_CHARS`, so
/// every index fits).
fn id(i: usize) -> Id {
    Id::try_from(i).unwrap_or(NONE)
}

struct BuildNode {
    children: std::collections::BTreeMap<char, Id>,
    exact: Id,
    wild: Id,
}

impl BuildNode {
    fn new() -> Self {
        Self {
            children: std::collections::BTreeMap::new(),
            exact: NONE,
            wild: NONE,
        }
    }
}

struct TrieBuilder {
    nodes: Vec<BuildNode>,
}

impl TrieBuilder {
    fn new() -> Self {
        Self {
            nodes: vec![BuildNode::new()],
        }
    }

    /// Adds `key` for entry `entry`; a key already listed keeps its first entry.
    fn insert(&mut self, key: &str, wildcard: bool, entry: Id) {
        let mut node = ROOT;
        for c in key.chars() {
            let fresh = id(self.nodes.len());
            let Some(n) = self.nodes.get_mut(node as usize) else {
                return;
            };
            node = *n.children.entry(c).or_insert(fresh);
            if node == fresh {
                self.nodes.push(BuildNode::new());
            }
        }
        if let Some(n) = self.nodes.get_mut(node as usize) {
            let slot = if wildcard { &mut n.wild } else { &mut n.exact };
            if *slot == NONE {
                *slot = entry;
            }
        }
    }

    /// The flat trie (see `WordList::trie`). The first `TOP_DEPTH` levels come first, level
    /// by level, so that the nodes every walk starts with share a few cache lines; each
    /// deeper subtree follows depth-first, so that a walk down a word reads memory forward.
    fn finish(self) -> Vec<u32> {
        const TOP_DEPTH: usize = 2;
        let mut trie = Vec::new();
        let mut level = vec![(ROOT, (usize::MAX, false))];
        let mut deep = Vec::new();
        for depth in 0..=TOP_DEPTH {
            let mut next = Vec::new();
            for (b, slot) in level {
                let (offset, children) = self.emit_node(b, &mut trie);
                patch(&mut trie, slot, offset);
                if depth < TOP_DEPTH {
                    next.extend(children);
                } else {
                    deep.extend(children);
                }
            }
            level = next;
        }
        for (child, slot) in deep {
            let offset = self.emit_subtree(child, &mut trie);
            patch(&mut trie, slot, offset);
        }
        trie
    }

    /// Appends build node `b` and its subtree, depth-first; returns its offset.
    fn emit_subtree(&self, b: Id, trie: &mut Vec<u32>) -> Id {
        let (offset, children) = self.emit_node(b, trie);
        for (child, slot) in children {
            let child_offset = self.emit_subtree(child, trie);
            patch(trie, slot, child_offset);
        }
        offset
    }

    /// Appends build node `b` with its child offsets left blank; returns its offset and its
    /// children with the slot where each one's offset goes. A node is:
    ///
    /// - a head word: bits 0..=25 say which of `a`..=`z` have a child, bit 26 whether the
    ///   phrase gap has one, and the flags `HAS_EXACT`, `HAS_WILD`, `HAS_OTHER`;
    /// - the exact entry, if `HAS_EXACT`; the wildcard entry, if `HAS_WILD`;
    /// - per bit set in bits 0..=26, in bit order, the child's offset and its head word (so
    ///   that a walk reads one word less per letter);
    /// - if `HAS_OTHER` (children along other letters): their count n, the n letters
    ///   (sorted), then the n child offsets.
    fn emit_node(&self, b: Id, trie: &mut Vec<u32>) -> (Id, Vec<(Id, Slot)>) {
        let Some(node) = self.nodes.get(b as usize) else {
            return (NONE, Vec::new());
        };
        let at = trie.len();
        let mut head = 0;
        let mut others = Vec::new();
        for &c in node.children.keys() {
            match letter_bit(c) {
                Some(bit) => head |= 1 << bit,
                None => others.push(u32::from(c)),
            }
        }
        if node.exact != NONE {
            head |= HAS_EXACT;
        }
        if node.wild != NONE {
            head |= HAS_WILD;
        }
        if !others.is_empty() {
            head |= HAS_OTHER;
        }
        trie.push(head);
        if node.exact != NONE {
            trie.push(node.exact);
        }
        if node.wild != NONE {
            trie.push(node.wild);
        }
        let slots = trie.len();
        let common = (head & LETTER_BITS).count_ones() as usize;
        trie.extend(std::iter::repeat_n(NONE, 2 * common));
        let other_slots = slots + 2 * common + 1 + others.len();
        if !others.is_empty() {
            trie.push(id(others.len()));
            trie.extend(&others);
            trie.extend(std::iter::repeat_n(NONE, others.len()));
        }
        let mut other = 0;
        let children = node
            .children
            .iter()
            .map(|(&c, &child)| {
                let slot = match letter_bit(c) {
                    Some(bit) => (
                        slots + 2 * (head & ((1 << bit) - 1)).count_ones() as usize,
                        true,
                    ),
                    None => {
                        other += 1;
                        (other_slots + other - 1, false)
                    }
                };
                (child, slot)
            })
            .collect();
        (id(at), children)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(entries: &[&str]) -> WordList {
        WordList::parse(&entries.join("\n")).unwrap()
    }

    /// (list entries, comment, expected (entry, matched text) or None for a miss).
    type Case = (
        &'static [&'static str],
        &'static str,
        Option<(&'static str, &'static str)>,
    );

    const CASES: &[Case] = &[
        // The issue's examples: whole words, wildcard stems.
        (&["orc"], "You are an orc.", Some(("orc", "orc"))),
        (&["orc"], "The orchestra played", None),
        (&["orc"], "May the force be with you", None),
        (&["orc"], "Two orcs walked in", None),
        (&["orc*"], "Two orcs walked in", Some(("orc*", "orcs"))),
        (&["orc*"], "an orcish grin", Some(("orc*", "orcish"))),
        (&["orc*"], "May the force be with you", None),
        // A stem is a stem: it also covers innocent words that start with it.
        (&["orc*"], "the orchestra", Some(("orc*", "orchestra"))),
        // Case and punctuation around words.
        (&["orc"], "ORC", Some(("orc", "ORC"))),
        (&["orc"], "OrC!!!", Some(("orc", "OrC"))),
        (&["orc"], "(orc)", Some(("orc", "orc"))),
        (&["orc"], "that orc's axe", Some(("orc", "orc"))),
        (&["orc"], "#orc", Some(("orc", "orc"))),
        (&["orc"], "@orc", Some(("orc", "orc"))),
        (&["ass"], "!!!ass!!!", Some(("ass", "ass"))),
        (&["moron"], "MORON!!!", Some(("moron", "MORON"))),
        // Leetspeak: digits and symbols inside words.
        (&["orc"], "you 0rc", Some(("orc", "0rc"))),
        (&["shit"], "5h1t happens", Some(("shit", "5h1t"))),
        (&["shit"], "$hit", Some(("shit", "$hit"))),
        (&["shit"], "sh!t", Some(("shit", "sh!t"))),
        (&["ass"], "what an a$$", Some(("ass", "a$$"))),
        (&["hate"], "I h4t3 this", Some(("hate", "h4t3"))),
        (&["idiot"], "what a 1d10t", Some(("idiot", "1d10t"))),
        (&["kill"], "k1ll them", Some(("kill", "k1ll"))),
        (&["kill"], "ki11 them", Some(("kill", "ki11"))),
        (&["troll"], "a tr011 again", Some(("troll", "tr011"))),
        (&["moron"], "m0r0n", Some(("moron", "m0r0n"))),
        (&["lol"], "l0l", Some(("lol", "l0l"))),
        (&["hoe"], "h03", Some(("hoe", "h03"))),
        (&["scam"], "5c@m", Some(("scam", "5c@m"))),
        // Numbers stay numbers.
        (&["leet"], "1337", None),
        (&["lol"], "101 dalmatians", None),
        (&["boob"], "call 8008 now", None),
        (&["ass"], "I paid $455 for it", None),
        (&["sos"], "5 0 5", None),
        (&["orc"], "2orc", None),
        // Separators between single letters.
        (&["orc"], "you o r c", Some(("orc", "o r c"))),
        (&["orc"], "o.r.c", Some(("orc", "o.r.c"))),
        (&["orc"], "o  r  c!", Some(("orc", "o  r  c"))),
        (&["spaced"], "s-p-a-c-e-d", Some(("spaced", "s-p-a-c-e-d"))),
        (&["spaced"], "s_p_a_c_e_d", Some(("spaced", "s_p_a_c_e_d"))),
        (&["ass"], "I saw a s s", Some(("ass", "a s s"))),
        (&["bitch"], "b 1 t c h", Some(("bitch", "b 1 t c h"))),
        (&["idiot"], "Ｉ.Ｄ.Ｉ.О.Т", Some(("idiot", "Ｉ.Ｄ.Ｉ.О.Т"))),
        (&["orc"], "o r c h e s t r a", None),
        (&["orc"], "you are a o r c", None),
        (
            &["scum*"],
            "s c u m b a g",
            Some(("scum*", "s c u m b a g")),
        ),
        (&["scum"], "s c u m b a g", None),
        // ...but real words are never glued together.
        (&["orc"], "or c", None),
        (&["penis"], "the pen is mightier", None),
        (&["anal"], "an all-out effort", None),
        (&["ago"], "a go-kart", None),
        // Letters repeated for effect.
        (&["nice"], "niiiiice", Some(("nice", "niiiiice"))),
        (&["space"], "sppppace", Some(("space", "sppppace"))),
        (&["orc"], "ooorrrccc", Some(("orc", "ooorrrccc"))),
        (&["nice"], "n i i i c e", Some(("nice", "n i i i c e"))),
        (&["ass"], "asssss", Some(("ass", "asssss"))),
        (&["ass"], "as if", None),
        (&["good"], "my god", None),
        (&["god"], "good", Some(("god", "good"))),
        (&["shit"], "shiitake", None),
        // Zero-width characters.
        (
            &["orc"],
            "o\u{200B}r\u{200C}c",
            Some(("orc", "o\u{200B}r\u{200C}c")),
        ),
        (&["orc"], "or\u{00AD}c", Some(("orc", "or\u{00AD}c"))),
        (&["orc"], "\u{2060}orc\u{FEFF}", Some(("orc", "orc"))),
        (&["orc"], "orc\u{FEFF}hestra", None),
        // Look-alike letters from other scripts.
        (&["orc"], "оrс", Some(("orc", "оrс"))),
        (&["scam"], "ѕсаm", Some(("scam", "ѕсаm"))),
        (&["toxic"], "τοχιc", Some(("toxic", "τοχιc"))),
        (&["pope"], "ΡΟΡΕ", Some(("pope", "ΡΟΡΕ"))),
        (&["vice"], "νιce", Some(("vice", "νιce"))),
        (&["orc"], "ᴏʀᴄ", Some(("orc", "ᴏʀᴄ"))),
        // Accents and compatibility forms.
        (&["cretin"], "crétin", Some(("cretin", "crétin"))),
        (&["orc"], "ôrç", Some(("orc", "ôrç"))),
        (
            &["naive"],
            "so nai\u{0308}ve",
            Some(("naive", "nai\u{0308}ve")),
        ),
        (&["idiot"], "ídíót", Some(("idiot", "ídíót"))),
        (&["orc"], "ｏｒｃ", Some(("orc", "ｏｒｃ"))),
        (&["orc"], "𝐨𝐫𝐜", Some(("orc", "𝐨𝐫𝐜"))),
        (&["café"], "a cafe", Some(("café", "cafe"))),
        // Phrases.
        (
            &["go back"],
            "just go back home",
            Some(("go back", "go back")),
        ),
        (
            &["go back"],
            "go   -  back",
            Some(("go back", "go   -  back")),
        ),
        (&["go back"], "go\nback", Some(("go back", "go\nback"))),
        (&["go back"], "go 🙂 back", Some(("go back", "go 🙂 back"))),
        (&["go back"], "GO BACK!", Some(("go back", "GO BACK"))),
        (&["go back"], "goback", None),
        (&["go back"], "ago backwards", None),
        (&["go back"], "go backwards", None),
        (
            &["go back*"],
            "go backwards",
            Some(("go back*", "go backwards")),
        ),
        (&["go back"], "go 2 back", None),
        (
            &["you orc"],
            "y o u o r c",
            Some(("you orc", "y o u o r c")),
        ),
        (&["half-orc"], "a half orc", Some(("half-orc", "half orc"))),
        // Innocent words that contain listed words (Scunthorpe).
        (&["cunt"], "Scunthorpe United", None),
        (&["sex"], "Middlesex and Essex", None),
        (&["rapist"], "my therapist", None),
        (&["cock"], "a cocktail", None),
        (&["ass"], "a classic assassin", None),
        (&["tit"], "the title", None),
        (&["hell"], "hello shell", None),
        (&["kill"], "skill", None),
        (&["hate"], "whatever", None),
        (&["idiot"], "idiotic", None),
        (&["idiot*"], "idiotic", Some(("idiot*", "idiotic"))),
        (&["moron"], "moronic", None),
        (&["ass"], "I passed the class", None),
        (&["tit"], "a titanic constitution", None),
        (&["cock"], "peacock and Hancock", None),
        (&["crap"], "my scrapbook", None),
        (&["hoe"], "a shoe", None),
        (&["spic"], "spicy food", None),
        (&["coon"], "a raccoon", None),
        (&["arse"], "Arsenal won", None),
        (&["hell"], "Michelle", None),
        (&["troll"], "a trolley", None),
        (&["moron"], "more on that", None),
        (&["orc"], "orc2", None),
        (&["orc"], "f o r c e", None),
        (&["idiot"], "idi ot", None),
        (&["kill"], "k i l", None),
        (&["hate"], "h a t", None),
        (&["leet"], "1 3 3 7", None),
        (&["go back"], "go; 1999; back", None),
        // Several entries: leftmost first, then longest.
        (
            &["orc", "troll"],
            "the troll and the orc",
            Some(("troll", "troll")),
        ),
        (
            &["go", "go back"],
            "go back now",
            Some(("go back", "go back")),
        ),
        (&["orc", "orc*"], "orc", Some(("orc", "orc"))),
    ];

    #[test]
    fn the_table() {
        let hits = CASES.iter().filter(|c| c.2.is_some()).count();
        let misses = CASES.len() - hits;
        assert!(CASES.len() >= 60, "{} cases", CASES.len());
        assert!(hits >= 25 && misses >= 25, "{hits} hits, {misses} misses");
        let mut failures = Vec::new();
        for (entries, text, expected) in CASES {
            let l = list(entries);
            let got = l
                .find(text)
                .map(|m| (m.entry.clone(), m.matched(text).to_owned()));
            let want = expected.map(|(e, t)| (e.to_owned(), t.to_owned()));
            if got != want {
                failures.push(format!(
                    "{entries:?} in {text:?}: got {got:?}, want {want:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn find_all_reports_every_match_in_order() {
        let l = list(&["orc*", "troll", "go back"]);
        let text = "An 0rc, a tr0ll and two orcs. Go... back!";
        let all = l.find_all(text);
        let got: Vec<_> = all
            .iter()
            .map(|m| (m.entry.as_str(), m.matched(text)))
            .collect();
        assert_eq!(
            got,
            [
                ("orc*", "0rc"),
                ("troll", "tr0ll"),
                ("orc*", "orcs"),
                ("go back", "Go... back")
            ]
        );
        assert_eq!(all.first().map(|m| m.line), Some(1));
        assert_eq!(all.get(3).map(|m| m.span()), Some(30..40));
    }

    #[test]
    fn lists_skip_blanks_and_comments() {
        let l = WordList::parse(
            "\u{FEFF}# banned words\r\n\r\norc   # fantasy\r\n  troll*\r\n\tgo  back\n",
        )
        .unwrap();
        let e: Vec<_> = l
            .entries()
            .iter()
            .map(|e| (e.line, e.text.as_str(), e.normalised.as_str(), e.wildcard))
            .collect();
        assert_eq!(
            e,
            [
                (3, "orc", "orc", false),
                (4, "troll*", "troll", true),
                (5, "go  back", "go back", false)
            ]
        );
        assert_eq!(l.find("a trolling orc").map(|m| m.line), Some(4));
        assert!(WordList::parse("").unwrap().is_empty());
        assert!(WordList::default().find("orc").is_none());
    }

    #[test]
    fn entries_are_normalised_like_comments() {
        let l = list(&["ORC", "Crétin", "b1tch", "4chan", "ѕсаm", "Half-Orc"]);
        let keys: Vec<_> = l.entries().iter().map(|e| e.normalised.as_str()).collect();
        assert_eq!(
            keys,
            ["orc", "cretin", "bitch", "achan", "scam", "half orc"]
        );
        assert!(l.find("see 4chan").is_some());
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let err =
            WordList::parse("orc\nf*ck\n\n$$$\n*\norc *\ncovid 19\n2nd\nok\n*orc").unwrap_err();
        let got: Vec<_> = err
            .errors
            .iter()
            .map(|e| (e.line, e.reason.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (2, EntryErrorKind::WildcardNotAtEnd),
                (4, EntryErrorKind::Empty),
                (5, EntryErrorKind::Empty),
                (6, EntryErrorKind::WildcardAfterSeparator),
                (7, EntryErrorKind::NotAWord("19".into())),
                (8, EntryErrorKind::NotAWord("2nd".into())),
                (10, EntryErrorKind::WildcardNotAtEnd),
            ]
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with("line 2: `f*ck`: `*` may only end an entry"),
            "{shown}"
        );
        assert_eq!(shown.lines().count(), 7);
        let long = "a".repeat(MAX_ENTRY_CHARS + 1);
        assert_eq!(
            WordList::parse(&long).unwrap_err().errors[0].reason,
            EntryErrorKind::TooLong
        );
    }

    #[test]
    fn spans_point_into_the_original_text() {
        let l = list(&["orc"]);
        let text = "Ünïcödé: ＯＲＣ!";
        let m = l.find(text).unwrap();
        assert_eq!(m.matched(text), "ＯＲＣ");
        assert_eq!(&text[m.span()], "ＯＲＣ");
        assert_eq!(m.start, "Ünïcödé: ".len());
    }

    #[test]
    fn long_repeats_and_spaced_runs_stay_fast_enough() {
        // Pathological input: no blow-up from repeats, ambiguous digits or glued letters.
        let l = list(&["aab", "ab*", "il li", "ill"]);
        for text in [
            "a".repeat(20_000),
            "a ".repeat(10_000),
            "1".repeat(20_000) + "x",
            "x1 ".repeat(5_000),
            "a1".repeat(10_000),
            "$".repeat(10_000) + "ab",
        ] {
            let _ = l.find_all(&text);
        }
    }

    fn check_spans(text: &str, all: &[WordMatch]) -> Result<(), TestCaseError> {
        let mut prev_end = 0;
        for m in all {
            prop_assert!(m.start < m.end && m.end <= text.len());
            prop_assert!(m.start >= prev_end);
            prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
            prev_end = m.end;
        }
        Ok(())
    }

    fn sample_list() -> WordList {
        list(&[
            "orc", "orc*", "troll", "go back", "ass", "idiot*", "ill", "nice", "you orc", "s",
            "aa", "ειρ",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn matching_never_panics_and_spans_are_valid(text in any::<String>()) {
            let l = sample_list();
            let all = l.find_all(&text);
            check_spans(&text, &all)?;
            prop_assert_eq!(l.find(&text), all.first().cloned());
        }

        #[test]
        fn tricky_text_never_panics_and_spans_are_valid(
            text in "[a-zA-Z0-9 @$!|+€.\\-_#*'\u{200B}\u{00AD}\u{0301}\u{0308}оасεικ🙂ßＯ]{0,80}"
        ) {
            let l = sample_list();
            let all = l.find_all(&text);
            check_spans(&text, &all)?;
            prop_assert_eq!(l.find(&text), all.first().cloned());
        }

        #[test]
        fn the_fast_path_changes_nothing(
            entries in prop::collection::vec(prop::sample::select(vec![
                "orc", "orc*", "troll", "go back", "go back*", "ass", "as", "idiot*", "ill",
                "nice", "you orc", "s", "aa", "good", "god", "li", "il li", "a b", "ab*",
            ]), 1..8),
            text in "[abcdgiklnorsty 0135@$!|.\\-\u{200B}оа]{0,60}",
        ) {
            let l = list(&entries);
            prop_assert_eq!(l.find_all(&text), l.find_all_slowly(&text));
        }

        #[test]
        fn parsing_never_panics(source in any::<String>()) {
            let _ = WordList::parse(&source);
        }

        #[test]
        fn zero_width_characters_inside_a_hit_keep_it_a_hit(
            word in prop::sample::select(vec!["orc", "troll", "idiot", "0rc", "tr0ll", "o r c", "go back"]),
            inserts in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec!['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}'])), 0..6),
        ) {
            let l = list(&["orc", "troll", "idiot", "go back"]);
            let mut chars: Vec<char> = word.chars().collect();
            for (at, zw) in inserts {
                let i = at.index(chars.len() + 1);
                chars.insert(i, zw);
            }
            let spoiled: String = chars.into_iter().collect();
            let text = format!("Well, {spoiled}, then.");
            let plain = l.find(&format!("Well, {word}, then.")).map(|m| m.entry);
            prop_assert!(plain.is_some());
            prop_assert_eq!(l.find(&text).map(|m| m.entry), plain);
        }

        #[test]
        fn a_listed_word_inside_a_longer_word_is_not_hit(
            word in "[a-z]{2,8}",
            prefix in "[a-z]{0,3}",
            suffix in "[a-z]{0,3}",
        ) {
            // A prefix ending in the word's first letter could be a repeat of it.
            prop_assume!(!prefix.is_empty() || !suffix.is_empty());
            prop_assume!(prefix.chars().last() != word.chars().next());
            prop_assume!(suffix.chars().next() != word.chars().last());
            let l = list(&[&word]);
            let plain = format!("({word})");
            prop_assert!(l.find(&plain).is_some());
            let text = format!("({prefix}{word}{suffix})");
            prop_assert_eq!(l.find(&text), None);
        }

        #[test]
        fn case_does_not_matter(word in "[a-z]{2,8}") {
            let l = list(&[&word]);
            let text = format!("Oh {}!", word.to_uppercase());
            prop_assert!(l.find(&text).is_some());
        }
    }
}
