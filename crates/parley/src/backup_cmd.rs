//! `parley export --out FILE` and `parley import backup FILE`: the whole database as a
//! line-oriented backup (docs/BACKUP.md), and back into an empty database.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use parley_store::backup::{self, BackupCounts, BackupError, ExportOptions};

#[derive(Args)]
pub struct ExportArgs {
    /// Where to write the backup (`-` for standard output). An existing file is replaced
    /// only once the backup is complete.
    #[arg(long)]
    pub out: PathBuf,
    /// Include password hashes and sessions: a backup that replaces the database as it
    /// is, readers staying signed in. Keep such a file as safe as the database.
    #[arg(long)]
    pub with_secrets: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file written by `parley export`.
    pub file: PathBuf,
}

fn summary(counts: &BackupCounts) -> String {
    let parts: Vec<String> = counts
        .0
        .iter()
        .map(|(table, n)| format!("{table} {n}"))
        .collect();
    format!("{} rows ({})", counts.total(), parts.join(", "))
}

/// Backups hold emails (and with secrets password hashes): readable by the owner only.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

pub async fn export(database: &str, args: ExportArgs) -> Result<()> {
    let store = backup::connect(database)
        .await
        .context("opening the database")?;
    let options = ExportOptions {
        with_secrets: args.with_secrets,
    };
    if args.out.as_os_str() == "-" {
        let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout());
        let counts = store.export(&mut out, options).await?;
        out.flush()?;
        eprintln!("exported {}", summary(&counts));
        return Ok(());
    }
    // Written beside the target and renamed at the end: a failed export never leaves
    // a file that looks like a backup.
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file =
        create_private(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let written = store.export(&mut out, options).await;
    let finished = written.and_then(|counts| {
        let file = out
            .into_inner()
            .map_err(|e| BackupError::Io(e.into_error()))?;
        file.sync_all()?;
        Ok(counts)
    });
    let counts = match finished {
        Ok(counts) => counts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e).context("exporting");
        }
    };
    std::fs::rename(&partial, &args.out)
        .with_context(|| format!("moving the backup to {}", args.out.display()))?;
    println!("exported {} to {}", summary(&counts), args.out.display());
    Ok(())
}

pub async fn restore(database: &str, args: RestoreArgs) -> Result<()> {
    let file =
        File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let store = backup::connect(database)
        .await
        .context("opening the database")?;
    let input = Box::new(BufReader::with_capacity(1 << 20, file));
    match store.restore(input).await {
        Ok(counts) => {
            println!("restored {} from {}", summary(&counts), args.file.display());
            Ok(())
        }
        Err(BackupError::Format { line, message }) => anyhow::bail!(
            "{} line {line}: {message}; nothing was restored",
            args.file.display()
        ),
        Err(e) => Err(e).context("restoring; nothing was restored"),
    }
}
