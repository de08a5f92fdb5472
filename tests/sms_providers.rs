//! The SMS providers against a local HTTP server standing in for Aliyun and Tencent: each sends
//! the documented request, signed so that a verifier written here from the providers' docs agrees,
//! and each kind of answer becomes Sent, Retry or Refused. No database is involved.
#[path = "support/http_peer.rs"]
mod http_peer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anju::domain::identity::Phone;
use anju::notify::sms::{SmsMessage, SmsOutcome, SmsProvider, provider};
use hmac::{KeyInit, Mac};
use http_peer::{HttpPeer, Received, Reply};
use sha2::{Digest, Sha256};

fn config(which: &str, endpoint: &str) -> anju::Config {
    anju::Config {
        sms_provider: which.into(),
        sms_endpoint: endpoint.into(),
        sms_access_key_id: "LTAI5tTestKeyId".into(),
        sms_access_key_secret: "test-key-secret".into(),
        sms_sign_name: "安居花街".into(),
        sms_sdk_app_id: "1400006666".into(),
        ..anju::Config::default()
    }
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("client")
}

fn sms(which: &str, endpoint: &str) -> Arc<dyn SmsProvider> {
    provider(&config(which, endpoint), client(Duration::from_secs(15))).expect("a provider")
}

fn message() -> SmsMessage {
    SmsMessage {
        phone: Phone::parse("13812345678").expect("phone"),
        template: "SMS_154950909".into(),
        params: vec![
            ("code".into(), "482913".into()),
            ("minutes".into(), "10".into()),
        ],
        out_id: "delivery-7f3a".into(),
    }
}

fn hex_sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("hmac key");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

fn header(r: &Received, name: &str) -> String {
    r.header(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_string()
}

/// Aliyun's V3 verification as its documentation describes it, written from the doc and not from
/// the code under test: canonical request from what arrived, then HMAC with the secret.
fn aliyun_expected_authorization(r: &Received, secret: &str) -> String {
    let (_, query) = r.path.split_once('?').expect("a query string");
    let mut signed: Vec<&str> = vec!["host"];
    let mut acs: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-acs-"))
        .cloned()
        .collect();
    acs.sort();
    let mut canonical_headers = format!("host:{}\n", header(r, "host"));
    for (k, v) in &acs {
        canonical_headers.push_str(&format!("{k}:{}\n", v.trim()));
        signed.push(k);
    }
    let signed = signed.join(";");
    let canonical = format!(
        "POST\n/\n{query}\n{canonical_headers}\n{signed}\n{}",
        hex_sha256(&r.body)
    );
    let sts = format!("ACS3-HMAC-SHA256\n{}", hex_sha256(canonical.as_bytes()));
    let sig = hex::encode(hmac(secret.as_bytes(), sts.as_bytes()));
    format!("ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,SignedHeaders={signed},Signature={sig}")
}

/// Tencent's TC3 verification as its documentation describes it.
fn tencent_expected_authorization(r: &Received, secret: &str) -> String {
    let ts: i64 = header(r, "x-tc-timestamp")
        .parse()
        .expect("numeric timestamp");
    let date = chrono::DateTime::from_timestamp(ts, 0)
        .expect("date")
        .format("%Y-%m-%d")
        .to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        header(r, "content-type"),
        header(r, "host"),
        hex_sha256(&r.body)
    );
    let sts = format!(
        "TC3-HMAC-SHA256\n{ts}\n{date}/sms/tc3_request\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let k = hmac(format!("TC3{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, b"sms");
    let k = hmac(&k, b"tc3_request");
    let sig = hex::encode(hmac(&k, sts.as_bytes()));
    format!(
        "TC3-HMAC-SHA256 Credential=LTAI5tTestKeyId/{date}/sms/tc3_request, SignedHeaders=content-type;host, Signature={sig}"
    )
}

#[tokio::test]
async fn aliyun_posts_send_sms_with_its_parameters_in_the_signed_query() {
    let peer = HttpPeer::start().await;
    peer.answer(|_| {
        Reply::json(200, serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "900619746936^0", "RequestId": "F6"}))
    });
    let outcome = sms("aliyun", &peer.url).send(&message()).await;
    assert_eq!(
        outcome,
        SmsOutcome::Sent {
            provider_id: Some("900619746936^0".into())
        }
    );

    let got = peer.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert!(r.path.starts_with("/?"), "{}", r.path);
    assert!(r.body.is_empty());
    let url = reqwest::Url::parse(&format!("http://peer{}", r.path)).expect("path");
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "OutId",
            "PhoneNumbers",
            "SignName",
            "TemplateCode",
            "TemplateParam"
        ],
        "sorted"
    );
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("PhoneNumbers"), "13812345678");
    assert_eq!(get("SignName"), "安居花街");
    assert_eq!(get("TemplateCode"), "SMS_154950909");
    assert_eq!(get("OutId"), "delivery-7f3a");
    let tp: serde_json::Value =
        serde_json::from_str(&get("TemplateParam")).expect("TemplateParam is JSON");
    assert_eq!(tp, serde_json::json!({"code": "482913", "minutes": "10"}));
    assert!(
        !r.path.contains('+') && !r.path.contains(' '),
        "RFC 3986 encoding: {}",
        r.path
    );

    assert_eq!(header(r, "x-acs-action"), "SendSms");
    assert_eq!(header(r, "x-acs-version"), "2017-05-25");
    assert_eq!(header(r, "x-acs-content-sha256"), hex_sha256(b""));
    let date = header(r, "x-acs-date");
    let sent_at =
        chrono::NaiveDateTime::parse_from_str(&date, "%Y-%m-%dT%H:%M:%SZ").expect("ISO 8601 UTC");
    assert!(
        (chrono::Utc::now().naive_utc() - sent_at)
            .num_seconds()
            .abs()
            < 60
    );
    assert_eq!(header(r, "x-acs-signature-nonce").len(), 32);
    assert_eq!(
        header(r, "authorization"),
        aliyun_expected_authorization(r, "test-key-secret")
    );
}

