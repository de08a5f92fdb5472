//! Identity documents and phone numbers of tenants: validation, normalisation and masking.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The documents a tenant may check in with (MPS Order No. 24 requires real-name registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    ResidentId,
    HmtResidencePermit,
    ForeignPermanentResidentId,
    Passport,
}

impl DocType {
    pub const ALL: [DocType; 4] = [
        DocType::ResidentId,
        DocType::HmtResidencePermit,
        DocType::ForeignPermanentResidentId,
        DocType::Passport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocType::ResidentId => "resident_id",
            DocType::HmtResidencePermit => "hmt_residence_permit",
            DocType::ForeignPermanentResidentId => "foreign_permanent_resident_id",
            DocType::Passport => "passport",
        }
    }

    pub fn parse(s: &str) -> Option<DocType> {
        DocType::ALL.into_iter().find(|t| t.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DocType::ResidentId => "居民身份证",
            DocType::HmtResidencePermit => "港澳台居民居住证",
            DocType::ForeignPermanentResidentId => "外国人永久居留身份证",
            DocType::Passport => "护照",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DocType::ResidentId => "Resident ID card",
            DocType::HmtResidencePermit => {
                "Residence permit for Hong Kong, Macao and Taiwan residents"
            }
            DocType::ForeignPermanentResidentId => "Foreign permanent resident ID card",
            DocType::Passport => "Passport",
        }
    }

    /// The short name people use in sentences such as "身份证号码校验位错误".
    fn short_zh(self) -> &'static str {
        match self {
            DocType::ResidentId => "身份证",
            DocType::HmtResidencePermit => "居住证",
            DocType::ForeignPermanentResidentId => "永久居留身份证",
            DocType::Passport => "护照",
        }
    }
}

/// Why a document number was refused. `Display` is Chinese; [`DocError::message_en`] is English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_zh())]
pub enum DocError {
    Empty,
    LegacyResidentId,
    Length(DocType),
    Format(DocType),
    CheckDigit(DocType),
    BirthDateInvalid(DocType),
    BirthDateInFuture(DocType),
    BirthDateTooEarly(DocType),
    UnknownProvince,
    HmtPrefix,
}

impl DocError {
    pub fn message_zh(&self) -> String {
        match *self {
            DocError::Empty => "请填写证件号码".into(),
            DocError::LegacyResidentId => "旧版15位身份证号码已停用，请使用18位号码".into(),
            DocError::Length(DocType::ForeignPermanentResidentId) => {
                "外国人永久居留身份证号码应为18位（新版）或15位（旧版）".into()
            }
            DocError::Length(DocType::Passport) => "护照号码应为5至17位字母或数字".into(),
            DocError::Length(t) => format!("{}号码应为18位", t.short_zh()),
            DocError::Format(DocType::ForeignPermanentResidentId) => {
                "外国人永久居留身份证号码格式不正确：新版为9开头的18位号码，旧版为3个字母加12位数字"
                    .into()
            }
            DocError::Format(DocType::Passport) => {
                "护照号码只能包含字母和数字，且至少包含一位数字".into()
            }
            DocError::Format(t) => {
                format!("{}号码前17位应为数字，最后一位为数字或X", t.short_zh())
            }
            DocError::CheckDigit(t) => format!("{}号码校验位错误", t.short_zh()),
            DocError::BirthDateInvalid(t) => {
                format!("{}号码中的出生日期不存在", t.short_zh())
            }
            DocError::BirthDateInFuture(t) => {
                format!("{}号码中的出生日期晚于今天", t.short_zh())
            }
            DocError::BirthDateTooEarly(t) => {
                format!("{}号码中的出生日期早于1900年", t.short_zh())
            }
            DocError::UnknownProvince => "身份证号码前两位不是有效的省级行政区划代码".into(),
            DocError::HmtPrefix => {
                "港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头".into()
            }
        }
    }

