//! Tests of document-number and phone validation, written as the rules they check.

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 1).unwrap_or_default()
}

/// Completes 17 digits with their GB 11643 check character, for numbers that must pass the
/// check digit and fail on something else.
fn with_check(first17: &str) -> String {
    format!("{first17}{}", check_char(first17.as_bytes()))
}

fn parse(t: DocType, raw: &str) -> Result<DocNumber, DocError> {
    DocNumber::parse(t, raw, today())
}

#[test]
fn real_resident_id_numbers_are_accepted() {
    // The first is the worked example of GB 11643-1999 itself.
    for n in [
        "11010519491231002X",
        "330781199003071239",
        "330102198511114562",
        "610104201912318907",
    ] {
        let doc = parse(DocType::ResidentId, n);
        assert_eq!(
            doc.map(|d| d.as_str().to_string()),
            Ok(n.to_string()),
            "{n}"
        );
    }
}

#[test]
fn the_resident_id_rules_refuse_each_kind_of_bad_number() {
    let future = with_check("33078120300101123");
    let cases: Vec<(String, DocError)> = vec![
        ("".into(), DocError::Empty),
        ("   ".into(), DocError::Empty),
        ("\u{3000}".into(), DocError::Empty),
        (
            "330781199003071238".into(),
            DocError::CheckDigit(DocType::ResidentId),
        ),
        (
            "33078119900307123".into(),
            DocError::Length(DocType::ResidentId),
        ),
        (
            "3307811990030712390".into(),
            DocError::Length(DocType::ResidentId),
        ),
        (
            "33078119900307123A".into(),
            DocError::Format(DocType::ResidentId),
        ),
        (
            "3307811990O3071239".into(),
            DocError::Format(DocType::ResidentId),
        ),
        (
            "33078119900307123长".into(),
            DocError::Format(DocType::ResidentId),
        ),
        (
            with_check("33078119990230123"),
            DocError::BirthDateInvalid(DocType::ResidentId),
        ),
        (
            with_check("33078119901301123"),
            DocError::BirthDateInvalid(DocType::ResidentId),
        ),
        (future, DocError::BirthDateInFuture(DocType::ResidentId)),
        (
            with_check("33078118991231123"),
            DocError::BirthDateTooEarly(DocType::ResidentId),
        ),
        // GB 11643's other worked example: right check digit, but born in 1880.
        (
            "440524188001010014".into(),
            DocError::BirthDateTooEarly(DocType::ResidentId),
        ),
        (with_check("99078119900307123"), DocError::UnknownProvince),
        (with_check("83000019750615456"), DocError::UnknownProvince),
        (with_check("10078119900307123"), DocError::UnknownProvince),
        ("330781900307123".into(), DocError::LegacyResidentId),
    ];
    for (raw, want) in cases {
        assert_eq!(parse(DocType::ResidentId, &raw), Err(want), "{raw}");
    }
}

#[test]
fn someone_born_today_may_check_in() {
    let n = with_check("33078120260501123");
    assert!(parse(DocType::ResidentId, &n).is_ok());
}

#[test]
fn a_lowercase_x_is_accepted_and_stored_upper_case() {
    let doc = parse(DocType::ResidentId, " 11010519491231002x ");
    assert_eq!(
        doc.map(|d| d.as_str().to_string()),
        Ok("11010519491231002X".into())
    );
}

#[test]
fn spaces_people_type_between_digit_groups_are_ignored() {
    let doc = parse(DocType::ResidentId, "330781 19900307 1239");
    assert_eq!(
        doc.map(|d| d.as_str().to_string()),
        Ok("330781199003071239".into())
    );
    let doc = parse(DocType::Passport, "E 1234\u{3000}5678");
    assert_eq!(doc.map(|d| d.as_str().to_string()), Ok("E12345678".into()));
}

#[test]
fn full_width_digits_typed_on_a_chinese_keyboard_are_accepted() {
    let doc = parse(DocType::ResidentId, "３３０７８１１９９００３０７１２３９");
    assert_eq!(
        doc.map(|d| d.as_str().to_string()),
        Ok("330781199003071239".into())
    );
}

#[test]
fn a_legacy_15_digit_number_is_refused_with_its_own_message() {
    let err = parse(DocType::ResidentId, "330781900307123").err();
    assert_eq!(
        err.map(|e| e.to_string()),
        Some("旧版15位身份证号码已停用，请使用18位号码".into())
    );
}

#[test]
fn every_error_has_a_chinese_and_an_english_message() {
    let check = DocError::CheckDigit(DocType::ResidentId);
    assert_eq!(check.to_string(), "身份证号码校验位错误");
    assert!(check.message_en().starts_with("Check digit is wrong"));
    let mut all = vec![
        DocError::Empty,
        DocError::LegacyResidentId,
        DocError::UnknownProvince,
        DocError::HmtPrefix,
    ];
    for t in DocType::ALL {
        all.extend([
            DocError::Length(t),
            DocError::Format(t),
            DocError::CheckDigit(t),
            DocError::BirthDateInvalid(t),
            DocError::BirthDateInFuture(t),
            DocError::BirthDateTooEarly(t),
        ]);
    }
    for e in all {
        assert!(!e.to_string().is_ascii(), "{e:?} has no Chinese message");
        assert!(
            e.message_en().is_ascii() && !e.message_en().is_empty(),
            "{e:?}"
        );
    }
}

