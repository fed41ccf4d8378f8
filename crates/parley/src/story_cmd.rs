//! `parley story publish FILE.md`: a story from a Markdown file whose fields are TOML
//! front matter between `+++` lines (see docs/PUBLISHING.md). Idempotent by slug: the
//! same file again updates the story with that slug, and changes nothing (not even the
//! version) when nothing differs. The rules are the API's (`parley_web::publish`).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use parley_core::slugify;
use parley_store::{Site, Store};
use parley_web::error::ApiError;
use parley_web::publish::{self, Saved, StoryInput};
use serde::Deserialize;

#[derive(Subcommand)]
pub enum StoryCommand {
    /// Create or update a story from a Markdown file with TOML front matter between
    /// `+++` lines (`-` reads standard input). The story with the same slug is updated.
    Publish {
        /// The story file, or `-` for standard input.
        file: PathBuf,
        /// Site of the story. [default: the only site]
        #[arg(long)]
        site: Option<String>,
        /// Public origin of this server: a story without `url` gets
        /// ORIGIN/stories/SLUG as its address.
        #[arg(long, env = "PARLEY_PUBLIC_ORIGIN")]
        public_origin: Option<String>,
    },
}

/// The front matter: the API's field names; `published_at` may be a TOML date-time.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    headline: Option<String>,
    standfirst: Option<String>,
    published_at: Option<toml::Value>,
    slug: Option<String>,
    url: Option<String>,
    picture_url: Option<String>,
    picture_caption: Option<String>,
    picture_credit: Option<String>,
    is_closed: Option<bool>,
    closed_message: Option<String>,
}

/// A story file split into its front matter and its Markdown body.
#[derive(Debug)]
struct StoryFile {
    front: FrontMatter,
    body: String,
}

const FENCE: &str = "+++";

fn parse(text: &str) -> Result<StoryFile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != FENCE {
        bail!("a story file starts with a `+++` line, then TOML front matter, then `+++`");
    }
    let mut front = String::new();
    let mut offset = first.len();
    let mut closed = false;
    for line in lines.by_ref() {
        offset += line.len();
        if line.trim_end() == FENCE {
            closed = true;
            break;
        }
        front.push_str(line);
    }
    if !closed {
        bail!("the front matter has no closing `+++` line");
    }
    let front: FrontMatter =
        toml::from_str(&front).map_err(|e| anyhow::anyhow!("in the front matter: {e}"))?;
    let body = text.get(offset..).unwrap_or_default();
    // One blank line after the fence is layout, not content.
    let body = body
        .strip_prefix("\r\n")
        .or_else(|| body.strip_prefix('\n'))
        .unwrap_or(body);
    Ok(StoryFile {
        front,
        body: body.to_owned(),
    })
}

/// An RFC 3339 text from a TOML date-time or string.
fn time_text(value: &toml::Value) -> Result<String> {
    match value {
        toml::Value::Datetime(d) if d.offset.is_some() && d.time.is_some() && d.date.is_some() => {
            Ok(d.to_string())
        }
        toml::Value::String(s) => Ok(s.clone()),
        _ => bail!(
            "field `published_at`: give a date and time with its offset, e.g. 2026-11-28T09:00:00Z"
        ),
    }
}

fn field_error(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Client {
            field: Some(field),
            message,
            ..
        } => anyhow::anyhow!("field `{field}`: {message}"),
        ApiError::Client { message, .. } => anyhow::anyhow!("{message}"),
        other => anyhow::anyhow!("{other:?}"),
    }
}

impl StoryFile {
    /// The slug the story is known by: the front matter's, else the headline's.
    fn slug(&self) -> Result<String> {
        match (&self.front.slug, &self.front.headline) {
            (Some(s), _) if !s.trim().is_empty() => Ok(slugify(s)),
            (_, Some(h)) if !h.trim().is_empty() => Ok(slugify(h)),
            _ => bail!("field `headline`: the front matter needs a headline"),
        }
    }