    pub fn message_en(&self) -> String {
        match *self {
            DocError::Empty => "Please enter the document number".into(),
            DocError::LegacyResidentId => {
                "Old 15-digit ID card numbers are no longer in use; please enter the 18-digit number"
                    .into()
            }
            DocError::Length(DocType::ForeignPermanentResidentId) => {
                "A foreign permanent resident ID number has 18 characters (new format) or 15 (old format)"
                    .into()
            }
            DocError::Length(DocType::Passport) => {
                "A passport number has 5 to 17 letters or digits".into()
            }
            DocError::Length(_) => "The number must have 18 characters".into(),
            DocError::Format(DocType::ForeignPermanentResidentId) => {
                "Wrong format: the new card number is 18 characters starting with 9, the old one 3 letters and 12 digits"
                    .into()
            }
            DocError::Format(DocType::Passport) => {
                "A passport number may contain only letters and digits, with at least one digit"
                    .into()
            }
            DocError::Format(_) => {
                "The first 17 characters must be digits and the last a digit or X".into()
            }
            DocError::CheckDigit(_) => "Check digit is wrong; please check the number".into(),
            DocError::BirthDateInvalid(_) => {
                "The date of birth in the number does not exist".into()
            }
            DocError::BirthDateInFuture(_) => {
                "The date of birth in the number is in the future".into()
            }
            DocError::BirthDateTooEarly(_) => {
                "The date of birth in the number is before 1900".into()
            }
            DocError::UnknownProvince => {
                "The first two digits are not a valid province code".into()
            }
            DocError::HmtPrefix => {
                "A Hong Kong, Macao or Taiwan residence permit number starts with 810000, 820000 or 830000"
                    .into()
            }
        }
    }
}

/// A validated, normalised document number. Its `Debug` output is masked so that a stray log
/// line never carries a whole number (DESIGN §6).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DocNumber {
    doc_type: DocType,
    value: String,
}

impl DocNumber {
    pub fn parse(doc_type: DocType, raw: &str, today: NaiveDate) -> Result<DocNumber, DocError> {
        let value = normalise(raw);
        if value.is_empty() {
            return Err(DocError::Empty);
        }
        match doc_type {
            DocType::ResidentId => check_resident_id(&value, today)?,
            DocType::HmtResidencePermit => check_hmt_permit(&value, today)?,
            DocType::ForeignPermanentResidentId => check_foreign_permanent(&value)?,
            DocType::Passport => check_passport(&value)?,
        }
        Ok(DocNumber { doc_type, value })
    }

    pub fn doc_type(&self) -> DocType {
        self.doc_type
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn masked(&self) -> String {
        mask_doc_number(&self.value)
    }
}

impl fmt::Debug for DocNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocNumber")
            .field("doc_type", &self.doc_type)
            .field("value", &self.masked())
            .finish()
    }
}

/// Masks a stored document number for lists: first 6 and last 4 kept (first 2 and last 2 for
/// short numbers such as passports, so that most of the number stays hidden).
pub fn mask_doc_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let (head, tail) = match chars.len() {
        n if n >= 15 => (6, 4),
        n if n >= 5 => (2, 2),
        _ => (0, 0),
    };
    let stars = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', stars));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Drops all whitespace (people group digits as they read them out) and maps full-width ASCII,
/// which Chinese IMEs often type, to half-width; then upper-cases.
pub(crate) fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The 34 province-level codes of GB/T 2260 (71 Taiwan, 81 Hong Kong, 82 Macao included).
fn is_province_code(code: &str) -> bool {
    matches!(
        code.parse::<u8>(),
        Ok(11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82)
    )
}

/// GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits.
fn check_char(first17: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHARS[(sum % 11) as usize]
}

