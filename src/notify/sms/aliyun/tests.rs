//! ACS3-HMAC-SHA256 against Aliyun's published worked example, and how answers are read.
use std::collections::BTreeMap;

use super::*;

// The "固定参数示例" (fixed parameter values) of Aliyun's "V3版本请求体&签名机制":
// https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature
// (English: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature).
#[test]
fn the_signature_matches_aliyuns_published_example() {
    let query = canonical_query(&[
        ("RegionId", "cn-shanghai"),
        (
            "ImageId",
            "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        ),
    ]);
    assert_eq!(
        query,
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
    );
    let empty = sha256_hex(b"");
    assert_eq!(
        empty,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let headers: BTreeMap<String, String> = [
        ("host", "ecs.cn-shanghai.aliyuncs.com"),
        ("x-acs-action", "RunInstances"),
        ("x-acs-content-sha256", empty.as_str()),
        ("x-acs-date", "2023-10-26T10:22:32Z"),
        ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ("x-acs-version", "2014-05-26"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let (canonical, signed) = canonical_request("POST", "/", &query, &headers, &empty);
    assert_eq!(
        canonical,
        "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
         host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
         x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
         x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n\
         x-acs-version:2014-05-26\n\n\
         host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sts = string_to_sign(&canonical);
    assert_eq!(
        sts,
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
    let sig = signature("YourAccessKeySecret", &sts);
    assert_eq!(
        sig,
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
    assert_eq!(
        authorization("YourAccessKeyId", &signed, &sig),
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
         x-acs-date;x-acs-signature-nonce;x-acs-version,\
         Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
}

#[test]
fn percent_encoding_follows_rfc_3986_as_the_v3_signature_wants() {
    assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(percent_encode("a b*c+d/e=f&g"), "a%20b%2Ac%2Bd%2Fe%3Df%26g");
    assert_eq!(percent_encode("安居"), "%E5%AE%89%E5%B1%85");
    assert_eq!(
        percent_encode(r#"{"code":"1"}"#),
        "%7B%22code%22%3A%221%22%7D"
    );
}

#[test]
fn template_parameters_go_as_a_json_object_by_name() {
    let p = vec![
        ("code".to_string(), "123456".to_string()),
        ("min".to_string(), "10".to_string()),
    ];
    assert_eq!(template_param(&p), r#"{"code":"123456","min":"10"}"#);
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        retry_after: None,
        json: serde_json::from_str(body).map_err(|_| format!("not JSON: {body}")),
    }
}

#[test]
fn ok_is_sent_with_the_biz_id() {
    let a = answer(
        200,
        r#"{"Code":"OK","Message":"OK","BizId":"9006197469364984^0","RequestId":"F655"}"#,
    );
    assert_eq!(
        classify(&a),
        SmsOutcome::Sent {
            provider_id: Some("9006197469364984^0".into())
        }
    );
}

#[test]
fn a_bad_number_template_signature_or_key_is_refused() {
    for (status, code) in [
        (200, "isv.MOBILE_NUMBER_ILLEGAL"),
        (200, "isv.SMS_TEMPLATE_ILLEGAL"),
        (200, "isv.SMS_SIGNATURE_ILLEGAL"),
        (404, "InvalidAccessKeyId.NotFound"),
        (400, "SignatureDoesNotMatch"),
    ] {
        let a = answer(status, &format!(r#"{{"Code":"{code}","Message":"m"}}"#));
        assert!(
            matches!(classify(&a), SmsOutcome::Refused { reason } if reason.contains(code)),
            "{code}"
        );
    }
}

#[test]
fn flow_control_and_server_trouble_are_retried() {
    for (status, body) in [
        (
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控"}"#,
        ),
        (
            400,
            r#"{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#,
        ),
        (503, r#"{"Code":"ServiceUnavailable","Message":"x"}"#),
        (500, r#"{"Code":"SomethingNew","Message":"x"}"#),
        (502, "<html><body>Bad Gateway</body></html>"),
        (200, ""),
        (200, r#"{"unexpected":true}"#),
        (200, r#"[1,2,3]"#),
    ] {
        assert!(
            matches!(classify(&answer(status, body)), SmsOutcome::Retry { .. }),
            "{status} {body}"
        );
    }
}
