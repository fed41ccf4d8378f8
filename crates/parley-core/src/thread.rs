//! Where a comment sits in its story's thread, and how a flat page becomes a tree.
//!
//! Each comment stores a materialised `path`: the fixed-width ids of its ancestors and
//! itself, root first. Ids grow with time, so plain text order of paths is the thread's
//! depth-first order with older siblings first, and a subtree is a path prefix.

use serde::{Deserialize, Serialize};

/// Characters per path segment: ids up to 9,999,999,999.
pub const SEGMENT_WIDTH: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Published,
    /// Waiting for a moderator; shown to its author only.
    Pending,
    Rejected,
    /// Removed by its author or with its account: a tombstone that keeps the thread's shape.
    Deleted,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Published => "published",
            CommentStatus::Pending => "pending",
            CommentStatus::Rejected => "rejected",
            CommentStatus::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "published" => Some(CommentStatus::Published),
            "pending" => Some(CommentStatus::Pending),
            "rejected" => Some(CommentStatus::Rejected),
            "deleted" => Some(CommentStatus::Deleted),
            _ => None,
        }
    }

    /// Published comments and tombstones can be shown to readers. A parent's
    /// `reply_count` counts its children in the public thread: published ones, and
    /// placeholders (deleted, rejected or held again) that still have replies there.
    pub fn is_visible(self) -> bool {
        matches!(self, CommentStatus::Published | CommentStatus::Deleted)
    }
}

pub fn segment(id: i64) -> String {
    format!("{:0width$}", id, width = SEGMENT_WIDTH)
}

pub fn child_path(parent_path: Option<&str>, id: i64) -> String {
    match parent_path {
        Some(p) => format!("{p}{}", segment(id)),
        None => segment(id),
    }
}

pub fn is_valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len().is_multiple_of(SEGMENT_WIDTH)
        && path.bytes().all(|b| b.is_ascii_digit())
}

/// Ids named by a path, root first, the comment itself last.
pub fn path_ids(path: &str) -> Vec<i64> {
    path.as_bytes()
        .chunks(SEGMENT_WIDTH)
        .filter_map(|c| std::str::from_utf8(c).ok()?.parse().ok())
        .collect()
}

/// What a reply needs to know about the comment it answers.
#[derive(Debug, Clone)]
pub struct ParentFacts {
    pub id: i64,
    pub story_id: i64,
    pub status: CommentStatus,
    pub depth: i64,
    pub root_id: i64,
    pub path: String,
}

/// Where a new comment goes: its parent, its top-level ancestor (itself when `None`)
/// and its depth (0 for top-level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub depth: i64,
    pub parent_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyRefusal {
    #[error("the comment you are replying to does not exist")]
    ParentMissing,
    #[error("the comment you are replying to was deleted")]
    ParentDeleted,
    #[error("the comment you are replying to is not published")]
    ParentNotPublished,
    #[error("replies cannot be nested deeper than {max_depth} levels")]
    TooDeep { max_depth: i64 },
}

impl Placement {
    pub fn top_level() -> Self {
        Placement {
            parent_id: None,
            root_id: None,
            depth: 0,
            parent_path: None,
        }
    }

    /// Decides whether `parent` can take a reply in story `story_id`.
    pub fn reply_to(
        parent: Option<&ParentFacts>,
        story_id: i64,
        max_depth: i64,
    ) -> Result<Self, ReplyRefusal> {
        let parent = parent
            .filter(|p| p.story_id == story_id)
            .ok_or(ReplyRefusal::ParentMissing)?;
        match parent.status {
            CommentStatus::Published => {}
            CommentStatus::Deleted => return Err(ReplyRefusal::ParentDeleted),
            CommentStatus::Pending | CommentStatus::Rejected => {
                return Err(ReplyRefusal::ParentNotPublished);
            }
        }
        if parent.depth + 1 > max_depth {
            return Err(ReplyRefusal::TooDeep { max_depth });
        }
        Ok(Placement {
            parent_id: Some(parent.id),
            root_id: Some(parent.root_id),
            depth: parent.depth + 1,
            parent_path: Some(parent.path.clone()),
        })
    }
}

