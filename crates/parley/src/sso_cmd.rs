//! `parley site sso`: a site's single sign-on settings from the command line (see
//! docs/INTEGRATION.md). The rules are the admin API's (`parley_web::sso::SsoSettings::apply`);
//! an existing secret is never printed, a generated one once.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args};
use parley_core::Role;
use parley_store::Store;
use parley_web::error::ApiError;
use parley_web::sso::{self, SsoChange, SsoSettings};

#[derive(Args)]
#[command(group(ArgGroup::new("secret_source").args(["secret_file", "secret_env", "generate"])))]
pub struct SsoArgs {
    /// The site to set up.
    #[arg(long)]
    site: String,
    /// Read the shared secret (at least 32 bytes) from this file; surrounding
    /// whitespace is ignored.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Read the shared secret (at least 32 bytes) from this environment variable.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
    /// Set a new random secret and print it, this once: give it to the newsroom's server.
    #[arg(long)]
    generate: bool,
    /// Apply the `role` claim of tokens.
    #[arg(long, value_name = "true|false")]
    allow_roles: Option<bool>,
    /// The highest role a token may grant (reader, staff or moderator).
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    max_role: Option<Role>,
    /// Let readers register and sign in with a password (`false` needs a secret).
    #[arg(long, value_name = "true|false")]
    local_accounts: Option<bool>,
    /// Print the settings (never the secret).
    #[arg(long)]
    show: bool,
}

/// Any role word: whether it may be a token's maximum is the shared rules' decision.
fn parse_role(word: &str) -> Result<Role, String> {
    Role::parse(word.trim()).ok_or_else(|| "one of reader, staff, moderator".to_owned())
}

/// The API's refusal as a message naming the option it is about.
fn refusal(e: ApiError) -> anyhow::Error {
    match e {
        // The secret comes from one of three options; the message says what is wrong.
        ApiError::Client {
            field: Some(field),
            message,
            ..
        } if field != "secret" => anyhow::anyhow!("--{}: {message}", field.replace('_', "-")),
        ApiError::Client { message, .. } => anyhow::anyhow!("{message}"),
        other => anyhow::anyhow!("{other:?}"),
    }
}

fn read_secret(args: &SsoArgs) -> Result<Option<String>> {
    if let Some(path) = &args.secret_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--secret-file: reading {}", path.display()))?;
        return Ok(Some(text.trim().to_owned()));
    }
    if let Some(var) = &args.secret_env {
        let value = std::env::var(var).map_err(|e| match e {
            std::env::VarError::NotPresent => {
                anyhow::anyhow!("--secret-env: the environment variable {var} is not set")
            }
            std::env::VarError::NotUnicode(_) => {
                anyhow::anyhow!("--secret-env: the environment variable {var} is not UTF-8")
            }
        })?;
        return Ok(Some(value.trim().to_owned()));
    }
    Ok(args.generate.then(sso::generate_secret))
}

fn print_settings(site: &str, settings: &SsoSettings) {
    println!("site: {site}");
    println!("enabled: {}", settings.secret.is_some());
    println!("allow_roles: {}", settings.allow_roles);
    println!("max_role: {}", settings.max_role.as_str());
    println!("local_accounts: {}", settings.local_accounts);
}

pub async fn run(args: SsoArgs, store: &dyn Store) -> Result<()> {
    let site = store
        .site_by_name(args.site.trim())
        .await?
        .with_context(|| format!("no site named {}", args.site.trim()))?;
    let secret = read_secret(&args)?;
    let change = SsoChange {
        secret: secret.clone().map(Some),
        allow_roles: args.allow_roles,
        max_role: args.max_role,
        local_accounts: args.local_accounts,
    };
    let changing = change.secret.is_some()
        || change.allow_roles.is_some()
        || change.max_role.is_some()
        || change.local_accounts.is_some();
    if !changing {
        if !args.show {
            bail!(
                "nothing to do: give --secret-file, --secret-env, --generate, --allow-roles, \
                 --max-role or --local-accounts to change the settings, or --show to see them"
            );
        }
        let text = store.site_settings(site.id).await?.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or_default();
        print_settings(&site.name, &SsoSettings::from_settings(&value));
        return Ok(());
    }
    let settings = sso::update_site_sso(store, site.id, change)
        .await
        .map_err(refusal)?;
    println!("updated single sign-on for site {}", site.name);
    if args.show {
        print_settings(&site.name, &settings);
    }
    if args.generate
        && let Some(secret) = secret
    {
        println!("secret: {secret}");
        eprintln!(
            "This secret is shown once: keep it on the newsroom's server to sign readers' tokens."
        );
    }
    Ok(())
}
