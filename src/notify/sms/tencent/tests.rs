//! TC3-HMAC-SHA256 against Tencent Cloud's published worked example, and how answers are read.
use super::*;

// The worked example of Tencent Cloud's "签名方法 v3" (CVM DescribeInstances, timestamp 1551113065,
// SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE): https://cloud.tencent.com/document/api/213/30654
// (English: https://www.tencentcloud.com/document/api/213/30654).
#[test]
fn the_signature_matches_tencents_published_example() {
    let payload = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    assert_eq!(
        sha256_hex(payload),
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    let canonical = canonical_request(
        "application/json; charset=utf-8",
        "cvm.tencentcloudapi.com",
        payload,
    );
    assert_eq!(
        canonical,
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n\
         content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    let sts = string_to_sign(1551113065, "cvm", &canonical);
    assert_eq!(
        sts,
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n\
         5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    );
    let sig = signature(
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        "2019-02-25",
        "cvm",
        &sts,
    );
    assert_eq!(
        sig,
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
    assert_eq!(
        authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "2019-02-25",
            "cvm",
            &sig
        ),
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
         SignedHeaders=content-type;host, \
         Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
}

#[test]
fn the_credential_date_is_the_utc_date_even_just_after_midnight_in_china() {
    // 2019-02-26 00:44:25 in Beijing is still the 25th in UTC (the doc's own warning).
    assert_eq!(utc_date(1551113065), "2019-02-25");
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        retry_after: None,
        json: serde_json::from_str(body).map_err(|_| format!("not JSON: {body}")),
    }
}

fn status_set(code: &str) -> String {
    format!(
        r#"{{"Response":{{"SendStatusSet":[{{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613711112222","Fee":1,"SessionContext":"d-1","Code":"{code}","Message":"m","IsoCode":"CN"}}],"RequestId":"a0aabda6"}}}}"#
    )
}

fn error(code: &str) -> String {
    format!(r#"{{"Response":{{"Error":{{"Code":"{code}","Message":"m"}},"RequestId":"b1"}}}}"#)
}

#[test]
fn ok_is_sent_with_the_serial_number() {
    assert_eq!(
        classify(&answer(200, &status_set("Ok"))),
        SmsOutcome::Sent {
            provider_id: Some("5000:1045710669157053657849499619".into())
        }
    );
}

#[test]
fn a_bad_number_blacklist_template_sign_or_auth_error_is_refused() {
    for body in [
        status_set("InvalidParameterValue.IncorrectPhoneNumber"),
        status_set("FailedOperation.PhoneNumberInBlacklist"),
        error("FailedOperation.TemplateIncorrectOrUnapproved"),
        error("FailedOperation.SignatureIncorrectOrUnapproved"),
        error("AuthFailure.SignatureFailure"),
        error("AuthFailure.SecretIdNotFound"),
    ] {
        assert!(
            matches!(classify(&answer(200, &body)), SmsOutcome::Refused { .. }),
            "{body}"
        );
    }
}

#[test]
fn limits_internal_errors_and_broken_answers_are_retried() {
    for (status, body) in [
        (200, status_set("LimitExceeded.PhoneNumberDailyLimit")),
        (200, error("LimitExceeded.DeliveryFrequencyLimit")),
        (200, error("InternalError.Timeout")),
        (200, error("RequestLimitExceeded")),
        (502, "<html>bad gateway</html>".to_string()),
        (503, error("AuthFailure.SignatureFailure")),
        (200, String::new()),
        (200, r#"{"Response":{"RequestId":"x"}}"#.to_string()),
        (200, r#"{"Response":{"SendStatusSet":[]}}"#.to_string()),
        (200, r#"{"something":"else"}"#.to_string()),
    ] {
        assert!(
            matches!(classify(&answer(status, &body)), SmsOutcome::Retry { .. }),
            "{status} {body}"
        );
    }
}