/// Checks the 18-character structure shared by 居民身份证, 港澳台居民居住证 and the new
/// 外国人永久居留身份证: 17 digits, then the GB 11643 check character.
fn check_gb11643(value: &str, doc_type: DocType) -> Result<(), DocError> {
    if value.chars().count() != 18 {
        return Err(DocError::Length(doc_type));
    }
    if !value.is_ascii() {
        return Err(DocError::Format(doc_type));
    }
    let bytes = value.as_bytes();
    let body_ok = bytes[..17].iter().all(u8::is_ascii_digit);
    if !body_ok || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
        return Err(DocError::Format(doc_type));
    }
    if check_char(&bytes[..17]) != char::from(bytes[17]) {
        return Err(DocError::CheckDigit(doc_type));
    }
    Ok(())
}

fn check_birth_date(value: &str, doc_type: DocType, today: NaiveDate) -> Result<(), DocError> {
    let date = NaiveDate::parse_from_str(&value[6..14], "%Y%m%d")
        .map_err(|_| DocError::BirthDateInvalid(doc_type))?;
    if date > today {
        return Err(DocError::BirthDateInFuture(doc_type));
    }
    if date.year() < 1900 {
        return Err(DocError::BirthDateTooEarly(doc_type));
    }
    Ok(())
}

fn check_resident_id(value: &str, today: NaiveDate) -> Result<(), DocError> {
    if value.len() == 15 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DocError::LegacyResidentId);
    }
    check_gb11643(value, DocType::ResidentId)?;
    // Province before date: a wrong region means the number is not a 身份证 at all.
    if !is_province_code(&value[..2]) {
        return Err(DocError::UnknownProvince);
    }
    check_birth_date(value, DocType::ResidentId, today)
}

fn check_hmt_permit(value: &str, today: NaiveDate) -> Result<(), DocError> {
    check_gb11643(value, DocType::HmtResidencePermit)?;
    if !matches!(&value[..6], "810000" | "820000" | "830000") {
        return Err(DocError::HmtPrefix);
    }
    check_birth_date(value, DocType::HmtResidencePermit, today)
}

fn check_foreign_permanent(value: &str) -> Result<(), DocError> {
    let t = DocType::ForeignPermanentResidentId;
    match value.chars().count() {
        18 => {
            if !value.starts_with('9') {
                return Err(DocError::Format(t));
            }
            check_gb11643(value, t)
        }
        15 => {
            let b = value.as_bytes();
            let ok =
                b[..3].iter().all(u8::is_ascii_uppercase) && b[3..].iter().all(u8::is_ascii_digit);
            if ok { Ok(()) } else { Err(DocError::Format(t)) }
        }
        _ => Err(DocError::Length(t)),
    }
}

fn check_passport(value: &str) -> Result<(), DocError> {
    let t = DocType::Passport;
    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(DocError::Format(t));
    }
    if !(5..=17).contains(&value.len()) {
        return Err(DocError::Length(t));
    }
    if !value.bytes().any(|b| b.is_ascii_digit()) {
        return Err(DocError::Format(t));
    }
    Ok(())
}

/// Why a phone number was refused. `Display` is Chinese; [`PhoneError::message_en`] is English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("请填写手机号码")]
    Empty,
    #[error("手机号码格式不正确，请填写11位大陆手机号，如13812345678")]
    Invalid,
}

impl PhoneError {
    pub fn message_en(&self) -> &'static str {
        match self {
            PhoneError::Empty => "Please enter a mobile phone number",
            PhoneError::Invalid => {
                "Enter an 11-digit mainland China mobile number, e.g. 13812345678"
            }
        }
    }
}

/// A mainland China mobile number, normalised to its 11 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts the ways people type numbers: spaces, dashes, and a +86 / 0086 country prefix.
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let compact: String = normalise(raw)
            .chars()
            .filter(|c| !matches!(c, '-' | '(' | ')'))
            .collect();
        if compact.is_empty() {
            return Err(PhoneError::Empty);
        }
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
            .unwrap_or(&compact);
        let b = digits.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1]);
        if ok {
            Ok(Phone(digits.to_string()))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`, the usual way Chinese services show a phone number.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests;