/// Anything that knows its thread path.
pub trait Threaded {
    fn path(&self) -> &str;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadNode<T> {
    #[serde(flatten)]
    pub item: T,
    pub replies: Vec<ThreadNode<T>>,
}

/// Nests a list given in depth-first (path) order. A comment whose parent is not in the
/// list hangs under its nearest listed ancestor, or at the top when it has none.
pub fn nest<T: Threaded>(items: Vec<T>) -> Vec<ThreadNode<T>> {
    fn close<T>(node: ThreadNode<T>, stack: &mut [ThreadNode<T>], out: &mut Vec<ThreadNode<T>>) {
        match stack.last_mut() {
            Some(parent) => parent.replies.push(node),
            None => out.push(node),
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<ThreadNode<T>> = Vec::new();
    for item in items {
        while let Some(top) = stack.last() {
            let top_path = top.item.path();
            if item.path().len() > top_path.len() && item.path().starts_with(top_path) {
                break;
            }
            if let Some(done) = stack.pop() {
                close(done, &mut stack, &mut out);
            }
        }
        stack.push(ThreadNode {
            item,
            replies: Vec::new(),
        });
    }
    while let Some(done) = stack.pop() {
        close(done, &mut stack, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    struct Item(String);
    impl Threaded for Item {
        fn path(&self) -> &str {
            &self.0
        }
    }

    fn flatten(nodes: &[ThreadNode<Item>], out: &mut Vec<String>) {
        for n in nodes {
            out.push(n.item.0.clone());
            flatten(&n.replies, out);
        }
    }

    #[test]
    fn paths_sort_depth_first() {
        let a = child_path(None, 7);
        let a1 = child_path(Some(&a), 9);
        let b = child_path(None, 8);
        let a2 = child_path(Some(&a), 12);
        let mut all = vec![b.clone(), a2.clone(), a1.clone(), a.clone()];
        all.sort();
        assert_eq!(all, vec![a.clone(), a1.clone(), a2, b]);
        assert_eq!(path_ids(&a1), vec![7, 9]);
        assert!(is_valid_path(&a1) && !is_valid_path("12") && !is_valid_path(""));
    }

    #[test]
    fn replies_need_a_published_parent_in_the_same_story_within_depth() {
        let parent = ParentFacts {
            id: 5,
            story_id: 1,
            status: CommentStatus::Published,
            depth: 2,
            root_id: 3,
            path: "x".into(),
        };
        let ok = Placement::reply_to(Some(&parent), 1, 3);
        assert_eq!(
            ok.map(|p| (p.parent_id, p.root_id, p.depth)),
            Ok((Some(5), Some(3), 3))
        );
        assert_eq!(
            Placement::reply_to(Some(&parent), 1, 2),
            Err(ReplyRefusal::TooDeep { max_depth: 2 })
        );
        assert_eq!(
            Placement::reply_to(Some(&parent), 2, 9),
            Err(ReplyRefusal::ParentMissing)
        );
        assert_eq!(
            Placement::reply_to(None, 1, 9),
            Err(ReplyRefusal::ParentMissing)
        );
        for (status, refusal) in [
            (CommentStatus::Deleted, ReplyRefusal::ParentDeleted),
            (CommentStatus::Rejected, ReplyRefusal::ParentNotPublished),
            (CommentStatus::Pending, ReplyRefusal::ParentNotPublished),
        ] {
            let p = ParentFacts {
                status,
                ..parent.clone()
            };
            assert_eq!(Placement::reply_to(Some(&p), 1, 9), Err(refusal));
        }
    }

    #[test]
    fn orphans_hang_under_their_nearest_listed_ancestor() {
        let items = [
            "0000000001",
            "00000000010000000002",
            "000000000100000000020000000003",
            "0000000004",
        ];
        // Drop the middle reply: its child should attach to the root.
        let list = vec![
            Item(items[0].into()),
            Item(items[2].into()),
            Item(items[3].into()),
        ];
        let tree = nest(list);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].replies.len(), 1);
        assert_eq!(tree[0].replies[0].item.0, items[2]);
    }

    proptest! {
        /// Random trees: nesting keeps every item once, in order, under a true ancestor.
        #[test]
        fn nesting_preserves_depth_first_order(parents in proptest::collection::vec(any::<prop::sample::Index>(), 1..60)) {
            let mut paths: Vec<String> = Vec::new();
            for (i, pick) in parents.iter().enumerate() {
                let id = i as i64 + 1;
                let path = if i == 0 || pick.index(3) == 0 {
                    child_path(None, id)
                } else {
                    let parent = &paths[pick.index(paths.len())];
                    child_path(Some(parent), id)
                };
                paths.push(path);
            }
            paths.sort();
            let tree = nest(paths.iter().cloned().map(Item).collect());
            let mut flat = Vec::new();
            flatten(&tree, &mut flat);
            prop_assert_eq!(&flat, &paths);
            for top in &tree {
                prop_assert_eq!(top.item.0.len(), SEGMENT_WIDTH);
            }
        }
    }
}
