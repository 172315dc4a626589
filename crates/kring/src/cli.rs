//! The command line: `kring [serve]`, `kring migrate`, `kring admin …`, `kring config check`.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kring_core::model::{Registrations, Role};
use kring_service::accounts::{Origin, Registration};

use crate::config::{Config, Partial};
use crate::server;

#[derive(Parser, Debug)]
#[command(
    name = "kring",
    version,
    about = "Kring: a small social server for friends, circles and groups, federating over ActivityPub.",
    long_about = "Kring runs a social server with an embedded SQLite database by default.\n\
    Run `kring` (or `kring serve`) and open the printed URL. Create the first admin with\n\
    `kring admin create-user --username NAME --email EMAIL --password PASSWORD --role admin`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by every command (flags beat KRING_* environment variables beat the file).
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, global = true, env = "KRING_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where Kring keeps its data (the SQLite database by default) [default: ./kring-data].
    #[arg(long, global = true, env = "KRING_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER:PASS@HOST/DB [default: sqlite in the data dir].
    #[arg(long, global = true, env = "KRING_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The server's domain in handles and URLs, with a port if not 443 [default: localhost:8080].
    #[arg(long, global = true, env = "KRING_DOMAIN")]
    pub domain: Option<String>,
    /// Log filter, e.g. info or kring=debug.
    #[arg(long, global = true, env = "KRING_LOG", default_value = "info")]
    pub log: String,
    /// Whether new accounts approve each follower, for the server and for `admin create-user`
    /// (each person can change it later) [default: true].
    #[arg(long, global = true, env = "KRING_APPROVE_FOLLOWERS", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub approve_followers: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Administer accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a person's data export archive (a zip, docs/export-format.md) to a file, now.
    Export {
        /// The local account's username.
        #[arg(long)]
        user: String,
        /// Where to write the archive.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Seed a database at benchmark size and measure the server (see BENCHMARKS.md).
    Bench(crate::bench::BenchArgs),
    /// Measure federation: delivery to 10,000 remote followers on 100 loopback hosts, and
    /// signed inbound activities with a cold and a warm key cache, and under overload.
    BenchFederation(crate::bench::federation::FedBenchArgs),
    /// Measure media processing: 12-megapixel JPEGs per second and peak memory with 8
    /// uploads in flight.
    BenchMedia(crate::bench::media::MediaBenchArgs),
    /// Media files: prune the cache of remote media.
    #[command(subcommand)]
    Media(MediaCommand),
    /// Import a Mastodon CSV export into a local account: follows, blocks, mutes, blocked
    /// domains, bookmarks or lists (docs/privacy.md, "Your data").
    Import(ImportArgs),
}

