//! Tencent Cloud SMS `SendSms` (2021-01-11), signed with TC3-HMAC-SHA256 ("签名方法 v3":
//! https://cloud.tencent.com/document/api/382/52072).
use super::{
    Answer, SmsMessage, SmsOutcome, SmsProvider, exchange, hmac_sha256, host_header, sha256_hex,
};

pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
const SERVICE: &str = "sms";
const ACTION: &str = "SendSms";
const VERSION: &str = "2021-01-11";
const REGION: &str = "ap-guangzhou";
const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// Sent and signed byte for byte; the signature covers it, so the client must not add a charset.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The SendSms client; `base` is the scheme and host (`ANJU_SMS_ENDPOINT` in tests).
pub struct Tencent {
    pub http: reqwest::Client,
    pub base: reqwest::Url,
    pub secret_id: String,
    pub secret_key: String,
    pub sign_name: String,
    pub sdk_app_id: String,
}

/// The canonical request of a POST with a JSON body, signing `content-type` and `host` (the two
/// headers TC3 requires).
pub fn canonical_request(content_type: &str, host: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase(),
        sha256_hex(payload)
    )
}

/// The UTC date of a Unix timestamp, as the credential scope wants it (`2019-02-25`).
pub fn utc_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

pub fn string_to_sign(timestamp: i64, service: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}/{service}/tc3_request\n{}",
        utc_date(timestamp),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Hex signature with the derived key: HMAC chain over "TC3"+key, date, service, "tc3_request".
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

pub fn authorization(secret_id: &str, date: &str, service: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, \
         SignedHeaders=content-type;host, Signature={signature}"
    )
}

/// The JSON body: `+86` numbers, parameters by position.
pub fn body(msg: &SmsMessage, sdk_app_id: &str, sign_name: &str) -> Vec<u8> {
    serde_json::json!({
        "PhoneNumberSet": [format!("+86{}", msg.phone.as_str())],
        "SmsSdkAppId": sdk_app_id,
        "SignName": sign_name,
        "TemplateId": msg.template,
        "TemplateParamSet": msg.params.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        "SessionContext": msg.out_id,
    })
    .to_string()
    .into_bytes()
}

/// Codes worth another try later: rate and daily limits, Tencent's own trouble, an empty
/// package (an operator can top it up before the retries run out).
fn is_temporary(code: &str) -> bool {
    code.starts_with("LimitExceeded")
        || code.starts_with("InternalError")
        || code.starts_with("RequestLimitExceeded")
        || matches!(
            code,
            "ResourceUnavailable"
                | "ServiceUnavailable"
                | "FailedOperation.InsufficientBalanceInSmsPackage"
        )
}

fn outcome_for(code: &str, message: &str, retry_after: Option<std::time::Duration>) -> SmsOutcome {
    let reason = format!(
        "腾讯云 {code}: {}",
        message.chars().take(160).collect::<String>()
    );
    if is_temporary(code) {
        SmsOutcome::Retry {
            reason,
            retry_after,
        }
    } else {
        SmsOutcome::Refused { reason }
    }
}

/// What an answer means: `Response.Error` for the request as a whole, else the one number's
/// `SendStatusSet` entry.
pub(crate) fn classify(answer: &Answer) -> SmsOutcome {
    let retry = |reason: String| SmsOutcome::Retry {
        reason,
        retry_after: answer.retry_after,
    };
    let json = match &answer.json {
        Ok(j) => j,
        Err(why) => return retry(why.clone()),
    };
    if answer.status >= 500 || answer.status == 429 {
        return retry(format!("腾讯云 HTTP {}", answer.status));
    }
    let Some(resp) = json.get("Response") else {
        return retry(format!("腾讯云应答缺少 Response (HTTP {})", answer.status));
    };
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string()
    };
    if let Some(err) = resp.get("Error") {
        return outcome_for(
            &text(err, "Code"),
            &text(err, "Message"),
            answer.retry_after,
        );
    }
    let Some(status) = resp.get("SendStatusSet").and_then(|s| s.get(0)) else {
        return retry(format!(
            "腾讯云应答缺少 SendStatusSet (HTTP {})",
            answer.status
        ));
    };
    match text(status, "Code").as_str() {
        "Ok" => {
            let serial = text(status, "SerialNo");
            SmsOutcome::Sent {
                provider_id: (!serial.is_empty()).then_some(serial),
            }
        }
        "" => retry("腾讯云应答缺少发送状态".into()),
        code => outcome_for(code, &text(status, "Message"), answer.retry_after),
    }
}

impl Tencent {
    /// The request for one text, signed at `timestamp`; split out so a test can build it with a
    /// fixed time.
    pub fn request(&self, msg: &SmsMessage, timestamp: i64) -> reqwest::RequestBuilder {
        let payload = body(msg, &self.sdk_app_id, &self.sign_name);
        let canonical = canonical_request(CONTENT_TYPE, &host_header(&self.base), &payload);
        let date = utc_date(timestamp);
        let sig = signature(
            &self.secret_key,
            &date,
            SERVICE,
            &string_to_sign(timestamp, SERVICE, &canonical),
        );
        let mut url = self.base.clone();
        url.set_path("/");
        url.set_query(None);
        self.http
            .post(url)
            .header(
                "authorization",
                authorization(&self.secret_id, &date, SERVICE, &sig),
            )
            .header("content-type", CONTENT_TYPE)
            .header("x-tc-action", ACTION)
            .header("x-tc-version", VERSION)
            .header("x-tc-timestamp", timestamp.to_string())
            .header("x-tc-region", REGION)
            .body(payload)
    }
}

#[rocket::async_trait]
impl SmsProvider for Tencent {
    fn name(&self) -> &'static str {
        "tencent"
    }

    async fn send(&self, msg: &SmsMessage) -> SmsOutcome {
        // Wall-clock time on purpose: Tencent refuses timestamps five minutes off its own clock,
        // whatever the app's injected clock says.
        match exchange(self.request(msg, chrono::Utc::now().timestamp())).await {
            Ok(answer) => classify(&answer),
            Err(outcome) => outcome,
        }
    }
}

#[cfg(test)]
mod tests;
