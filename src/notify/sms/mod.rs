//! Text messages: one trait, one implementation per provider (Aliyun, Tencent, the server log),
//! chosen by `ANJU_SMS_PROVIDER`.
use std::time::Duration;

/// One text to one mainland number.
#[derive(Clone, Debug)]
pub struct SmsMessage {
    /// Eleven digits, no country code (providers that want `+86` add it); `Debug` masks it.
    pub phone: crate::domain::identity::Phone,
    /// The provider's template code (Aliyun `SMS_…`) or id (Tencent digits).
    pub template: String,
    /// Template parameters in the template's order: Aliyun takes them as a JSON object by name,
    /// Tencent as an array by position.
    pub params: Vec<(String, String)>,
    /// The outbox delivery id, sent as `OutId` / `SessionContext` so a receipt can be matched.
    pub out_id: String,
}

/// What a send attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SmsOutcome {
    /// The provider accepted the text; its own id when it gave one.
    Sent { provider_id: Option<String> },
    /// Worth trying again later (network, throttling, provider trouble).
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as it is (bad number, unknown template, wrong key): recorded, not retried.
    Refused { reason: String },
}

/// A provider of text messages.
#[rocket::async_trait]
pub trait SmsProvider: Send + Sync {
    fn name(&self) -> &'static str;
    async fn send(&self, msg: &SmsMessage) -> SmsOutcome;
}

/// The provider `ANJU_SMS_PROVIDER` names; None for `none`, and None (with an error in the log)
/// when `ANJU_SMS_ENDPOINT` is not a URL, so a typo never panics the dispatcher.
pub fn provider(
    cfg: &crate::Config,
    http: reqwest::Client,
) -> Option<std::sync::Arc<dyn SmsProvider>> {
    let base = |default: &str| -> Option<reqwest::Url> {
        let raw = cfg.sms_endpoint.trim();
        let raw = if raw.is_empty() { default } else { raw };
        match reqwest::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
            _ => {
                tracing::error!(
                    endpoint = raw,
                    "ANJU_SMS_ENDPOINT 不是 http(s) 地址，短信不会发出"
                );
                None
            }
        }
    };
    match cfg.sms_provider.as_str() {
        "log" => Some(std::sync::Arc::new(log::LogProvider)),
        "aliyun" => Some(std::sync::Arc::new(aliyun::Aliyun {
            http,
            base: base(aliyun::DEFAULT_ENDPOINT)?,
            key_id: cfg.sms_access_key_id.clone(),
            key_secret: cfg.sms_access_key_secret.clone(),
            sign_name: cfg.sms_sign_name.clone(),
        })),
        "tencent" => Some(std::sync::Arc::new(tencent::Tencent {
            http,
            base: base(tencent::DEFAULT_ENDPOINT)?,
            secret_id: cfg.sms_access_key_id.clone(),
            secret_key: cfg.sms_access_key_secret.clone(),
            sign_name: cfg.sms_sign_name.clone(),
            sdk_app_id: cfg.sms_sdk_app_id.clone(),
        })),
        _ => None,
    }
}

/// Lower-case hex SHA-256, the payload and canonical-request hash both signatures use.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// HMAC-SHA256; any key length is valid for HMAC, so this cannot fail.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `host` or `host:port` as the HTTP client will send it in the `Host` header, which both
/// signatures cover; with an endpoint override this is the test server's address.
pub(crate) fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// What came back over HTTP, before the provider reads its meaning.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The body as JSON, or why it is not.
    pub json: Result<serde_json::Value, String>,
}

/// Sends one request; network trouble and timeouts become `Retry` right here.
pub(crate) async fn exchange(req: reqwest::RequestBuilder) -> Result<Answer, SmsOutcome> {
    let retry = |reason: String| SmsOutcome::Retry {
        reason,
        retry_after: None,
    };
    let res = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(retry("短信平台 15 秒内无应答".into())),
        Err(e) => return Err(retry(format!("连接短信平台失败: {}", brief_error(&e)))),
    };
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = match res.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => return Err(retry("短信平台 15 秒内未答完".into())),
        Err(e) => return Err(retry(format!("读取短信平台应答失败: {}", brief_error(&e)))),
    };
    let json = serde_json::from_slice::<serde_json::Value>(&body).map_err(|_| {
        let head: String = String::from_utf8_lossy(&body).chars().take(80).collect();
        if head.trim().is_empty() {
            format!("短信平台应答为空 (HTTP {status})")
        } else {
            format!("短信平台应答不是 JSON (HTTP {status}): {}", head.trim())
        }
    });
    Ok(Answer {
        status,
        retry_after,
        json,
    })
}

fn brief_error(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(src) = std::error::Error::source(e) {
        s = format!("{s}: {src}");
    }
    s.chars().take(200).collect()
}

pub mod aliyun;
pub mod log;
pub mod tencent;
