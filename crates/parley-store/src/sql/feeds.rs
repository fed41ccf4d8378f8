//! Reads for the Atom feeds: a story's newest published comments and replies, and a
//! site's newest selected (featured) comments. Only published comments ever appear:
//! a feed is copied by readers' software, so nothing pending, rejected or deleted.

use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::*;
use super::{Backend, COMMENT_SELECT, SqlStore};
use crate::error::StoreResult;
use crate::model::Comment;

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> SiteRow: FromRow<'r, DB::Row>,
    for<'r> OriginRow: FromRow<'r, DB::Row>,
    for<'r> StoryRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> CommentRow: FromRow<'r, DB::Row>,
    for<'r> CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> StandingRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    async fn feed_query(&self, sql: &str, key: i64, limit: i64) -> StoreResult<Vec<Comment>> {
        Ok(sqlx::query_as::<DB, CommentRow>(sql)
            .bind(key)
            .bind(limit.clamp(0, 500))
            .fetch_all(&self.reads)
            .await?
            .into_iter()
            .map(Comment::from)
            .collect())
    }

    /// A story's published comments and replies, newest first.
    pub(crate) async fn feed_story_comments(
        &self,
        story_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Comment>> {
        // Through the story's top-level comments and their threads (both indexed): a
        // plain `story_id =` filter has no index over replies and would scan the table
        // backwards from the newest comment, slow for an old story in a large database.
        let sql = format!(
            "{COMMENT_SELECT} WHERE c.root_id IN \
             (SELECT r.id FROM comments r WHERE r.story_id = $1 AND r.depth = 0) \
             AND c.status = 'published' ORDER BY c.id DESC LIMIT $2"
        );
        self.feed_query(&sql, story_id, limit).await
    }

    /// The site's published featured comments across its stories, newest first.
    pub(crate) async fn feed_featured_comments(
        &self,
        site_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Comment>> {
        // The partial index on featured comments keeps this to the few selected rows.
        let sql = format!(
            "{COMMENT_SELECT} WHERE c.featured AND c.status = 'published' \
             AND c.story_id IN (SELECT s.id FROM stories s WHERE s.site_id = $1) \
             ORDER BY c.id DESC LIMIT $2"
        );
        self.feed_query(&sql, site_id, limit).await
    }
}
