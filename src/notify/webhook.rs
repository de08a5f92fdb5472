//! Webhooks (Standard Webhooks 1.0): the secret, the `v1` signature, and the HTTP client that
//! refuses to connect where a subscription may not point.
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use rand::RngCore;

use crate::domain::event::{AddressRefusal, webhook_address_allowed};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A new `whsec_` secret: base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

/// `v1,{base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"}` keyed with the decoded secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = HmacSha256::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Why a subscription URL is refused, in the admin's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("地址须以 http:// 或 https:// 开头")]
    Scheme,
    #[error("地址格式不正确")]
    Malformed,
    #[error("无法解析该地址的域名")]
    Unresolvable,
    #[error("不允许指向云服务元数据或链路本地地址")]
    Metadata,
    #[error(
        "不允许指向本机或内网地址（如需推送到镇内网的平台，请设置 ANJU_WEBHOOK_ALLOW_PRIVATE=true）"
    )]
    Private,
}

impl From<AddressRefusal> for UrlError {
    fn from(r: AddressRefusal) -> UrlError {
        match r {
            AddressRefusal::Metadata => UrlError::Metadata,
            AddressRefusal::Private => UrlError::Private,
        }
    }
}

/// Checks a subscription URL: its form, then every address its host resolves to.
pub async fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, UrlError> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| UrlError::Malformed)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlError::Malformed);
    }
    let host = parsed.host_str().ok_or(UrlError::Malformed)?;
    let port = parsed.port_or_known_default().ok_or(UrlError::Malformed)?;
    let addrs: Vec<SocketAddr> = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // A name that does not resolve within a few seconds is as good as unresolvable.
        Err(_) => tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::lookup_host((host, port)),
        )
        .await
        .map_err(|_| UrlError::Unresolvable)?
        .map_err(|_| UrlError::Unresolvable)?
        .collect(),
    };
    if addrs.is_empty() {
        return Err(UrlError::Unresolvable);
    }
    for a in addrs {
        webhook_address_allowed(a.ip(), allow_private)?;
    }
    Ok(parsed)
}

/// Resolves names for deliveries and drops addresses a subscription may not reach, so a name
/// that resolved to a public address when subscribed cannot later point inside (DNS rebinding).
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| webhook_address_allowed(a.ip(), allow_private).is_ok())
                .collect();
            if found.is_empty() {
                return Err("address not allowed for webhooks".into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The client deliveries go through: 15 s timeout, no redirects, guarded name resolution.
pub fn client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("Anju/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .pool_max_idle_per_host(64)
        .build()
}

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// POSTs one signed event. The URL's literal address is checked again here, since the resolver
/// only sees names.
pub async fn deliver(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    event_id: &str,
    body: &[u8],
    now_unix: i64,
    allow_private: bool,
) -> Attempt {
    let failed = |error: String| Attempt {
        status_code: None,
        error: Some(error),
        retry_after: None,
    };
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return failed("地址格式不正确".into());
    };
    if let Some(ip) = parsed.host_str().and_then(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
    }) && let Err(r) = webhook_address_allowed(ip, allow_private)
    {
        return failed(UrlError::from(r).to_string());
    }
    let Some(signature) = sign(secret, event_id, now_unix, body) else {
        return failed("签名密钥无效".into());
    };
    let res = http
        .post(parsed)
        .header("content-type", "application/json")
        .header("webhook-id", event_id)
        .header("webhook-timestamp", now_unix.to_string())
        .header("webhook-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    match res {
        Ok(r) => {
            let code = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, now_unix));
            Attempt {
                status_code: Some(code),
                error: (!(200..300).contains(&code)).then(|| format!("HTTP {code}")),
                retry_after,
            }
        }
        Err(e) if e.is_timeout() => failed("15 秒内无应答".into()),
        Err(e) => failed(format!("连接失败: {}", short(&e))),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(v: &str, now_unix: i64) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    Some(Duration::from_secs(u64::try_from(at - now_unix).ok()?))
}

fn short(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(src) = std::error::Error::source(e) {
        s = format!("{s}: {src}");
    }
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signature_is_reproduced() {
        // The example of the Standard Webhooks specification (standard-webhooks/spec, "Signature scheme").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(" 120 ", 0), Some(Duration::from_secs(120)));
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn a_new_secret_is_whsec_and_32_bytes() {
        let s = new_secret();
        let raw = B64.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
    }
}
