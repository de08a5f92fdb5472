//! Typed settings from Rocket.toml and `ANJU_*` environment variables, validated at start.
use std::path::PathBuf;

use rocket::figment::Figment;
use rocket::figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

/// Everything Anju reads from its environment. Every field has a safe default for a first local run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; empty means an SQLite file in `data_dir`.
    #[serde(default)]
    pub database_url: String,
    pub data_dir: PathBuf,
    pub public_url: String,
    /// Requests per minute per IP on public pages (verification, check-in, check-out).
    pub public_rate_per_minute: u32,
    /// Wrong passwords per account within the window before sign-in is refused.
    pub login_account_limit: u32,
    /// Sign-in attempts per IP within the window; higher so one office's shared address is not locked out.
    pub login_ip_limit: u32,
    pub login_window_minutes: u32,
    /// Working days an initial inspection task may take.
    pub inspection_due_working_days: u32,
    /// Where checklist TOML files live.
    pub forms_dir: PathBuf,
    /// Connections in the pool; SQLite wants few writers.
    pub db_pool_size: u32,
    /// The town this installation serves; printed first in permit numbers.
    pub town_code: String,
    pub town_name: String,
    /// The phone number printed on certificates for questions (`ANJU_CONTACT_PHONE`, e.g. the
    /// village office's); empty prints none.
    #[serde(default)]
    pub contact_phone: String,
    /// Run background jobs in this instance (tests turn it off and run jobs by hand).
    pub scheduler: bool,
    /// Validity of a new permit when the official does not choose one (months).
    #[serde(default = "default_permit_valid_months")]
    pub permit_valid_months: u32,
    /// Hours a check-in may stay unconfirmed by the landlord before it lapses.
    #[serde(default = "default_pending_stay_hours")]
    pub pending_stay_hours: u32,
    /// Months after check-out before a stay's personal fields are wiped (counts are kept).
    #[serde(default = "default_retention_months")]
    pub retention_months: u32,
    /// New registrations on one permit within an hour before it stops taking more and alerts.
    #[serde(default = "default_stay_flood_per_hour")]
    pub stay_flood_per_hour: u32,
    /// Where every "now" and "today" comes from; tests set a chosen instant, never the environment.
    #[serde(skip)]
    pub clock: crate::domain::clock::Clock,
    /// Proxies whose `X-Forwarded-For`/`X-Real-IP` are believed: comma-separated addresses or CIDR
    /// ranges. Empty: the TCP peer is the client for every limit.
    #[serde(default)]
    pub trusted_proxies: String,
    /// Days a bearer token works after it was issued.
    #[serde(default = "default_token_ttl_days")]
    pub token_ttl_days: u32,
    /// SMS: `none` (in-app only), `log` (to the server log), `aliyun` or `tencent`.
    #[serde(default = "default_sms_provider")]
    pub sms_provider: String,
    /// Overrides the provider's base URL (tests point it at a local server).
    #[serde(default)]
    pub sms_endpoint: String,
    #[serde(default)]
    pub sms_access_key_id: String,
    #[serde(default)]
    pub sms_access_key_secret: String,
    /// The approved signature (短信签名) printed in front of every text.
    #[serde(default)]
    pub sms_sign_name: String,
    /// Tencent's SmsSdkAppId.
    #[serde(default)]
    pub sms_sdk_app_id: String,
    /// Texts of one template to one number per town day (the providers allow 50).
    #[serde(default = "default_sms_daily_cap")]
    pub sms_daily_cap: u32,
    /// No texts from this hour (town time) to `sms_quiet_end`, except one-time codes; equal hours mean none.
    #[serde(default = "default_sms_quiet_start")]
    pub sms_quiet_start: u32,
    #[serde(default = "default_sms_quiet_end")]
    pub sms_quiet_end: u32,
    /// Seconds between webhook and SMS retries, comma-separated; after the last the delivery fails.
    #[serde(default = "default_webhook_retry_seconds")]
    pub webhook_retry_seconds: String,
    /// Lets subscriptions point at loopback and private addresses (a town's grid platform usually does).
    #[serde(default)]
    pub webhook_allow_private: bool,
    /// Where photos live: empty means `data_dir/uploads`; `s3://bucket[/prefix]` means
    /// S3-compatible storage set up by the usual `AWS_*` variables (shared by every instance).
    #[serde(default)]
    pub storage_url: String,
    /// 32 bytes (base64 or hex) sealing the key ring in PostgreSQL, so every instance signs and
    /// decrypts with the same keys; without it (and on SQLite) keys stay in `data_dir/keys`.
    #[serde(default)]
    pub master_key: crate::crypto::master::MasterKeyText,
    /// A file holding the master key instead (raw 32 bytes, base64 or hex).
    #[serde(default)]
    pub master_key_file: String,
}