#[derive(Subcommand, Debug)]
pub enum MediaCommand {
    /// Remove cached copies of other servers' media (pictures, video, audio) not used for
    /// DAYS days, then the least recently used until all take at most BYTES; prints each
    /// removed copy. Without options, `[media] remote_cache_days` and `remote_cache_budget`
    /// of the configuration (7 days, 1 GiB by default). Copies are fetched again when needed.
    Prune {
        /// Remove copies not used for this many days (0: all of them).
        #[arg(long = "older-than", value_name = "DAYS")]
        older_than: Option<u32>,
        /// Then remove the least recently used until the rest take at most this many bytes.
        #[arg(long, value_name = "BYTES")]
        budget: Option<u64>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The local account to import into.
    #[arg(long)]
    pub user: String,
    /// What the file holds: following, blocks, mutes, domain_blocks, bookmarks or lists
    /// (Mastodon's file names work too, e.g. following_accounts), or archive (a Kring
    /// export: its follows, blocks, mutes, blocked domains, bookmarks, lists and circles).
    #[arg(long = "type")]
    pub kind: String,
    /// merge: add to what the account has; overwrite: make it exactly the file's.
    #[arg(long, default_value = "merge")]
    pub mode: String,
    /// The CSV file (or the zip of a Kring archive).
    pub file: std::path::PathBuf,
}

#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KRING_LISTEN")]
    pub listen: Option<String>,
    /// Sign-up mode [default: open on a loopback domain, approval otherwise].
    #[arg(long, env = "KRING_REGISTRATIONS")]
    pub registrations: Option<RegistrationsArg>,
    /// Serve plain http on a non-loopback domain (test networks only).
    #[arg(long, env = "KRING_INSECURE_HTTP", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub insecure_http: bool,
    /// Federate with private and loopback addresses over plain http (tests on one machine only).
    #[arg(long, env = "KRING_ALLOW_PRIVATE_FEDERATION", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub allow_private_federation: bool,
    /// Require signed requests to read any ActivityPub document ("authorized fetch").
    #[arg(long, env = "KRING_AUTHORIZED_FETCH", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub authorized_fetch: bool,
    /// What this process runs: all (HTTP and jobs), web (HTTP only) or worker (jobs only);
    /// split roles are for several processes on one PostgreSQL database [default: all].
    #[arg(long, env = "KRING_ROLE")]
    pub role: Option<crate::config::Role>,
    /// An abuse limit, NAME=COUNT/PERIOD (e.g. sign_in=25/5m; `all` sets every limit); may be
    /// repeated or comma-separated. Names and defaults: docs/configuration.md.
    #[arg(long = "rate-limit", env = "KRING_RATE_LIMITS", value_delimiter = ',')]
    pub rate_limits: Vec<String>,
    /// A reverse proxy whose X-Forwarded-For names the client (an IP address); may be repeated
    /// or comma-separated.
    #[arg(
        long = "trusted-proxy",
        env = "KRING_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum RegistrationsArg {
    Open,
    Approval,
    Closed,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an approved, confirmed local account.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The password (or set KRING_NEW_PASSWORD to keep it out of the process list).
        #[arg(long, env = "KRING_NEW_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum, default_value = "user")]
        role: RoleArg,
    },
    /// Approve a pending sign-up.
    Approve { username: String },
    /// Suspend an account (its sessions end; its posts are hidden).
    Suspend {
        username: String,
        /// Lift the suspension instead.
        #[arg(long)]
        undo: bool,
    },
    /// Delete an account for good: other servers are told, every row and file of it goes,
    /// only its handle stays (never to be reused). It cannot be undone.
    DeleteUser {
        username: String,
        /// Say yes: without it, nothing is deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Set the policy for another server: silence, suspend, reject media, or allow.
    DomainBlock {
        domain: String,
        /// silence: no public timelines; suspend: no federation at all.
        #[arg(long, value_enum, default_value = "suspend")]
        severity: SeverityArg,
        /// Do not store media from this domain.
        #[arg(long)]
        reject_media: bool,
    },
    /// Lift a domain's block.
    DomainUnblock { domain: String },
    /// Allow a domain (federation is limited to allowed domains in allow-list mode).
    DomainAllow { domain: String },
    /// List domain policies.
    ListDomains,
    /// List local accounts.
    ListUsers {
        /// Only those awaiting approval.
        #[arg(long)]
        pending: bool,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum SeverityArg {
    Silence,
    Suspend,
    None,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum RoleArg {
    User,
    Moderator,
    Admin,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Resolve and validate the configuration, and check the database connection.
    Check,
}

pub fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.global.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn resolve(global: &Global, serve: &ServeArgs) -> Result<Config, String> {
    let flags = Partial {
        listen: serve.listen.clone(),
        domain: global.domain.clone(),
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        registrations: serve.registrations.map(|r| match r {
            RegistrationsArg::Open => Registrations::Open,
            RegistrationsArg::Approval => Registrations::Approval,
            RegistrationsArg::Closed => Registrations::Closed,
        }),
        insecure_http: serve.insecure_http.then_some(true),
        allow_private_federation: serve.allow_private_federation.then_some(true),
        authorized_fetch: serve.authorized_fetch.then_some(true),
        role: serve.role,
        approve_followers: global.approve_followers,
        rate_limits: (!serve.rate_limits.is_empty())
            .then(|| crate::config::parse_rate_limits(&serve.rate_limits))
            .transpose()?,
        trusted_proxies: (!serve.trusted_proxies.is_empty()).then(|| serve.trusted_proxies.clone()),
        ..Partial::default()
    };
    let file = match &global.config {
        Some(path) => Partial::from_file(path)?,
        None => Partial::default(),
    };
    Config::resolve(flags.or(file))
}

pub async fn run(cli: Cli) -> Result<(), String> {
    let serve_args = match &cli.command {
        Some(Command::Serve(a)) => a.clone(),
        _ => ServeArgs::default(),
    };
    let config = resolve(&cli.global, &serve_args)?;
    match cli.command {
        None | Some(Command::Serve(_)) => server::serve(config).await,
        Some(Command::Migrate) => {
            let store = server::open_store(&config).await?;
            store.migrate().await.map_err(|e| e.to_string())?;
            println!("Migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Some(Command::Config(ConfigCommand::Check)) => {
            println!("listen            = {}", config.listen);
            println!("domain            = {}", config.domain);
            println!("base url          = {}://{}", config.scheme, config.domain);
            println!("data_dir          = {}", config.data_dir.display());
            println!("database_url      = {}", redact(&config.database_url));
            println!("registrations     = {:?}", config.registrations);
            println!("approve_followers = {}", config.approve_followers);
            println!("max_status_chars  = {}", config.max_status_chars);
            match &config.media.s3 {
                // Never the secret.
                Some(s3) => println!(
                    "media storage     = s3 bucket {} at {} ({})",
                    s3.bucket,
                    s3.endpoint.as_deref().unwrap_or("AWS"),
                    s3.region
                ),
                None => println!(
                    "media storage     = {}",
                    config
                        .media
                        .dir
                        .as_ref()
                        .map_or("none".into(), |d| d.display().to_string())
                ),
            }
            let store = server::open_store(&config).await?;
            store.ping().await.map_err(|e| e.to_string())?;
            println!("database          : reachable");
            println!("configuration OK");
            Ok(())
        }
        Some(Command::Admin(cmd)) => admin(config, cmd).await,
        Some(Command::Export { user, out }) => {
            let kring = server::open_service(&config).await?;
            let size = kring
                .export_user_to_file(&user, &out)
                .await
                .map_err(|e| e.to_string())?;
            println!("Wrote {} ({size} bytes)", out.display());
            Ok(())
        }
        Some(Command::Bench(args)) => crate::bench::run(&cli.global, args).await,
        Some(Command::BenchFederation(args)) => {
            crate::bench::federation::run(&cli.global, args).await
        }
        Some(Command::BenchMedia(args)) => crate::bench::media::run(args).await,
        Some(Command::Import(args)) => import(config, args).await,
        Some(Command::Media(MediaCommand::Prune { older_than, budget })) => {
            media_prune(config, older_than, budget).await
        }
    }
}

async fn media_prune(
    config: Config,
    older_than: Option<u32>,
    budget: Option<u64>,
) -> Result<(), String> {
    let (older_than, budget) = if older_than.is_none() && budget.is_none() {
        (
            Some(config.media.remote_cache_days),
            Some(config.media.remote_cache_budget),
        )
    } else {
        (older_than, budget)
    };
    let kring = server::open_service(&config).await?;
    let removed = kring
        .prune_remote_media(older_than, budget)
        .await
        .map_err(|e| e.to_string())?;
    let mut bytes = 0i64;
    for c in &removed {
        bytes += c.size;
        println!(
            "removed {} ({}, {} bytes, last used {})",
            c.file_key,
            c.content_type,
            c.size,
            kring_core::time::rfc3339(c.last_used_at)
        );
    }
    let (left, left_bytes) = kring
        .remote_media_totals()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Removed {} cached remote files ({bytes} bytes); {left} left ({left_bytes} bytes)",
        removed.len()
    );
    Ok(())
}

async fn import(config: Config, args: ImportArgs) -> Result<(), String> {
    use kring_service::data::import::{ImportFile, ImportMode};
    let file =
        ImportFile::parse(&args.kind).ok_or_else(|| format!("unknown --type {}", args.kind))?;
    let mode = ImportMode::parse(&args.mode)
        .ok_or_else(|| format!("unknown --mode {} (merge or overwrite)", args.mode))?;
    let data = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let kring = server::open_service(&config).await?;
    let account = kring
        .local_account_named(&args.user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no local account named {}", args.user))?;
    let actor = kring.actor(account.id).await.map_err(|e| e.to_string())?;
    let done = kring
        .import_now(&actor, file, mode, &data)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Imported into {}: {} applied, {} skipped, {} removed",
        account.acct(),
        done.applied,
        done.skipped,
        done.removed
    );
    Ok(())
}

/// Hide a database password in output.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn admin(config: Config, cmd: AdminCommand) -> Result<(), String> {
    let kring = server::open_service(&config).await?;
    let by_name = |name: String| {
        let kring = kring.clone();
        async move {
            kring
                .lookup(None, &name)
                .await
                .map_err(|_| format!("no local account named {name}"))
        }
    };
    match cmd {
        AdminCommand::CreateUser {
            username,
            email,
            password,
            role,
        } => {
            let role = match role {
                RoleArg::User => Role::User,
                RoleArg::Moderator => Role::Moderator,
                RoleArg::Admin => Role::Admin,
            };
            let actor = kring
                .create_account(
                    Registration {
                        username,
                        email,
                        password,
                        agreement: true,
                        locale: "en".into(),
                        reason: None,
                    },
                    Origin::Admin { role },
                )
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Created {} ({}) with role {}",
                actor.account.acct(),
                actor.account.id,
                role.as_str()
            );
        }
        AdminCommand::Approve { username } => {
            let a = by_name(username).await?;
            kring
                .admin_approve(None, a.id)
                .await
                .map_err(|e| e.to_string())?;
            println!("Approved {}", a.acct());
        }
        AdminCommand::Suspend { username, undo } => {
            let a = kring
                .store
                .account_by_handle(&username, None)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no local account named {username}"))?;
            kring
                .admin_suspend(None, a.id, !undo)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{} {}",
                if undo { "Unsuspended" } else { "Suspended" },
                a.acct()
            );
        }
        AdminCommand::DeleteUser { username, yes } => {
            let a = kring
                .local_account_named(&username)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no local account named {username}"))?;
            if !yes {
                return Err(format!(
                    "this deletes {} for good: run again with --yes to do it",
                    a.acct()
                ));
            }
            kring
                .admin_delete_account(None, a.id)
                .await
                .map_err(|e| e.to_string())?;
            println!("Deleted {}", a.acct());
        }
        AdminCommand::DomainBlock {
            domain,
            severity,
            reject_media,
        } => {
            let block = match severity {
                SeverityArg::Silence => Some(kring_service::DomainBlock::Silence),
                SeverityArg::Suspend => Some(kring_service::DomainBlock::Suspend),
                SeverityArg::None => None,
            };
            let policy = kring_service::DomainPolicy {
                block,
                reject_media,
                allowed: false,
            };
            kring
                .admin_set_domain_policy(None, &domain, policy)
                .await
                .map_err(|e| e.to_string())?;
            println!("Domain policy for {domain} set");
        }
        AdminCommand::DomainUnblock { domain } => {
            kring
                .admin_set_domain_policy(None, &domain, kring_service::DomainPolicy::default())
                .await
                .map_err(|e| e.to_string())?;
            println!("Domain {domain} unblocked");
        }
        AdminCommand::DomainAllow { domain } => {
            let policy = kring_service::DomainPolicy {
                allowed: true,
                ..Default::default()
            };
            kring
                .admin_set_domain_policy(None, &domain, policy)
                .await
                .map_err(|e| e.to_string())?;
            println!("Domain {domain} allowed");
        }
        AdminCommand::ListDomains => {
            for (d, p) in kring
                .admin_domain_policies(None)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{d:<40} block={:?} reject_media={} allowed={}",
                    p.block, p.reject_media, p.allowed
                );
            }
        }
        AdminCommand::ListUsers { pending } => {
            let users = kring
                .admin_users(None, pending)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:<20} {:<30} {:<10} {:<9} {:<9}",
                "username", "email", "role", "approved", "suspended"
            );
            for (a, u) in users {
                println!(
                    "{:<20} {:<30} {:<10} {:<9} {:<9}",
                    a.username,
                    u.email,
                    u.role.as_str(),
                    u.approved,
                    a.suspended_at.is_some()
                );
            }
        }
    }
    kring.store.close().await;
    Ok(())
}
