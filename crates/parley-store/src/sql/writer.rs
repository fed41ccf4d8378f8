//! Group commit: one task owns the write connection and runs queued write jobs in
//! shared transactions, each job in its own savepoint. Callers hear back only after the
//! COMMIT that made their job durable, so many posts share one fsync.

use futures::future::BoxFuture;
use sqlx::{Database, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::error::{StoreError, StoreResult};

/// The most jobs one transaction takes; more wait for the next.
const MAX_BATCH: usize = 512;

type Deliver = Box<dyn FnOnce(StoreResult<()>) + Send>;
type Job<DB> = Box<
    dyn for<'c> FnOnce(&'c mut <DB as Database>::Connection) -> BoxFuture<'c, (bool, Deliver)>
        + Send,
>;

pub struct BatchWriter<DB: Database> {
    jobs: mpsc::Sender<Job<DB>>,
}

impl<DB: Database> Clone for BatchWriter<DB> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
        }
    }
}

impl<DB> BatchWriter<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Starts the writer task on `conn`. `begin` opens a write transaction.
    pub fn start(conn: DB::Connection, begin: &'static str) -> Self {
        let (jobs, queue) = mpsc::channel(4096);
        tokio::spawn(run(conn, queue, begin));
        Self { jobs }
    }

    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut DB::Connection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: Job<DB> = Box::new(move |conn| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let deliver: Deliver = Box::new(move |committed: StoreResult<()>| {
                    let _ = reply.send(committed.and(result));
                });
                (ok, deliver)
            })
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable)?;
        // A dropped job (the transaction could not start) reads as "unavailable".
        answer.await.map_err(|_| StoreError::Unavailable)?
    }
}

async fn run<DB>(mut conn: DB::Connection, mut queue: mpsc::Receiver<Job<DB>>, begin: &'static str)
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute(begin).await {
            tracing::error!(error = %e, "could not begin a write transaction");
            batch.clear();
            continue;
        }
        let mut delivers = Vec::with_capacity(batch.len());
        let mut broken = None;
        for job in batch.drain(..) {
            if let Err(e) = conn.execute("SAVEPOINT job").await {
                broken = Some(e);
                break;
            }
            let (ok, deliver) = job(&mut conn).await;
            let end = if ok {
                "RELEASE SAVEPOINT job"
            } else {
                "ROLLBACK TO SAVEPOINT job"
            };
            let ended = conn.execute(end).await;
            if !ok {
                // Rolled back to the savepoint: the savepoint itself still stands.
                let _ = conn.execute("RELEASE SAVEPOINT job").await;
            }
            delivers.push(deliver);
            if let Err(e) = ended {
                broken = Some(e);
                break;
            }
        }
        batch.clear();
        let outcome = match broken {
            Some(e) => {
                let _ = conn.execute("ROLLBACK").await;
                Err(StoreError::from(e))
            }
            None => conn
                .execute("COMMIT")
                .await
                .map(|_| ())
                .map_err(StoreError::from),
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "a write transaction failed");
            let _ = conn.execute("ROLLBACK").await;
        }
        for deliver in delivers {
            deliver(outcome.clone());
        }
    }
}
