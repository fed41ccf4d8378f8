//! `parley import ...`: bring conversations in from other systems (docs/IMPORT.md).
//!
//! Disqus, WordPress, Commento and Comentario files are read twice, streaming: the first
//! pass checks the whole file parses and learns its shape, the second sends records in
//! batches to the store, which writes them in one transaction. Memory stays bounded
//! whatever the size (the JSON readers keep the commenters and pages, not the comments).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use parley_core::thread::CommentStatus;
use parley_import::comentario::ComentarioReader;
use parley_import::commento::CommentoReader;
use parley_import::disqus::DisqusReader;
use parley_import::plan::{Plan, PlannedComment, PlannedItem, PlannedStory, Scan};
use parley_import::wordpress::WxrReader;
use parley_import::{ParseError, Source, SourceItem};
use parley_store::import::{
    ImportAuthor, ImportComment, ImportJob, ImportMessage, ImportRecord, ImportReport, ImportStory,
};
use tokio::sync::mpsc;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// A Disqus XML export (threads become stories, posts become comments).
    Disqus(ImportArgs),
    /// A WordPress WXR export (items become stories, wp:comment elements comments).
    Wordpress(ImportArgs),
    /// A Commento JSON export (each page becomes a story, at --base-url or https://DOMAIN + its path).
    Commento(JsonArgs),
    /// A Comentario export, v3, plain or gzip (pages become stories at --base-url + path).
    Comentario(JsonArgs),
    /// The plain text of a news page as a browser copies it (see docs/IMPORT.md).
    Text(TextArgs),
    /// A backup written by `parley export`, into an empty database (see docs/BACKUP.md).
    Backup(crate::backup_cmd::RestoreArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The export file.
    pub file: PathBuf,
    /// The site (publication) to import into.
    #[arg(long)]
    pub site: String,
    /// Parse everything and print what would be imported, without writing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args)]
pub struct JsonArgs {
    #[command(flatten)]
    pub common: ImportArgs,
    /// The site's address, put in front of each page's path (https://news.example).
    /// [default: Commento: https://DOMAIN; Comentario: the origin of the first comment's url]
    #[arg(long)]
    pub base_url: Option<String>,
}

#[derive(Args)]
pub struct TextArgs {
    #[command(flatten)]
    pub common: ImportArgs,
    /// The story's address (URL) on the site. [default: /stories/SLUG-OF-THE-HEADLINE]
    #[arg(long)]
    pub url: Option<String>,
}

/// Records per message to the store, at most.
const BATCH: usize = 1000;
/// Bytes of text per message, about, at most: long messages make short batches.
const BATCH_BYTES: usize = 512 << 10;
/// Messages the reader may be ahead of the store: a whole flush of the store's
/// (8,000 comments of a few hundred bytes), so parsing seldom waits for a statement,
/// nor the store for parsing; with `BATCH_BYTES`, this bounds the memory the queue
/// takes (~8 MB of text).
const QUEUE: usize = 16;
/// Skipped items and orphans listed by name in the summary; the rest are counted.
const LISTED: usize = 50;

pub async fn run(command: ImportCommand, database: &str, max_depth: Option<i64>) -> Result<()> {
    let max_depth = max_depth.unwrap_or(parley_web::WebConfig::default().max_depth);
    match command {
        ImportCommand::Backup(args) => crate::backup_cmd::restore(database, args).await,
        ImportCommand::Disqus(args) => {
            import_stream(Source::Disqus, args, None, database, max_depth).await
        }
        ImportCommand::Wordpress(args) => {
            import_stream(Source::Wordpress, args, None, database, max_depth).await
        }
        ImportCommand::Commento(JsonArgs { common, base_url }) => {
            import_stream(Source::Commento, common, base_url, database, max_depth).await
        }
        ImportCommand::Comentario(JsonArgs { common, base_url }) => {
            import_stream(Source::Comentario, common, base_url, database, max_depth).await
        }
        ImportCommand::Text(args) => import_text(args, database, max_depth).await,
    }
}

/// What the file holds, gathered while the records go out.
#[derive(Default)]
struct Tally {
    stories: i64,
    published: i64,
    pending: i64,
    rejected: i64,
    tombstones: i64,
    featured: i64,
    authors: HashSet<String>,
    skipped: Vec<String>,
    skipped_count: usize,
    orphans: Vec<String>,
    orphan_count: usize,
}

impl Tally {
    fn add(&mut self, item: &PlannedItem) {
        match item {
            PlannedItem::Story(_) => self.stories += 1,
            PlannedItem::Comment(c) => {
                match c.status {
                    CommentStatus::Published => self.published += 1,
                    CommentStatus::Pending => self.pending += 1,
                    CommentStatus::Rejected => self.rejected += 1,
                    CommentStatus::Deleted => self.tombstones += 1,
                }
                if c.featured {
                    self.featured += 1;
                }
                if c.status != CommentStatus::Deleted && !self.authors.contains(&c.author.key) {
                    self.authors.insert(c.author.key.clone());
                }
                if let Some(parent) = &c.missing_parent {
                    self.orphan_count += 1;
                    if self.orphans.len() < LISTED {
                        self.orphans.push(format!(
                            "line {}: comment {} answers {parent}, which is not in the file",
                            c.line, c.key
                        ));
                    }
                }
            }
            PlannedItem::Skip(s) => {
                self.skipped_count += 1;
                if self.skipped.len() < LISTED {
                    self.skipped.push(format!("line {}: {}", s.line, s.reason));
                }
            }
        }
    }

    fn comments(&self) -> i64 {
        self.published + self.pending + self.rejected + self.tombstones
    }

    fn print(&self, report: Option<&ImportReport>) {
        match report {
            None => {
                println!("dry run: nothing was written. The file holds:");
                println!("  stories:  {}", self.stories);
                println!(
                    "  comments: {} ({} published, {} pending, {} rejected as spam, {} tombstones; {} featured)",
                    self.comments(),
                    self.published,
                    self.pending,
                    self.rejected,
                    self.tombstones,
                    self.featured
                );
                println!("  authors:  {}", self.authors.len());
            }
            Some(r) => {
                println!(
                    "  stories:  {} created, {} already there",
                    r.stories_created, r.stories_existing
                );
                println!(
                    "  comments: {} created, {} already there (in the file: {} published, {} pending, {} rejected as spam, {} tombstones; {} featured)",
                    r.comments_created,
                    r.comments_existing,
                    self.published,
                    self.pending,
                    self.rejected,
                    self.tombstones,
                    self.featured
                );
                println!(
                    "  authors:  {} created, {} already there",
                    r.authors_created, r.authors_existing
                );
                if r.reattached > 0 {
                    println!(
                        "  replies nested too deep, attached at the deepest level: {}",
                        r.reattached
                    );
                }
            }
        }
        println!("  orphans (top-level now): {}", self.orphan_count);
        for o in &self.orphans {
            println!("    {o}");
        }
        if self.orphan_count > self.orphans.len() {
            println!(
                "    ... and {} more",
                self.orphan_count - self.orphans.len()
            );
        }
        println!("  skipped: {}", self.skipped_count);
        for s in &self.skipped {
            println!("    {s}");
        }
        if self.skipped_count > self.skipped.len() {
            println!(
                "    ... and {} more",
                self.skipped_count - self.skipped.len()
            );
        }
    }
}

fn record(p: PlannedItem, now: i64) -> Option<ImportRecord> {
    match p {
        PlannedItem::Story(s) => Some(story_record(s, now)),
        PlannedItem::Comment(c) => Some(comment_record(c, now)),
        PlannedItem::Skip(_) => None,
    }
}

/// The text a record holds, about: what the queue to the store is bounded by.
fn record_bytes(r: &ImportRecord) -> usize {
    match r {
        ImportRecord::Story(s) => s.body_md.len() + s.body_html.len() + s.url.len(),
        ImportRecord::Comment(c) => c.body_src.len() + c.body_html.len() + c.key.len(),
    }
}

fn story_record(s: PlannedStory, now: i64) -> ImportRecord {
    ImportRecord::Story(ImportStory {
        slug: parley_core::slugify(&s.headline),
        body_html: parley_core::markdown::render_story(&s.body_md),
        key: s.key,
        url: s.url,
        headline: s.headline,
        standfirst: s.standfirst,
        body_md: s.body_md,
        published_at: s.published_at.unwrap_or(now),
        picture_caption: s.picture_caption,
        picture_credit: s.picture_credit,
        closed: s.closed,
    })
}

fn comment_record(c: PlannedComment, now: i64) -> ImportRecord {
    ImportRecord::Comment(ImportComment {
        orphan: c.missing_parent.is_some(),
        key: c.key,
        story_key: c.story_key,
        parent_key: c.parent_key,
        author: ImportAuthor {
            key: c.author.key,
            name: c.author.name,
            email: c.author.email,
        },
        body_src: c.body.src,
        body_html: c.body.html,
        status: c.status,
        featured: c.featured,
        created_at: c.created_at.unwrap_or(now),
        expected_replies: i64::from(c.expected_replies),
    })
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The file from its start; `read` goes on counting from where it is (see [`items`]).
fn open_input(path: &Path, read: &Arc<AtomicU64>) -> std::io::Result<BufReader<Counting<File>>> {
    let file = File::open(path)?;
    Ok(BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: file,
            read: read.clone(),
        },
    ))
}

