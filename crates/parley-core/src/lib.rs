//! Parley's domain: the types and rules of stories, comments and accounts.
//!
//! Everything here is pure (no I/O, no clock, no randomness) so it can be unit- and
//! property-tested; storage and HTTP call into it and never re-implement its rules.

pub mod account;
pub mod cursor;
pub mod markdown;
pub mod moderation;
pub mod notify;
pub mod sso;
pub mod text;
pub mod thread;
pub mod wordlist;

pub use account::{Role, UserStatus};
pub use cursor::{CommentSort, Cursor, CursorError};
pub use text::{CommentBody, DisplayName, Email, Password, ValidationError, slugify};
