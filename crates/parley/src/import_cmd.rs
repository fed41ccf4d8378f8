//! `parley import ...`: bring conversations in from other systems.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum ImportCommand {
    /// A Disqus XML export (threads become stories, posts become comments).
    Disqus(ImportArgs),
    /// A WordPress WXR export (items become stories, wp:comment elements comments).
    Wordpress(ImportArgs),
    /// The plain text of a news page as a browser copies it (see docs/IMPORT.md).
    Text(TextArgs),
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
pub struct TextArgs {
    #[command(flatten)]
    pub common: ImportArgs,
    /// The story's address (URL) on the site. [default: /stories/SLUG-OF-THE-HEADLINE]
    #[arg(long)]
    pub url: Option<String>,
}

pub async fn run(command: ImportCommand, database: &str, max_depth: Option<i64>) -> Result<()> {
    let _ = (database, max_depth);
    match command {
        ImportCommand::Disqus(_) | ImportCommand::Wordpress(_) | ImportCommand::Text(_) => {
            bail!("this importer is being built")
        }
    }
}