#[tokio::test]
async fn aliyun_uses_a_fresh_nonce_and_a_signature_that_a_wrong_secret_does_not_reproduce() {
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::json(200, serde_json::json!({"Code": "OK", "BizId": "1"})));
    let p = sms("aliyun", &peer.url);
    p.send(&message()).await;
    p.send(&message()).await;
    let got = peer.received();
    assert_eq!(got.len(), 2);
    assert_ne!(
        header(&got[0], "x-acs-signature-nonce"),
        header(&got[1], "x-acs-signature-nonce")
    );
    assert_ne!(
        header(&got[0], "authorization"),
        aliyun_expected_authorization(&got[0], "another-secret")
    );
    assert_eq!(
        header(&got[1], "authorization"),
        aliyun_expected_authorization(&got[1], "test-key-secret")
    );
}

async fn aliyun_outcome(
    status: u16,
    body: &str,
    extra: Option<(&'static str, &'static str)>,
) -> SmsOutcome {
    let peer = HttpPeer::start().await;
    let body = body.to_string();
    peer.answer(move |_| {
        let mut reply = Reply {
            status,
            headers: vec![],
            body: body.clone(),
        };
        if let Some((k, v)) = extra {
            reply = reply.with_header(k, v);
        }
        reply
    });
    sms("aliyun", &peer.url).send(&message()).await
}

