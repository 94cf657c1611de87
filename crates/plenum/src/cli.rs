//! The command line: `plenum serve` and the offline administration commands, which work
//! directly on the data directory (the server may be running or not).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use plenum_domain::company::{CompanyName, TimeZoneName, parse_max_users};
use plenum_domain::credentials::Password;
use plenum_domain::user::{Profile, Role, UserChanges, Username};
use plenum_service::{Actor, Credential, NewCompanyRequest, NewUserRequest, SystemClock};
use plenum_store::Store;

use crate::config::{FileConfig, Overrides, ServeOverrides, Settings};
use crate::server;

/// Plenum: a self-hosted video-meeting server.
///
/// Configuration is read from built-in defaults, then the TOML file given with --config,
/// then PLENUM_* environment variables, then flags; each overrides the ones before it.
#[derive(Debug, Parser)]
#[command(name = "plenum", version, about, long_about)]
pub struct Cli {
    /// TOML configuration file (see docs/configuration.md).
    #[arg(long, env = "PLENUM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub common: Overrides,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server. On first start it creates the default company and the SystemAdmin
    /// `admin`, with the password from --admin-password, or a generated one printed once.
    Serve(Box<ServeOverrides>),
    /// Manage user accounts offline, on the data directory.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage companies (tenants) offline, on the data directory.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Manage a company's integration keys offline: API keys (Rokid, Telnyx) and Huawei app
    /// id/app key pairs. A key's secret is printed once, when it is created.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage a company's webhook endpoints offline (docs/webhooks.md). A signing secret is
    /// printed once, when the endpoint is added or its secret rotated.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Import the history of another system (rooms, sessions, attendance, recordings) from a
    /// JSON-lines file, offline. All of the file is written or, if a line is wrong, none of
    /// it; importing the same file again changes nothing. Format: docs/import.md.
    Import {
        /// The JSON-lines file.
        file: PathBuf,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// Apply the database's schema migrations that it lacks, and say which. `plenum serve`
    /// and the offline commands apply them too; this does only that (before starting
    /// several nodes of a new version on one PostgreSQL, for instance).
    Migrate,
    /// Write a consistent copy of the database to FILE, while the server runs or not. The
    /// copy holds everything committed before the backup began. Recording files and the
    /// data directory's secrets are not in it: see docs/operations.md. SQLite only: a
    /// PostgreSQL database is backed up with pg_dump or continuous archiving.
    Backup {
        /// Where the copy goes; must not exist.
        file: PathBuf,
    },
    /// Make FILE (written by `plenum backup`) the data directory's database. The server must
    /// be stopped; the database replaced is kept beside it. See docs/operations.md. SQLite
    /// only.
    Restore {
        /// A file `plenum backup` wrote.
        file: PathBuf,
    },
    /// Tools for development and benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Join a meeting as a participant over the client protocol; print every frame received
    /// as one JSON line. With --media, also publish audio and video and print what was
    /// received from each other participant once a second.
    ///
    /// Exit status: 0 left normally (--duration elapsed, Ctrl-C/SIGTERM); 2 the join was
    /// refused; 3 a host disconnected the participant (close 4001); 4 the meeting ended or was
    /// stopped (close 4002); 5 the connection was lost (heartbeat timeout, closed without a
    /// reason); 1 any other error. With --count N: the most severe status among the
    /// participants, from most to least severe 1, 5, 2, 3, 4, 0. See docs/bot.md.
    Bot(crate::bot::BotArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// What the integration is (shown in lists).
        #[arg(long)]
        name: String,
        /// api_key (Rokid, Telnyx: Authorization: Bearer) or huawei_app (appauth).
        #[arg(long, default_value = "api_key")]
        kind: String,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// List a company's keys (never their secrets).
    List {
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// Revoke a key: requests with it stop working at once.
    Revoke {
        /// The key's id (as `plenum key list` shows it).
        id: String,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; its signing secret (whsec_…) is printed once.
    Add {
        /// Where events are posted (http or https).
        url: String,
        /// Event types to receive, comma-separated; every type when left out.
        #[arg(long, value_delimiter = ',')]
        event_types: Option<Vec<String>>,
        /// What the endpoint is (shown in lists).
        #[arg(long)]
        description: Option<String>,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// List a company's endpoints (never their secrets).
    List {
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// Remove an endpoint: nothing more is delivered to it.
    Remove {
        /// The endpoint's id (as `plenum webhook list` shows it).
        id: String,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
    /// Give an endpoint a new signing secret, printed once.
    Rotate {
        /// The endpoint's id.
        id: String,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the data directory with generated users and scheduled meetings in the default
    /// company (deterministic for a seed). Initialises a new data directory first.
    Generate {
        /// Number of scheduled meetings.
        #[arg(long, default_value_t = 100_000)]
        schedules: u64,
        /// Number of generated users owning and invited to them.
        #[arg(long, default_value_t = 50)]
        users: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Password of `admin` if this initialises the data directory.
        #[arg(long, env = "PLENUM_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Fill the data directory with a record of meetings held (companies, users, rooms,
    /// sessions, attendance, recordings), for the history benchmarks. The default company is
    /// the first of the companies. Initialises a new data directory first.
    GenerateHistory {
        #[arg(long, default_value_t = 100)]
        companies: u64,
        #[arg(long, default_value_t = 20)]
        users_per_company: u64,
        #[arg(long, default_value_t = 10_000)]
        rooms: u64,
        #[arg(long, default_value_t = 1_000_000)]
        sessions: u64,
        /// Stays (join to leave) across all sessions.
        #[arg(long, default_value_t = 10_000_000)]
        attendance: u64,
        #[arg(long, default_value_t = 1_000_000)]
        recordings: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Password of `admin` if this initialises the data directory.
        #[arg(long, env = "PLENUM_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
}

/// Where a password comes from: a flag, stdin, or generated and printed once.
#[derive(Debug, Clone, clap::Args)]
pub struct PasswordSource {
    /// The password (visible in the process list: prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without a password option a strong one is generated and printed once.
    Create {
        #[arg(long)]
        username: String,
        /// Normal, MeetingOperator or SystemAdmin.
        #[arg(long, default_value = "Normal")]
        role: String,
        /// Company name; the default company when left out.
        #[arg(long)]
        company: Option<String>,
        #[arg(long, default_value = "")]
        real_name: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        department: String,
        #[arg(long, default_value = "")]
        mobile: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Set a new password for a user and end all their sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Create a company and its first SystemAdmin.
    Create {
        #[arg(long)]
        name: String,
        /// IANA time zone of the company, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Licensed number of users [default: the configured default_max_users].
        #[arg(long)]
        max_users: Option<i64>,
        /// Username of the company's first SystemAdmin.
        #[arg(long)]
        admin_username: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List companies.
    List,
}

impl PasswordSource {
    /// The password to set and whether it was generated (and so must be printed).
    fn resolve(&self) -> anyhow::Result<(Password, Option<String>)> {
        let raw = if let Some(p) = &self.password {
            p.clone()
        } else if self.password_stdin {
            crate::secret_input::password_from_stdin()?
        } else {
            let generated = plenum_service::generate_password();
            return Ok((Password::parse_new(&generated)?, Some(generated)));
        };
        Ok((Password::parse_new(&raw).context("the password")?, None))
    }
}

/// `plenum bot` on its own: a network client, so its help lists only its own options, not the
/// server's (`--config`, `--data-dir`, `--secret-salt`, `--durability`, which `plenum` takes
/// before every other command).
#[derive(Debug, Parser)]
#[command(name = "plenum bot", version)]
struct BotCli {
    #[command(flatten)]
    args: crate::bot::BotArgs,
}

/// Parses the command line (`std::env::args_os`).
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// Parses a command line. `plenum bot ...` is parsed by the bot's own parser (see
/// [`BotCli`]), whose help and usage name `plenum bot`; the same text is the `bot` command's
/// description in `plenum --help`.
pub fn parse_from(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
) -> Result<Cli, clap::Error> {
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|a| a == "bot") {
        let about = <Cli as clap::CommandFactory>::command()
            .find_subcommand("bot")
            .map(|c| (c.get_about().cloned(), c.get_long_about().cloned()));
        let mut command = <BotCli as clap::CommandFactory>::command();
        if let Some((about, long_about)) = about {
            if let Some(about) = about {
                command = command.about(about);
            }
            if let Some(long_about) = long_about {
                command = command.long_about(long_about);
            }
        }
        let matches = command.try_get_matches_from(
            std::iter::once(std::ffi::OsString::from("plenum bot")).chain(args.into_iter().skip(2)),
        )?;
        let bot = <BotCli as clap::FromArgMatches>::from_arg_matches(&matches)?;
        return Ok(Cli {
            config: None,
            common: Overrides::default(),
            command: Command::Bot(bot.args),
        });
    }
    Cli::try_parse_from(args)
}

/// Runs the command; `plenum bot` chooses its own exit status, the others exit 0 on success.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    if let Command::Bot(args) = cli.command {
        crate::bot::init_logging(args.count);
        return Ok(crate::bot::run(args).await);
    }
    run_admin(cli)
        .await
        .map(|()| std::process::ExitCode::SUCCESS)
}

async fn run_admin(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    match cli.command {
        Command::Serve(serve) => {
            let settings = Settings::resolve(file, &cli.common, &serve)?;
            crate::telemetry::init(settings.log_format);
            let mut running = server::start(&settings, Arc::new(SystemClock)).await?;
            server::announce(&running.bootstrap);
            println!("Plenum is listening on {}", running.url());
            tokio::select! {
                () = server::shutdown_signal() => {
                    tracing::info!("shutting down");
                    running.stop().await
                }
                result = running.wait() => result,
            }
        }
        Command::User(cmd) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            run_user(&settings, cmd).await
        }
        Command::Company(cmd) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            run_company(&settings, cmd).await
        }
        Command::Key(cmd) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            run_key(&settings, cmd).await
        }
        Command::Webhook(cmd) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            run_webhook(&settings, cmd).await
        }
        Command::Migrate => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            let applied = server::Backend::migrate(&settings).await?;
            let database = server::Backend::describe(&settings);
            if applied.is_empty() {
                println!("{database} is up to date: no migration to apply");
            } else {
                println!("applied {} migrations to {database}:", applied.len());
                for m in &applied {
                    println!("  {:04} {}", m.version, m.description);
                }
            }
            Ok(())
        }
        Command::Backup { file: target } => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            refuse_on_postgres(&settings, "backup")?;
            plenum_store_sqlite::backup(&settings.data_dir, &target)
                .with_context(|| format!("no backup was written to {}", target.display()))?;
            println!(
                "backed up {} to {}",
                settings.data_dir.display(),
                target.display()
            );
            Ok(())
        }
        Command::Restore { file: source } => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            refuse_on_postgres(&settings, "restore")?;
            let now = jiff::Timestamp::now().as_second();
            let restored = plenum_store_sqlite::restore(&settings.data_dir, &source, now)
                .with_context(|| format!("{} was not restored", source.display()))?;
            println!(
                "restored {} into {}",
                source.display(),
                settings.data_dir.display()
            );
            if let Some(previous) = restored.previous {
                println!("the database it replaced is kept as {}", previous.display());
            }
            Ok(())
        }
        Command::Import {
            file: path,
            company,
        } => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            run_import(&settings, &path, company).await
        }
        Command::Dev(DevCommand::GenerateHistory {
            companies,
            users_per_company,
            rooms,
            sessions,
            attendance,
            recordings,
            seed,
            admin_password,
        }) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            let (plenum, store) = server::open(&settings, Arc::new(SystemClock)).await?;
            let outcome = server::bootstrap(&plenum, admin_password.as_deref()).await?;
            server::announce(&outcome);
            let started = std::time::Instant::now();
            let size = crate::generate_history::HistorySize {
                companies,
                users_per_company,
                rooms,
                sessions,
                attendance,
                recordings,
                seed,
            };
            let result = crate::generate_history::generate(&plenum, plenum.store(), size).await;
            store.close().await;
            result?;
            println!(
                "generated {companies} companies, {rooms} rooms, {sessions} sessions, {attendance} stays and {recordings} recordings in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Dev(DevCommand::Generate {
            schedules,
            users,
            seed,
            admin_password,
        }) => {
            let settings = Settings::resolve(file, &cli.common, &ServeOverrides::default())?;
            let (plenum, store) = server::open(&settings, Arc::new(SystemClock)).await?;
            let outcome = server::bootstrap(&plenum, admin_password.as_deref()).await?;
            server::announce(&outcome);
            let started = std::time::Instant::now();
            let result =
                crate::generate::generate(&plenum, plenum.store(), schedules, users, seed).await;
            store.close().await;
            result?;
            println!(
                "generated {users} users and {schedules} scheduled meetings in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Bot(_) => unreachable!("`run` handles `plenum bot`"),
    }
}

/// `plenum backup` and `plenum restore` copy the data directory's SQLite database; a
/// PostgreSQL database has its own tools, which also cover a server of several nodes.
fn refuse_on_postgres(settings: &Settings, command: &str) -> anyhow::Result<()> {
    match &settings.database_url {
        None => Ok(()),
        Some(url) => anyhow::bail!(
            "plenum {command} copies the SQLite database of the data directory, but this \
             installation runs on {url}: back it up with pg_dump (and restore with pg_restore), \
             or use continuous archiving for point-in-time recovery (see docs/operations.md)"
        ),
    }
}

async fn offline(settings: &Settings) -> anyhow::Result<(plenum_service::Plenum, server::Backend)> {
    let (plenum, store) = server::open(settings, Arc::new(SystemClock)).await?;
    // An offline command on a new data directory initialises it as a first start would.
    let outcome = server::bootstrap(&plenum, None).await?;
    server::announce(&outcome);
    Ok((plenum, store))
}

async fn run_user(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let (plenum, store) = offline(settings).await?;
    let result = async {
        match cmd {
            UserCommand::Create {
                username,
                role,
                company,
                real_name,
                email,
                department,
                mobile,
                password,
            } => {
                let company_id = resolve_company(&*store.store(), company.as_deref())
                    .await?
                    .id;
                let (password, generated) = password.resolve()?;
                let request = NewUserRequest {
                    username: Username::parse(&username)?,
                    profile: Profile {
                        real_name: Profile::parse_real_name(&real_name)?,
                        email: Profile::parse_email(&email)?,
                        department: Profile::parse_department(&department)?,
                        mobile: Profile::parse_mobile(&mobile)?,
                    },
                    role: role.parse::<Role>()?,
                    credential: Credential::Password(password),
                };
                let user = plenum
                    .accounts()
                    .create_user(Actor::Operator(company_id), request)
                    .await?;
                println!(
                    "created user {} ({}) with id {}",
                    user.username, user.role, user.id
                );
                print_generated(generated);
            }
            UserCommand::ResetPassword { username, password } => {
                let (password, generated) = password.resolve()?;
                let accounts = plenum.accounts();
                let user = accounts
                    .user_by_username(
                        Actor::Operator(resolve_company(&*store.store(), None).await?.id),
                        &Username::parse(&username)?,
                    )
                    .await?;
                let changes = UserChanges {
                    secret: Some(
                        accounts
                            .credential_change(&Credential::Password(password))
                            .await?,
                    ),
                    ..UserChanges::default()
                };
                let user = accounts
                    .update_user(Actor::Operator(user.company_id), user.id, changes)
                    .await?;
                println!(
                    "password of {} reset; all their sessions have ended",
                    user.username
                );
                print_generated(generated);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn run_company(settings: &Settings, cmd: CompanyCommand) -> anyhow::Result<()> {
    let (plenum, store) = offline(settings).await?;
    let result = async {
        match cmd {
            CompanyCommand::Create {
                name,
                time_zone,
                max_users,
                admin_username,
                password,
            } => {
                let (password, generated) = password.resolve()?;
                // The operator creates companies as the platform: in the default company.
                let platform = Actor::Operator(resolve_company(&*store.store(), None).await?.id);
                let (company, admin) = plenum
                    .accounts()
                    .create_company(
                        platform,
                        NewCompanyRequest {
                            name: CompanyName::parse(&name)?,
                            time_zone: TimeZoneName::parse(&time_zone)?,
                            max_users: max_users.map(parse_max_users).transpose()?,
                            admin: NewUserRequest {
                                username: Username::parse(&admin_username)?,
                                profile: Profile::default(),
                                role: Role::SystemAdmin,
                                credential: Credential::Password(password),
                            },
                        },
                    )
                    .await?;
                println!(
                    "created company {:?} ({}) in {}, max_users {}; its SystemAdmin is {}",
                    company.name.as_str(),
                    company.id,
                    company.time_zone.as_str(),
                    company.max_users,
                    admin.username
                );
                print_generated(generated);
            }
            CompanyCommand::List => {
                for c in store.store().companies().await? {
                    println!(
                        "{}\t{}\t{}\tmax_users={}{}",
                        c.id,
                        c.name.as_str(),
                        c.time_zone.as_str(),
                        c.max_users,
                        if c.is_default { "\tdefault" } else { "" }
                    );
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn print_generated(generated: Option<String>) {
    if let Some(p) = generated {
        println!("generated password (shown only now): {p}");
    }
}

/// The company a command names, or the default company.
async fn resolve_company(
    store: &dyn Store,
    name: Option<&str>,
) -> anyhow::Result<plenum_domain::company::Company> {
    match name {
        None => store
            .default_company()
            .await?
            .context("the data directory has no default company"),
        Some(name) => {
            let wanted = CompanyName::parse(name)?;
            store
                .companies()
                .await?
                .into_iter()
                .find(|c| c.name.as_str().eq_ignore_ascii_case(wanted.as_str()))
                .with_context(|| format!("no company named {name:?}"))
        }
    }
}

async fn run_key(settings: &Settings, cmd: KeyCommand) -> anyhow::Result<()> {
    use plenum_domain::api_keys::{ApiKeyKind, parse_key_name};
    let (plenum, store) = offline(settings).await?;
    let result = async {
        match cmd {
            KeyCommand::Create {
                name,
                kind,
                company,
            } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                let created = plenum
                    .accounts()
                    .create_api_key(
                        Actor::Operator(company.id),
                        parse_key_name(&name)?,
                        ApiKeyKind::parse(&kind)?,
                    )
                    .await?;
                let key = &created.key;
                println!(
                    "created {} {:?} ({}) for company {:?}",
                    key.kind,
                    key.name,
                    key.id,
                    company.name.as_str()
                );
                match &key.app_id {
                    Some(app_id) => {
                        println!("app id: {app_id}");
                        println!("app key (shown only now): {}", created.secret);
                    }
                    None => println!("API key (shown only now): {}", created.secret),
                }
            }
            KeyCommand::List { company } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                for k in plenum
                    .accounts()
                    .api_keys(Actor::Operator(company.id))
                    .await?
                {
                    println!(
                        "{}\t{}\t{}\t{}…{}{}",
                        k.id,
                        k.kind,
                        k.name,
                        k.prefix,
                        k.app_id
                            .as_deref()
                            .map(|a| format!("\tapp_id={a}"))
                            .unwrap_or_default(),
                        if k.is_revoked() { "\trevoked" } else { "" }
                    );
                }
            }
            KeyCommand::Revoke { id, company } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                let id = id
                    .parse()
                    .with_context(|| format!("{id:?} is not a key id"))?;
                let key = plenum
                    .accounts()
                    .revoke_api_key(Actor::Operator(company.id), id)
                    .await?;
                println!("revoked {} {:?} ({})", key.kind, key.name, key.id);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

async fn run_webhook(settings: &Settings, cmd: WebhookCommand) -> anyhow::Result<()> {
    let (plenum, store) = offline(settings).await?;
    let webhook_id = |id: &str| -> anyhow::Result<plenum_domain::ids::WebhookId> {
        id.parse()
            .with_context(|| format!("{id:?} is not a webhook id"))
    };
    let result = async {
        let integrations = plenum.integrations();
        match cmd {
            WebhookCommand::Add {
                url,
                event_types,
                description,
                company,
            } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                let created = integrations
                    .create_webhook(
                        Actor::Operator(company.id),
                        plenum_service::WebhookRequest {
                            url,
                            event_types,
                            description,
                        },
                    )
                    .await?;
                let e = &created.endpoint;
                println!(
                    "added webhook {} for company {:?}: {} ({})",
                    e.id,
                    company.name.as_str(),
                    e.url,
                    describe_types(e.types)
                );
                println!("signing secret (shown only now): {}", created.secret);
            }
            WebhookCommand::List { company } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                for e in integrations.webhooks(Actor::Operator(company.id)).await? {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        e.id,
                        e.url,
                        describe_types(e.types),
                        if e.failing_since.is_some() {
                            "failing"
                        } else {
                            "active"
                        },
                        if e.description.is_empty() {
                            String::new()
                        } else {
                            format!("\t{}", e.description)
                        }
                    );
                }
            }
            WebhookCommand::Remove { id, company } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                let id = webhook_id(&id)?;
                integrations
                    .delete_webhook(Actor::Operator(company.id), id)
                    .await?;
                println!("removed webhook {id}");
            }
            WebhookCommand::Rotate { id, company } => {
                let company = resolve_company(&*store.store(), company.as_deref()).await?;
                let rotated = integrations
                    .rotate_webhook_secret(Actor::Operator(company.id), webhook_id(&id)?)
                    .await?;
                println!("rotated the secret of webhook {}", rotated.endpoint.id);
                println!("signing secret (shown only now): {}", rotated.secret);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn describe_types(types: plenum_domain::webhooks::EventTypes) -> String {
    if types.is_all() {
        "all event types".to_owned()
    } else {
        types.names().join(",")
    }
}

async fn run_import(
    settings: &Settings,
    path: &std::path::Path,
    company: Option<String>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (plenum, store) = offline(settings).await?;
    let result = async {
        let company = resolve_company(&*store.store(), company.as_deref()).await?;
        let s = plenum
            .history()
            .import_history(Actor::Operator(company.id), &text)
            .await
            .with_context(|| format!("{} was not imported", path.display()))?;
        println!(
            "imported into {:?}: {} rooms, {} sessions, {} attendance, {} recordings; {} already present",
            company.name.as_str(),
            s.rooms,
            s.sessions,
            s.attendance,
            s.recordings,
            s.unchanged
        );
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