    /// The whole story as the file gives it: a field left out is cleared, except the
    /// date and the URL, which keep what the story has (or now / the default address).
    fn input(&self) -> Result<StoryInput> {
        let f = &self.front;
        Ok(StoryInput {
            site: None,
            url: f.url.clone(),
            slug: Some(self.slug()?),
            headline: f.headline.clone(),
            standfirst: Some(f.standfirst.clone().unwrap_or_default()),
            body: Some(self.body.clone()),
            published_at: f.published_at.as_ref().map(time_text).transpose()?,
            picture_url: Some(f.picture_url.clone().unwrap_or_default()),
            picture_caption: Some(f.picture_caption.clone().unwrap_or_default()),
            picture_credit: Some(f.picture_credit.clone().unwrap_or_default()),
            is_closed: Some(f.is_closed.unwrap_or(false)),
            closed_message: Some(f.closed_message.clone().unwrap_or_default()),
        })
    }
}

fn read_source(file: &PathBuf) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the story from standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

async fn pick_site(store: &dyn Store, name: Option<&str>) -> Result<Site> {
    let sites = store.list_sites().await?;
    match name {
        Some(n) => sites
            .into_iter()
            .find(|s| s.name == n)
            .with_context(|| format!("no site named {n}")),
        None => match sites.len() {
            0 => bail!("there is no site yet: create one with `parley site create --name NAME`"),
            1 => sites.into_iter().next().context("no site"),
            _ => bail!("there are several sites: name one with --site"),
        },
    }
}

pub async fn run(command: StoryCommand, database: &str) -> Result<()> {
    match command {
        StoryCommand::Publish {
            file,
            site,
            public_origin,
        } => {
            let name = if file.as_os_str() == "-" {
                "standard input".to_owned()
            } else {
                file.display().to_string()
            };
            let text = read_source(&file)?;
            // The file is read and parsed before the database is opened, and nothing is
            // written until every field has passed the API's checks.
            let story = parse(&text).with_context(|| name.clone())?;
            let input = story.input().with_context(|| name.clone())?;
            let slug = story.slug()?;
            let store = parley_store::connect(database)
                .await
                .context("opening the database")?;
            let site = pick_site(store.as_ref(), site.as_deref()).await?;
            let existing = store.story_by_slug(site.id, &slug).await?;
            let now = parley_web::now_ms();
            let base = existing.as_ref().map(|s| s.fields.clone());
            let fields = input
                .merge(base, now, public_origin.as_deref())
                .map_err(field_error)
                .with_context(|| name.clone())?;
            let saved = publish::save(store.as_ref(), site.id, existing, fields, now)
                .await
                .with_context(|| format!("{name}: saving the story"))?;
            let (what, story) = match &saved {
                Saved::Created(s) => ("created", s),
                Saved::Updated(s) => ("updated", s),
                Saved::Unchanged(s) => ("unchanged", s),
            };
            println!(
                "{what} story {} (id {}, version {}) on {}",
                story.fields.slug, story.id, story.version, site.name
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn front_matter_and_body_are_split_at_the_fences() {
        let f = parse(
            "+++\nheadline = \"Hi\"\npublished_at = 2026-11-28T09:00:00Z\n+++\n\nBody\n+++\nmore\n",
        )
        .unwrap();
        assert_eq!(f.front.headline.as_deref(), Some("Hi"));
        assert_eq!(f.body, "Body\n+++\nmore\n");
        let input = f.input().unwrap();
        assert_eq!(input.published_at.as_deref(), Some("2026-11-28T09:00:00Z"));
        assert_eq!(input.slug.as_deref(), Some("hi"));
    }

    #[test]
    fn files_without_front_matter_or_headline_are_refused() {
        assert!(parse("# Just markdown\n").is_err());
        assert!(parse("+++\nheadline = \"x\"\n").is_err());
        assert!(parse("+++\nheadlin = \"x\"\n+++\n").is_err());
        let no_headline = parse("+++\nstandfirst = \"x\"\n+++\nBody").unwrap();
        let e = no_headline.input().unwrap_err().to_string();
        assert!(e.contains("headline"), "{e}");
    }

    #[test]
    fn a_date_without_offset_is_refused() {
        let f = parse("+++\nheadline = \"x\"\npublished_at = 2026-11-28T09:00:00\n+++\n").unwrap();
        assert!(f.input().unwrap_err().to_string().contains("published_at"));
    }
}