#[test]
fn hmt_residence_permits_need_the_810000_820000_or_830000_prefix() {
    for n in [
        "810000198001011236",
        "830000197506154565",
        "820000200002297899",
    ] {
        assert!(parse(DocType::HmtResidencePermit, n).is_ok(), "{n}");
    }
    assert_eq!(
        parse(DocType::HmtResidencePermit, "330781199003071239"),
        Err(DocError::HmtPrefix)
    );
    assert_eq!(
        parse(DocType::HmtResidencePermit, "830000197506154564"),
        Err(DocError::CheckDigit(DocType::HmtResidencePermit))
    );
    assert_eq!(
        parse(
            DocType::HmtResidencePermit,
            &with_check("83000019750231456")
        ),
        Err(DocError::BirthDateInvalid(DocType::HmtResidencePermit))
    );
}

#[test]
fn foreign_permanent_resident_ids_come_in_the_2023_and_the_old_format() {
    let t = DocType::ForeignPermanentResidentId;
    assert!(parse(t, "933156198503120018").is_ok());
    assert_eq!(
        parse(t, "usa110085061502").map(|d| d.as_str().to_string()),
        Ok("USA110085061502".into())
    );
    assert_eq!(parse(t, "933156198503120017"), Err(DocError::CheckDigit(t)));
    assert_eq!(parse(t, "330781199003071239"), Err(DocError::Format(t)));
    assert_eq!(parse(t, "US1110085061502"), Err(DocError::Format(t)));
    assert_eq!(parse(t, "USA11008506150"), Err(DocError::Length(t)));
}

#[test]
fn passports_are_5_to_17_letters_or_digits_with_at_least_one_digit() {
    let t = DocType::Passport;
    assert_eq!(
        parse(t, " e12345678 ").map(|d| d.as_str().to_string()),
        Ok("E12345678".into())
    );
    assert!(parse(t, "X1234").is_ok());
    assert!(parse(t, "A1234567890123456").is_ok());
    assert_eq!(parse(t, "A12345678901234567"), Err(DocError::Length(t)));
    assert_eq!(parse(t, "E123"), Err(DocError::Length(t)));
    assert_eq!(parse(t, "ABCDEFG"), Err(DocError::Format(t)));
    assert_eq!(parse(t, "E1234-5678"), Err(DocError::Format(t)));
}

#[test]
fn doc_types_round_trip_through_their_api_names() {
    for t in DocType::ALL {
        assert_eq!(DocType::parse(t.as_str()), Some(t));
        assert!(!t.label_zh().is_ascii() && t.label_en().is_ascii());
    }
    assert_eq!(DocType::parse("resident_id"), Some(DocType::ResidentId));
    assert_eq!(DocType::ResidentId.label_zh(), "居民身份证");
    assert_eq!(DocType::parse("id_card"), None);
}

#[test]
fn numbers_are_masked_keeping_the_first_6_and_last_4() {
    let doc = parse(DocType::ResidentId, "330781199003071239");
    assert_eq!(doc.map(|d| d.masked()), Ok("330781********1239".into()));
    assert_eq!(mask_doc_number("USA110085061502"), "USA110*****1502");
    assert_eq!(mask_doc_number("E12345678"), "E1*****78");
    assert_eq!(mask_doc_number("X1234"), "X1*34");
    assert_eq!(mask_doc_number("abc"), "***");
}

#[test]
fn debug_output_never_shows_a_whole_number() {
    let doc = parse(DocType::ResidentId, "330781199003071239");
    let text = format!("{doc:?}");
    assert!(
        text.contains("330781********1239") && !text.contains("199003071239"),
        "{text}"
    );
    let phone = format!("{:?}", Phone::parse("13812345678"));
    assert!(!phone.contains("13812345678"), "{phone}");
}

#[test]
fn mainland_mobile_numbers_are_normalised_to_11_digits() {
    for raw in [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "008613812345678",
        "8613812345678",
        "１３８１２３４５６７８",
    ] {
        assert_eq!(
            Phone::parse(raw).map(|p| p.as_str().to_string()),
            Ok("13812345678".into()),
            "{raw}"
        );
    }
    assert_eq!(
        Phone::parse("19912345678").map(|p| p.masked()),
        Ok("199****5678".into())
    );
}

#[test]
fn other_phone_numbers_are_refused_in_both_languages() {
    for raw in [
        "12812345678",
        "1381234567",
        "138123456789",
        "23812345678",
        "0571-88888888",
        "abc",
    ] {
        assert_eq!(Phone::parse(raw), Err(PhoneError::Invalid), "{raw}");
    }
    assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
    assert!(PhoneError::Invalid.to_string().contains("手机号码"));
    assert!(PhoneError::Invalid.message_en().contains("mobile"));
}