type Items = Box<dyn Iterator<Item = Result<SourceItem, ParseError>> + Send>;

/// How many times one pass reads the file: the XML readers read it once; the JSON
/// readers walk it twice (commenters and pages, then comments).
fn walks(source: Source) -> u64 {
    match source {
        Source::Commento | Source::Comentario => 2,
        Source::Disqus | Source::Wordpress | Source::Text => 1,
    }
}

/// A reader over the file from its start, for one pass: the byte count behind the
/// progress bar starts again at 0 and runs to `walks(source)` times the file's size.
/// The JSON readers are given a way to open the file again.
fn items(
    source: Source,
    path: &Path,
    read: &Arc<AtomicU64>,
    base_url: Option<&str>,
) -> Result<Items> {
    let reopen = {
        let (path, read) = (path.to_owned(), read.clone());
        move || open_input(&path, &read)
    };
    read.store(0, Ordering::Relaxed);
    let base_url = base_url.map(str::to_owned);
    let open = || open_input(path, read).with_context(|| format!("opening {}", path.display()));
    Ok(match source {
        Source::Commento => Box::new(CommentoReader::new(reopen, base_url)),
        Source::Comentario => Box::new(ComentarioReader::new(reopen, base_url)),
        Source::Wordpress => Box::new(WxrReader::new(open()?)),
        Source::Disqus | Source::Text => Box::new(DisqusReader::new(open()?)),
    })
}

