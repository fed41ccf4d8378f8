//! Orders of top-level comments and the opaque keyset cursors that page through them.
//!
//! A cursor names the last comment of a page by its sort key and id; the next page starts
//! strictly after it. Cursors carry their sort, so one cannot be replayed under another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentSort {
    #[default]
    Newest,
    Oldest,
    MostReactions,
    MostReplies,
}

impl CommentSort {
    pub const ALL: [CommentSort; 4] = [
        CommentSort::Newest,
        CommentSort::Oldest,
        CommentSort::MostReactions,
        CommentSort::MostReplies,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommentSort::Newest => "newest",
            CommentSort::Oldest => "oldest",
            CommentSort::MostReactions => "most_reactions",
            CommentSort::MostReplies => "most_replies",
        }
    }

    fn tag(self) -> char {
        match self {
            CommentSort::Newest => 'n',
            CommentSort::Oldest => 'o',
            CommentSort::MostReactions => 'r',
            CommentSort::MostReplies => 'p',
        }
    }
}

/// A position in a sorted list of top-level comments: after the comment `id` whose sort
/// key was `key` (the id for newest/oldest, a count otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort: CommentSort,
    pub key: i64,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("this cursor is not valid")]
    Malformed,
    #[error("this cursor belongs to another sort order")]
    WrongSort,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", self.sort.tag(), self.key, self.id))
    }

    pub fn decode(raw: &str, expected: CommentSort) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| CursorError::Malformed)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CursorError::Malformed)?;
        let mut parts = text.splitn(3, ':');
        let (Some(tag), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CursorError::Malformed);
        };
        let sort = CommentSort::ALL
            .into_iter()
            .find(|s| tag.len() == 1 && tag.starts_with(s.tag()))
            .ok_or(CursorError::Malformed)?;
        let key = key.parse().map_err(|_| CursorError::Malformed)?;
        let id = id.parse().map_err(|_| CursorError::Malformed)?;
        if sort != expected {
            return Err(CursorError::WrongSort);
        }
        Ok(Cursor { sort, key, id })
    }
}

/// A position among the replies under one top-level comment: after the reply whose
/// thread path is `path` (see [`crate::thread`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyCursor {
    pub root_id: i64,
    pub path: String,
}

impl ReplyCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.root_id, self.path))
    }

    pub fn decode(raw: &str) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| CursorError::Malformed)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CursorError::Malformed)?;
        let (root, path) = text.split_once(':').ok_or(CursorError::Malformed)?;
        let root_id = root.parse().map_err(|_| CursorError::Malformed)?;
        if !crate::thread::is_valid_path(path) {
            return Err(CursorError::Malformed);
        }
        Ok(ReplyCursor {
            root_id,
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursors_round_trip(key in any::<i64>(), id in any::<i64>(), s in 0usize..4) {
            let sort = CommentSort::ALL[s];
            let c = Cursor { sort, key, id };
            prop_assert_eq!(Cursor::decode(&c.encode(), sort), Ok(c));
        }

        #[test]
        fn garbage_never_panics(raw in ".{0,40}") {
            let _ = Cursor::decode(&raw, CommentSort::Newest);
            let _ = ReplyCursor::decode(&raw);
        }
    }

    #[test]
    fn a_cursor_is_bound_to_its_sort() {
        let c = Cursor {
            sort: CommentSort::Oldest,
            key: 1,
            id: 1,
        }
        .encode();
        assert_eq!(
            Cursor::decode(&c, CommentSort::Newest),
            Err(CursorError::WrongSort)
        );
        assert_eq!(
            Cursor::decode("!!", CommentSort::Newest),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn sorts_parse_by_their_api_names() {
        assert_eq!(
            CommentSort::parse("most_replies"),
            Some(CommentSort::MostReplies)
        );
        assert_eq!(CommentSort::parse("best"), None);
    }
}
