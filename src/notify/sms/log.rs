//! The development provider: every text goes to the server log instead of a phone. One-time
//! codes appear there by design, so it is for development and demos only.
use super::{SmsMessage, SmsOutcome, SmsProvider};

pub struct LogProvider;

#[rocket::async_trait]
impl SmsProvider for LogProvider {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, msg: &SmsMessage) -> SmsOutcome {
        let params = msg
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::info!(
            target: "anju::sms",
            phone = %msg.phone.masked(),
            template = %msg.template,
            params = %params,
            out_id = %msg.out_id,
            "短信（log 提供方，未真正发出）"
        );
        SmsOutcome::Sent { provider_id: None }
    }
}