/// A bar on a terminal (standard error), nothing otherwise.
fn progress(
    total: u64,
    read: Arc<AtomicU64>,
) -> Option<(ProgressBar, tokio::task::JoinHandle<()>)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:10} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let ticker = bar.clone();
    let handle = tokio::spawn(async move {
        loop {
            ticker.set_position(read.load(Ordering::Relaxed));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    Some((bar, handle))
}

async fn import_stream(
    source: Source,
    args: ImportArgs,
    base_url: Option<String>,
    database: &str,
    max_depth: i64,
) -> Result<()> {
    let path = args.file.clone();
    let total = std::fs::metadata(&path)
        .with_context(|| format!("opening {}", path.display()))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let bar = progress(total.saturating_mul(walks(source)), read.clone());
    let now = parley_web::now_ms();

    // Pass 1: the whole file parses, or nothing happens.
    if let Some((b, _)) = &bar {
        b.set_message("checking");
    }
    let input = items(source, &path, &read, base_url.as_deref())?;
    let scan = tokio::task::spawn_blocking(move || -> Result<Scan, ParseError> {
        let mut scan = Scan::new();
        for item in input {
            scan.add(&item?);
        }
        Ok(scan)
    })
    .await
    .context("the reader stopped")?;
    let scan = match scan {
        Ok(scan) => scan,
        Err(e) => {
            if let Some((b, h)) = bar {
                h.abort();
                b.finish_and_clear();
            }
            bail!("{}: {e}; nothing was imported", path.display());
        }
    };

    let (store, job) = if args.dry_run {
        (None, None)
    } else {
        let store = parley_store::connect(database)
            .await
            .context("opening the database")?;
        let site = store.site_by_name(&args.site).await?.with_context(|| {
            format!(
                "no site named {:?} (create it with `parley site create`)",
                args.site
            )
        })?;
        let job = ImportJob {
            site_id: site.id,
            source: source.as_str().to_owned(),
            max_depth,
            now,
        };
        (Some(store), Some(job))
    };

    // Pass 2: plan and send.
    if let Some((b, _)) = &bar {
        b.set_message("importing");
    }
    let input = items(source, &path, &read, base_url.as_deref())?;
    let (tx, rx) = mpsc::channel::<ImportMessage>(QUEUE);
    let dry_run = args.dry_run;
    let reader = tokio::task::spawn_blocking(move || -> Tally {
        let mut tally = Tally::default();
        let mut plan = Plan::new(source, scan);
        let mut planned = Vec::new();
        let mut batch = Vec::with_capacity(BATCH);
        let mut batch_bytes = 0;
        let mut take = |p: PlannedItem, batch: &mut Vec<ImportRecord>, bytes: &mut usize| {
            tally.add(&p);
            if let Some(r) = record(p, now) {
                *bytes += record_bytes(&r);
                batch.push(r);
            }
        };
        // A dry run drops each batch too: its memory stays bounded like an import's.
        let send = |batch: &mut Vec<ImportRecord>| -> bool {
            let records = std::mem::take(batch);
            dry_run || tx.blocking_send(ImportMessage::Records(records)).is_ok()
        };
        for item in input {
            match item {
                Ok(item) => plan.push(item, &mut planned),
                Err(e) => {
                    let _ = tx.blocking_send(ImportMessage::Failed(e.to_string()));
                    return tally;
                }
            }
            for p in planned.drain(..) {
                take(p, &mut batch, &mut batch_bytes);
            }
            if batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
                if !send(&mut batch) {
                    return tally;
                }
                batch_bytes = 0;
            }
        }
        plan.finish(&mut planned);
        for p in planned.drain(..) {
            take(p, &mut batch, &mut batch_bytes);
        }
        if send(&mut batch) && !dry_run {
            let _ = tx.blocking_send(ImportMessage::Done);
        }
        tally
    });

    let outcome = match (&store, job) {
        (Some(store), Some(job)) => Some(store.importer().import(job, rx).await),
        _ => {
            drop(rx);
            None
        }
    };
    let tally = reader.await.context("the reader stopped")?;
    if let Some((b, h)) = bar {
        h.abort();
        b.finish_and_clear();
    }
    match outcome {
        None => {
            println!("{} ({}):", path.display(), source.as_str());
            tally.print(None);
            Ok(())
        }
        Some(Err(e)) => bail!("{}: {e}; nothing was imported", path.display()),
        Some(Ok(report)) => {
            println!(
                "imported {} ({}) into site {}:",
                path.display(),
                source.as_str(),
                args.site
            );
            tally.print(Some(&report));
            Ok(())
        }
    }
}

async fn import_text(args: TextArgs, database: &str, max_depth: i64) -> Result<()> {
    let path = &args.common.file;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let planned = parley_import::text::parse_page(&text, args.url.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", path.display()))?;
    let now = parley_web::now_ms();
    let mut tally = Tally::default();
    let mut records = Vec::new();
    for p in planned {
        tally.add(&p);
        records.extend(record(p, now));
    }
    if args.common.dry_run {
        println!("{} (text):", path.display());
        tally.print(None);
        return Ok(());
    }
    let store = parley_store::connect(database)
        .await
        .context("opening the database")?;
    let site = store
        .site_by_name(&args.common.site)
        .await?
        .with_context(|| {
            format!(
                "no site named {:?} (create it with `parley site create`)",
                args.common.site
            )
        })?;
    let job = ImportJob {
        site_id: site.id,
        source: Source::Text.as_str().to_owned(),
        max_depth,
        now,
    };
    let (tx, rx) = mpsc::channel(2);
    tx.send(ImportMessage::Records(records)).await?;
    tx.send(ImportMessage::Done).await?;
    let report = store
        .importer()
        .import(job, rx)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", path.display()))?;
    println!(
        "imported {} (text) into site {}:",
        path.display(),
        args.common.site
    );
    tally.print(Some(&report));
    Ok(())
}