#[tokio::test]
async fn aliyun_refuses_for_good_what_a_bad_number_template_signature_or_key_causes() {
    for (status, code) in [
        (200, "isv.MOBILE_NUMBER_ILLEGAL"),
        (200, "isv.SMS_TEMPLATE_ILLEGAL"),
        (200, "isv.SMS_SIGNATURE_ILLEGAL"),
        (404, "InvalidAccessKeyId.NotFound"),
        (400, "SignatureDoesNotMatch"),
    ] {
        let body = format!(r#"{{"Code":"{code}","Message":"refused"}}"#);
        match aliyun_outcome(status, &body, None).await {
            SmsOutcome::Refused { reason } => assert!(reason.contains(code), "{reason}"),
            other => panic!("{code} should be refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn aliyun_retries_flow_control_server_errors_and_answers_it_cannot_read() {
    for (status, body) in [
        (
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发小时级流控"}"#,
        ),
        (
            400,
            r#"{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#,
        ),
        (500, r#"{"Code":"InternalError","Message":"x"}"#),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        (200, ""),
        (200, "{not json"),
        (200, r#"{"Message":"no code"}"#),
    ] {
        let outcome = aliyun_outcome(status, body, None).await;
        assert!(
            matches!(outcome, SmsOutcome::Retry { .. }),
            "{status} {body}: {outcome:?}"
        );
    }
    let throttled = aliyun_outcome(
        429,
        r#"{"Code":"Throttling","Message":"x"}"#,
        Some(("retry-after", "30")),
    )
    .await;
    assert!(
        matches!(throttled, SmsOutcome::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{throttled:?}"
    );
}

#[tokio::test]
async fn tencent_posts_signed_json_with_the_number_in_e164_and_parameters_in_order() {
    let peer = HttpPeer::start().await;
    peer.answer(|r| {
        let ctx = r.json()["SessionContext"].clone();
        Reply::json(
            200,
            serde_json::json!({"Response": {"SendStatusSet": [{"SerialNo": "5000:104571066915705365784949", "PhoneNumber": "+8613812345678",
                "Fee": 1, "SessionContext": ctx, "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": "a0aabda6"}}),
        )
    });
    let outcome = sms("tencent", &peer.url).send(&message()).await;
    assert_eq!(
        outcome,
        SmsOutcome::Sent {
            provider_id: Some("5000:104571066915705365784949".into())
        }
    );

    let got = peer.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(header(r, "content-type"), "application/json; charset=utf-8");
    assert_eq!(header(r, "x-tc-action"), "SendSms");
    assert_eq!(header(r, "x-tc-version"), "2021-01-11");
    assert_eq!(header(r, "x-tc-region"), "ap-guangzhou");
    let ts: i64 = header(r, "x-tc-timestamp").parse().expect("timestamp");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert_eq!(
        r.json(),
        serde_json::json!({
            "PhoneNumberSet": ["+8613812345678"],
            "SmsSdkAppId": "1400006666",
            "SignName": "安居花街",
            "TemplateId": "SMS_154950909",
            "TemplateParamSet": ["482913", "10"],
            "SessionContext": "delivery-7f3a",
        })
    );
    assert_eq!(
        header(r, "authorization"),
        tencent_expected_authorization(r, "test-key-secret")
    );
    assert_ne!(
        header(r, "authorization"),
        tencent_expected_authorization(r, "another-secret")
    );
}

async fn tencent_outcome(status: u16, body: String) -> SmsOutcome {
    let peer = HttpPeer::start().await;
    peer.answer(move |_| Reply {
        status,
        headers: vec![],
        body: body.clone(),
    });
    sms("tencent", &peer.url).send(&message()).await
}

fn status_set(code: &str) -> String {
    serde_json::json!({"Response": {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": "+8613812345678", "Code": code, "Message": "m"}], "RequestId": "r"}})
        .to_string()
}

fn error(code: &str) -> String {
    serde_json::json!({"Response": {"Error": {"Code": code, "Message": "m"}, "RequestId": "r"}})
        .to_string()
}

#[tokio::test]
async fn tencent_refuses_bad_numbers_blacklisted_numbers_template_sign_and_auth_errors() {
    for body in [
        status_set("InvalidParameterValue.IncorrectPhoneNumber"),
        status_set("FailedOperation.PhoneNumberInBlacklist"),
        error("FailedOperation.TemplateIncorrectOrUnapproved"),
        error("FailedOperation.SignatureIncorrectOrUnapproved"),
        error("AuthFailure.SignatureFailure"),
        error("AuthFailure.SecretIdNotFound"),
    ] {
        let outcome = tencent_outcome(200, body.clone()).await;
        assert!(
            matches!(outcome, SmsOutcome::Refused { .. }),
            "{body}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn tencent_retries_limits_internal_errors_5xx_and_unreadable_answers() {
    for (status, body) in [
        (200, status_set("LimitExceeded.PhoneNumberDailyLimit")),
        (200, error("LimitExceeded.PhoneNumberThirtySecondLimit")),
        (200, error("InternalError.Timeout")),
        (502, "<html>bad gateway</html>".to_string()),
        (503, String::new()),
        (200, String::new()),
        (200, r#"{"Response":{"RequestId":"r"}}"#.to_string()),
    ] {
        let outcome = tencent_outcome(status, body.clone()).await;
        assert!(
            matches!(outcome, SmsOutcome::Retry { .. }),
            "{status} {body}: {outcome:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_in_time_or_cannot_be_reached_is_retried() {
    let slow = HttpPeer::start().await;
    slow.answer(|_| {
        std::thread::sleep(Duration::from_millis(1500));
        Reply::status(200)
    });
    let cfg = config("aliyun", &slow.url);
    let p = provider(&cfg, client(Duration::from_millis(300))).expect("provider");
    match p.send(&message()).await {
        SmsOutcome::Retry { reason, .. } => assert!(reason.contains("15 秒"), "{reason}"),
        other => panic!("a timeout should be retried, got {other:?}"),
    }

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    for which in ["aliyun", "tencent"] {
        let outcome = sms(which, &format!("http://{addr}")).send(&message()).await;
        assert!(
            matches!(outcome, SmsOutcome::Retry { ref reason, .. } if reason.contains("连接")),
            "{which}: {outcome:?}"
        );
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_log_provider_writes_the_masked_number_template_and_parameters_and_counts_as_sent() {
    let buf = Captured::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let outcome = sms("log", "").send(&message()).await;
    assert_eq!(outcome, SmsOutcome::Sent { provider_id: None });
    let logged = String::from_utf8(buf.0.lock().expect("log buffer").clone()).expect("utf-8 log");
    assert!(logged.contains("138****5678"), "{logged}");
    assert!(
        !logged.contains("13812345678"),
        "the full number must not be logged: {logged}"
    );
    assert!(
        logged.contains("SMS_154950909")
            && logged.contains("code=482913")
            && logged.contains("minutes=10"),
        "{logged}"
    );
    assert!(logged.contains("delivery-7f3a"), "{logged}");
}

#[test]
fn the_setting_chooses_the_provider_and_none_or_a_broken_endpoint_sends_nothing() {
    let http = client(Duration::from_secs(15));
    let name = |which: &str, endpoint: &str| {
        provider(&config(which, endpoint), http.clone()).map(|p| p.name())
    };
    assert_eq!(name("none", ""), None);
    assert_eq!(name("log", ""), Some("log"));
    assert_eq!(name("aliyun", ""), Some("aliyun"));
    assert_eq!(name("tencent", "http://127.0.0.1:9"), Some("tencent"));
    assert_eq!(name("aliyun", "not a url"), None);
    assert_eq!(name("tencent", "ftp://127.0.0.1/"), None);
}

#[tokio::test]
async fn a_loopback_endpoint_override_works_through_the_dispatchers_guarded_client() {
    // The dispatcher hands the providers the webhook client; its resolver only filters names, so
    // an address literal such as the test server's reaches the provider code unchanged.
    let peer = HttpPeer::start().await;
    peer.answer(|_| Reply::json(200, serde_json::json!({"Code": "OK", "BizId": "77"})));
    let http = anju::notify::webhook::client(false).expect("webhook client");
    let p = provider(&config("aliyun", &peer.url), http).expect("provider");
    assert_eq!(
        p.send(&message()).await,
        SmsOutcome::Sent {
            provider_id: Some("77".into())
        }
    );
    assert_eq!(peer.received().len(), 1);
}