fn default_sms_provider() -> String {
    "none".into()
}

fn default_sms_daily_cap() -> u32 {
    50
}

fn default_sms_quiet_start() -> u32 {
    22
}

fn default_sms_quiet_end() -> u32 {
    7
}

fn default_webhook_retry_seconds() -> String {
    "5,30,120,600,1800,7200,21600,43200,86400".into()
}

fn default_token_ttl_days() -> u32 {
    30
}

fn default_stay_flood_per_hour() -> u32 {
    20
}

fn default_pending_stay_hours() -> u32 {
    72
}

fn default_retention_months() -> u32 {
    24
}

fn default_permit_valid_months() -> u32 {
    crate::domain::permit::DEFAULT_VALID_MONTHS
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: String::new(),
            data_dir: PathBuf::from("./data"),
            public_url: "http://127.0.0.1:8000".into(),
            public_rate_per_minute: 60,
            login_account_limit: 5,
            login_ip_limit: 50,
            login_window_minutes: 15,
            inspection_due_working_days: 3,
            forms_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/forms")),
            db_pool_size: 0,
            town_code: "HJ".into(),
            town_name: "花街镇".into(),
            contact_phone: String::new(),
            scheduler: true,
            permit_valid_months: default_permit_valid_months(),
            pending_stay_hours: default_pending_stay_hours(),
            retention_months: default_retention_months(),
            stay_flood_per_hour: default_stay_flood_per_hour(),
            clock: crate::domain::clock::Clock::system(),
            trusted_proxies: String::new(),
            token_ttl_days: default_token_ttl_days(),
            sms_provider: default_sms_provider(),
            sms_endpoint: String::new(),
            sms_access_key_id: String::new(),
            sms_access_key_secret: String::new(),
            sms_sign_name: String::new(),
            sms_sdk_app_id: String::new(),
            sms_daily_cap: default_sms_daily_cap(),
            sms_quiet_start: default_sms_quiet_start(),
            sms_quiet_end: default_sms_quiet_end(),
            webhook_retry_seconds: default_webhook_retry_seconds(),
            webhook_allow_private: false,
            storage_url: String::new(),
            master_key: Default::default(),
            master_key_file: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("配置错误 / configuration error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads the defaults, then the `anju` table of Rocket.toml for the active profile
    /// (e.g. `[default.anju] public_url = "…"`), then `ANJU_*` environment variables.
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(table) =
            rocket::Config::figment().extract_inner::<rocket::figment::value::Dict>("anju")
        {
            figment = figment.merge(Serialized::defaults(table));
        }
        let figment = figment.merge(Env::prefixed("ANJU_"));
        let cfg: Config = figment.extract().map_err(|e| ConfigError(format!("{e}")))?;
        cfg.validated()
    }

    pub fn validated(mut self) -> Result<Config, ConfigError> {
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "ANJU_PUBLIC_URL 必须以 http:// 或 https:// 开头 (must start with http:// or https://), got {:?}",
                self.public_url
            )));
        }
        while self.public_url.ends_with('/') {
            self.public_url.pop();
        }
        for (name, v) in [
            ("ANJU_PUBLIC_RATE_PER_MINUTE", self.public_rate_per_minute),
            ("ANJU_LOGIN_ACCOUNT_LIMIT", self.login_account_limit),
            ("ANJU_LOGIN_IP_LIMIT", self.login_ip_limit),
            ("ANJU_LOGIN_WINDOW_MINUTES", self.login_window_minutes),
            ("ANJU_PENDING_STAY_HOURS", self.pending_stay_hours),
            ("ANJU_RETENTION_MONTHS", self.retention_months),
            ("ANJU_STAY_FLOOD_PER_HOUR", self.stay_flood_per_hour),
            ("ANJU_TOKEN_TTL_DAYS", self.token_ttl_days),
        ] {
            if v == 0 {
                return Err(ConfigError(format!(
                    "{name} 必须大于 0 (must be greater than 0)"
                )));
            }
        }
        if self.database_url.is_empty() {
            self.database_url = format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("anju.db").display()
            );
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError(format!(
                "ANJU_DATABASE_URL 只支持 sqlite:// 或 postgres:// (only sqlite:// or postgres:// are supported), got {:?}",
                self.database_url
            )));
        }
        if !(1..=crate::domain::permit::MAX_VALID_MONTHS).contains(&self.permit_valid_months) {
            return Err(ConfigError(
                "ANJU_PERMIT_VALID_MONTHS 须在 1 至 60 之间 (must be 1 to 60)".into(),
            ));
        }
        self.contact_phone = self.contact_phone.trim().to_string();
        let phone_chars = |c: char| c.is_ascii_digit() || " -+()".contains(c);
        if self.contact_phone.chars().count() > 24 || !self.contact_phone.chars().all(phone_chars) {
            return Err(ConfigError(
                "ANJU_CONTACT_PHONE 只能包含数字、空格和 -+()，不超过 24 个字符 (digits, spaces and -+() only, at most 24)".into(),
            ));
        }
        self.town_code = crate::services::town::parse_code(&self.town_code)
            .map_err(|m| ConfigError(format!("ANJU_TOWN_CODE: {m}")))?;
        if crate::domain::stay::retention_cutoff(chrono::Utc::now(), self.retention_months)
            .is_none()
        {
            return Err(ConfigError(format!(
                "ANJU_RETENTION_MONTHS 须在 1 至 {} 之间 (must be 1 to {})",
                crate::domain::stay::MAX_RETENTION_MONTHS,
                crate::domain::stay::MAX_RETENTION_MONTHS
            )));
        }
        self.trusted_proxy_nets()?;
        self.retry_schedule()?;
        if !["none", "log", "aliyun", "tencent"].contains(&self.sms_provider.as_str()) {
            return Err(ConfigError(format!(
                "ANJU_SMS_PROVIDER 只能是 none、log、aliyun 或 tencent (must be none, log, aliyun or tencent), got {:?}",
                self.sms_provider
            )));
        }
        if !self.sms_endpoint.is_empty()
            && reqwest::Url::parse(&self.sms_endpoint)
                .map(|u| !matches!(u.scheme(), "http" | "https"))
                .unwrap_or(true)
        {
            return Err(ConfigError(format!(
                "ANJU_SMS_ENDPOINT 须为 http:// 或 https:// 地址 (must be an http(s) URL), got {:?}",
                self.sms_endpoint
            )));
        }
        if self.sms_quiet_start > 23 || self.sms_quiet_end > 23 {
            return Err(ConfigError(
                "ANJU_SMS_QUIET_START / ANJU_SMS_QUIET_END 须在 0 至 23 之间 (hours 0 to 23)"
                    .into(),
            ));
        }
        self.storage_url = self.storage_url.trim().to_string();
        if !self.storage_url.is_empty() {
            crate::storage::parse_s3_url(&self.storage_url)?;
        }
        crate::crypto::master::MasterKey::configured(&self.master_key.0, &self.master_key_file)
            .map_err(|e| ConfigError(e.to_string()))?;
        if self.db_pool_size == 0 {
            self.db_pool_size = if self.is_sqlite() { 4 } else { 16 };
        }
        Ok(self)
    }

    /// `ANJU_WEBHOOK_RETRY_SECONDS` parsed: the wait before each retry, in order.
    pub fn retry_schedule(&self) -> Result<Vec<u64>, ConfigError> {
        let steps: Result<Vec<u64>, _> = self
            .webhook_retry_seconds
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse::<u64>)
            .collect();
        match steps {
            Ok(s) if !s.is_empty() && s.iter().all(|&n| n > 0 && n <= 7 * 86_400) => Ok(s),
            _ => Err(ConfigError(format!(
                "ANJU_WEBHOOK_RETRY_SECONDS 须为逗号分隔的秒数，每项 1 至 604800 (comma-separated seconds), got {:?}",
                self.webhook_retry_seconds
            ))),
        }
    }

    /// `ANJU_TRUSTED_PROXIES` parsed: each entry a CIDR range or a single address.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError(format!(
                            "ANJU_TRUSTED_PROXIES 中的 {p:?} 不是 IP 地址或网段 (not an address or CIDR range)"
                        ))
                    })
            })
            .collect()
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_without_scheme_is_refused_with_a_clear_message() {
        let cfg = Config {
            public_url: "example.org".into(),
            ..Config::default()
        };
        let err = cfg.validated().unwrap_err().to_string();
        assert!(err.contains("ANJU_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn an_empty_database_url_means_sqlite_in_the_data_dir() {
        let cfg = Config::default().validated().unwrap();
        assert!(cfg.database_url.starts_with("sqlite://./data/anju.db"));
        assert!(cfg.is_sqlite());
    }

    #[test]
    fn a_contact_phone_with_letters_stops_the_start() {
        let bad = Config {
            contact_phone: "call me".into(),
            ..Config::default()
        };
        assert!(bad.validated().is_err());
        let good = Config {
            contact_phone: " 0571-8600 1234 ".into(),
            ..Config::default()
        };
        assert_eq!(good.validated().unwrap().contact_phone, "0571-8600 1234");
    }

    #[test]
    fn a_lower_case_town_code_is_stored_upper_case() {
        let cfg = Config {
            town_code: " hj".into(),
            ..Config::default()
        };
        assert_eq!(cfg.validated().unwrap().town_code, "HJ");
    }

    #[test]
    fn retention_months_that_overflow_the_calendar_are_refused_by_name() {
        for months in [
            u32::MAX,
            5_000_000,
            crate::domain::stay::MAX_RETENTION_MONTHS + 1,
        ] {
            let cfg = Config {
                retention_months: months,
                ..Config::default()
            };
            let err = cfg.validated().unwrap_err().to_string();
            assert!(err.contains("ANJU_RETENTION_MONTHS"), "{err}");
        }
        let cfg = Config {
            retention_months: crate::domain::stay::MAX_RETENTION_MONTHS,
            ..Config::default()
        };
        assert!(cfg.validated().is_ok());
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges_and_name_the_variable_when_wrong() {
        let cfg = Config {
            trusted_proxies: " 10.0.0.0/8, 192.168.1.7 ,::1".into(),
            ..Config::default()
        };
        assert_eq!(cfg.trusted_proxy_nets().unwrap().len(), 3);
        let bad = Config {
            trusted_proxies: "10.0.0.0/8,proxy.local".into(),
            ..Config::default()
        };
        let err = bad.validated().unwrap_err().to_string();
        assert!(
            err.contains("ANJU_TRUSTED_PROXIES") && err.contains("proxy.local"),
            "{err}"
        );
    }

    #[test]
    fn a_zero_rate_is_refused() {
        let cfg = Config {
            public_rate_per_minute: 0,
            ..Config::default()
        };
        assert!(cfg.validated().is_err());
    }
}
