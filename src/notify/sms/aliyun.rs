//! Aliyun Dysmsapi `SendSms` (2017-05-25, RPC style), signed with ACS3-HMAC-SHA256 (the "V3"
//! signature: https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature).
use std::collections::BTreeMap;

use rand::RngCore;

use super::{
    Answer, SmsMessage, SmsOutcome, SmsProvider, exchange, hmac_sha256, host_header, sha256_hex,
};

pub const DEFAULT_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com";
const ACTION: &str = "SendSms";
const VERSION: &str = "2017-05-25";
const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The Dysmsapi client; `base` is the scheme and host (`ANJU_SMS_ENDPOINT` in tests).
pub struct Aliyun {
    pub http: reqwest::Client,
    pub base: reqwest::Url,
    pub key_id: String,
    pub key_secret: String,
    pub sign_name: String,
}

/// RFC 3986 encoding as the V3 signature wants it: only `A-Z a-z 0-9 - _ . ~` stay as they are,
/// so a space is `%20` and `*` is `%2A`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parameters sorted by name, names and values encoded, joined with `&`.
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let sorted: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request and its `SignedHeaders` list. `headers` are the lower-case names of the
/// headers that take part (host, content-type, every `x-acs-*`) with their values.
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &BTreeMap<String, String>,
    hashed_payload: &str,
) -> (String, String) {
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed = headers.keys().cloned().collect::<Vec<_>>().join(";");
    (
        format!("{method}\n{uri}\n{query}\n{canonical_headers}\n{signed}\n{hashed_payload}"),
        signed,
    )
}

pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Hex HMAC-SHA256 of the string to sign, keyed with the AccessKey secret itself.
pub fn signature(key_secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(
        key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

pub fn authorization(key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!("{ALGORITHM} Credential={key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// `TemplateParam`: the parameters as a JSON object by name.
pub fn template_param(params: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Codes that say "not now" rather than "never": flow control, daily limits, the platform's own
/// trouble, an account out of credit (an operator can top it up before the retries run out).
fn is_temporary(code: &str) -> bool {
    code.starts_with("Throttling")
        || code.starts_with("isp.")
        || matches!(
            code,
            "isv.BUSINESS_LIMIT_CONTROL"
                | "isv.DAY_LIMIT_CONTROL"
                | "isv.AMOUNT_NOT_ENOUGH"
                | "isv.OUT_OF_SERVICE"
                | "ServiceUnavailable"
                | "InternalError"
                | "UnknownError"
        )
}

/// What an answer means. The gateway answers signature and key errors with a 4xx and the same
/// `Code`/`Message` body the API uses, so the code decides first and the status second.
pub(crate) fn classify(answer: &Answer) -> SmsOutcome {
    let retry = |reason: String| SmsOutcome::Retry {
        reason,
        retry_after: answer.retry_after,
    };
    let json = match &answer.json {
        Ok(j) => j,
        Err(why) => return retry(why.clone()),
    };
    let code = json
        .get("Code")
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let message = json
        .get("Message")
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let reason = || {
        format!(
            "阿里云 {code}: {}",
            message.chars().take(160).collect::<String>()
        )
    };
    if code.is_empty() {
        return retry(format!("阿里云应答缺少 Code (HTTP {})", answer.status));
    }
    if code == "OK" && (200..300).contains(&answer.status) {
        let id = json
            .get("BizId")
            .and_then(|b| b.as_str())
            .map(str::to_string);
        return SmsOutcome::Sent { provider_id: id };
    }
    if is_temporary(code) || answer.status >= 500 || answer.status == 429 {
        return retry(reason());
    }
    SmsOutcome::Refused { reason: reason() }
}

impl Aliyun {
    /// The request for one text, signed at `date` with `nonce`; split out so a test can build it
    /// with fixed values.
    pub fn request(&self, msg: &SmsMessage, date: &str, nonce: &str) -> reqwest::RequestBuilder {
        let template_param = template_param(&msg.params);
        let mut params = vec![
            ("PhoneNumbers", msg.phone.as_str()),
            ("SignName", self.sign_name.as_str()),
            ("TemplateCode", msg.template.as_str()),
            ("OutId", msg.out_id.as_str()),
        ];
        if !msg.params.is_empty() {
            params.push(("TemplateParam", template_param.as_str()));
        }
        let query = canonical_query(&params);
        let hashed_payload = sha256_hex(b"");
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), host_header(&self.base));
        headers.insert("x-acs-action".to_string(), ACTION.to_string());
        headers.insert("x-acs-content-sha256".to_string(), hashed_payload.clone());
        headers.insert("x-acs-date".to_string(), date.to_string());
        headers.insert("x-acs-signature-nonce".to_string(), nonce.to_string());
        headers.insert("x-acs-version".to_string(), VERSION.to_string());
        let (canonical, signed) = canonical_request("POST", "/", &query, &headers, &hashed_payload);
        let sig = signature(&self.key_secret, &string_to_sign(&canonical));
        let mut url = self.base.clone();
        url.set_path("/");
        url.set_query(Some(&query));
        let mut req = self
            .http
            .post(url)
            .header("authorization", authorization(&self.key_id, &signed, &sig))
            .header("accept", "application/json");
        // `host` goes out from the URL; the rest are sent exactly as signed.
        for (k, v) in headers.iter().filter(|(k, _)| k.as_str() != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        req
    }
}

#[rocket::async_trait]
impl SmsProvider for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    async fn send(&self, msg: &SmsMessage) -> SmsOutcome {
        // The signature date is wall-clock UTC on purpose: the gateway refuses dates more than
        // 15 minutes off its own clock, whatever the app's injected clock says.
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        match exchange(self.request(msg, &date, &hex::encode(nonce))).await {
            Ok(answer) => classify(&answer),
            Err(outcome) => outcome,
        }
    }
}

#[cfg(test)]
mod tests;
