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

/// The provider `ANJU_SMS_PROVIDER` names; None for `none`.
pub fn provider(cfg: &crate::Config, http: reqwest::Client) -> Option<std::sync::Arc<dyn SmsProvider>> {
    // The Aliyun, Tencent and log providers are being written in their own modules; until they land, no texts.
    let _ = (cfg, http);
    None
}
