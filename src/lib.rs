//! Anju (安居): build the Rocket application from a `Config` and a `DatabaseConnection`.
pub mod config;
pub mod crypto;
pub mod db;
pub mod documents;
pub mod domain;
pub mod entities;
pub mod error;
pub mod jobs;
pub mod media;
pub mod notify;
pub mod ratelimit;
pub mod services;
pub mod storage;
pub mod web;

use rocket::data::{Limits, ToByteUnit};
use rocket::{Build, Rocket};
use sea_orm::DatabaseConnection;

pub use config::Config;

/// mimalloc rather than glibc's malloc: with a heap arena per thread, glibc held a 100 000-house
/// import's dry run at 2.5 times its live heap (benches/import.rs prints the peak).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Shared state of one running instance.
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Config,
    pub login_limiter: services::auth::LoginLimiter,
    /// Public endpoints per address (and check-in keys); shared by all instances on PostgreSQL.
    pub public_limiter: ratelimit::Limiter,
    /// Peers whose forwarded-address headers are believed (`ANJU_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Checklists loaded from `forms/checklists` at start; a bad file stops the start.
    pub checklists: domain::checklist::ChecklistRegistry,
    /// Ed25519 keys that sign permit QR codes; a lock because keys can be rotated while serving,
    /// here or (with the key ring in PostgreSQL) on another instance.
    pub keyring: crypto::shared::SharedKeyring,
    /// Encrypts document numbers and phones; hashes them for look-ups.
    pub pii: crypto::pii::PiiCipher,
    /// The certificate renderer, its font parsed once at start.
    pub certificates: documents::certificate::CertificateRenderer,
    /// QR signatures already verified, so a busy verification page skips the Ed25519 check.
    pub sig_cache: services::verification::SigCache,
    /// Permits' live status as last read; dropped on every instance when a change is announced.
    pub verify_cache: services::verification::StatusCache,
    /// Verification pages as rendered, standing as long as the readings they were made from.
    pub page_cache: services::verification::PageCache,
    /// How events leave: the webhook client, the SMS provider, retry settings.
    pub outbox: services::events::dispatch::Outbox,
    /// The command room's shared snapshots: one computation per change for every open screen.
    pub dashboard: services::dashboard::hub::Hub,
    /// Where uploaded photos live: the uploads folder, or a bucket every instance shares.
    pub storage: storage::PhotoStore,
}

/// How handlers and background jobs hold the shared state.
pub type AppRef = std::sync::Arc<AppState>;

/// Why the application could not be built: a file it needs is missing or wrong.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("无法读取或创建密钥文件: {0}")]
    Io(#[from] std::io::Error),
    #[error("检查清单有误: {0}")]
    Checklist(#[from] domain::checklist::ChecklistError),
    #[error("证书模板有误: {0}")]
    Certificate(#[from] documents::certificate::DocumentError),
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Keys(#[from] crypto::shared::Error),
}

/// The cookie secret: `ROCKET_SECRET_KEY` when given (several instances share it that way),
/// otherwise generated once into the data directory and reused on every start.
fn secret_key(cfg: &Config) -> Result<Option<Vec<u8>>, std::io::Error> {
    if std::env::var("ROCKET_SECRET_KEY").is_ok_and(|v| !v.is_empty()) {
        return Ok(None);
    }
    crypto::keyfile::load_or_create_secret(&cfg.data_dir.join("secret_key"), 64).map(Some)
}

/// Builds the application. Migrations and seeding are the caller's business (see `main.rs`).
/// Async because the keys may come from the database (see `crypto::shared`).
pub async fn build(config: Config, db: DatabaseConnection) -> Result<Rocket<Build>, StartError> {
    let limits = Limits::default()
        .limit("form", 64.kibibytes())
        // The checklist walk is one form that may carry several phone photos.
        .limit("data-form", 40.mebibytes())
        .limit("file", 10.mebibytes())
        .limit("json", 1.mebibytes());
    // Rocket would believe `X-Real-IP` from anyone; `ClientIp` decides, from ANJU_TRUSTED_PROXIES.
    let mut figment = rocket::Config::figment()
        .merge(("limits", limits))
        .merge(("ip_header", false));
    if let Some(key) = secret_key(&config)? {
        figment = figment.merge(("secret_key", key));
    }
    let checklists =
        domain::checklist::ChecklistRegistry::load_dir(&config.forms_dir.join("checklists"))?;
    let crypto::shared::Keys { keyring, pii } = crypto::shared::open(&config, &db).await?;
    let certificates = documents::certificate::CertificateRenderer::new()?;
    let trusted_proxies = config.trusted_proxy_nets()?;
    let notices_path = config.forms_dir.join("notifications.toml");
    // An installation's own file wins; without one, the rules shipped in the binary apply.
    let notices_text = match std::fs::read_to_string(&notices_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            include_str!("../forms/notifications.toml").to_string()
        }
        Err(e) => return Err(e.into()),
    };
    let notices = domain::notice::NoticeRules::parse(&notices_text)
        .map_err(|e| config::ConfigError(format!("{}: {e}", notices_path.display())))?;
    services::events::install_rules(notices);
    let outbox = services::events::dispatch::Outbox::from_config(&config)?;
    let shared_counts = ratelimit::SharedCounts::for_database(&db);
    let storage = storage::PhotoStore::from_config(&config)?;
    tracing::info!("photos stored in {}", storage.label());
    let state = AppState {
        outbox,
        storage,
        dashboard: Default::default(),
        trusted_proxies,
        certificates,
        sig_cache: Default::default(),
        verify_cache: Default::default(),
        page_cache: Default::default(),
        checklists,
        keyring,
        pii,
        login_limiter: services::auth::LoginLimiter::new(
            config.login_account_limit,
            config.login_ip_limit,
            config.login_window_minutes,
            shared_counts.clone(),
        ),
        public_limiter: ratelimit::Limiter::new(
            "public",
            config.public_rate_per_minute,
            std::time::Duration::from_secs(60),
            shared_counts,
        ),
        db,
        config,
    };
    let state: AppRef = std::sync::Arc::new(state);
    if state.keyring.in_database() {
        crypto::shared::spawn_refresher(std::sync::Arc::downgrade(&state));
    }
    if state.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        services::changes::spawn_listener(&state);
    }
    Ok(web::mount(rocket::custom(figment).manage(state.clone())).attach(jobs::Scheduler(state)))
}
