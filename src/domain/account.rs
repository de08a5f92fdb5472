//! Account inputs: a person's name and a password, checked before anything is stored.
use super::fields::FieldErrors;
use super::identity::Phone;

/// A person's name as shown to others: 1–32 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, &'static str> {
        let t = super::fields::clean_text(raw, false)?;
        if t.is_empty() {
            return Err("请填写姓名");
        }
        if t.chars().count() > 32 {
            return Err("姓名不能超过 32 个字");
        }
        if t.chars().any(|c| c.is_control() || "<>\"'&".contains(c)) {
            return Err("姓名含有不允许的字符");
        }
        Ok(PersonName(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8–128 characters, not only digits (a phone number is no password).
#[derive(Clone)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<NewPassword, &'static str> {
        let n = raw.chars().count();
        if n < 8 {
            return Err("密码至少 8 位");
        }
        if n > 128 {
            return Err("密码不能超过 128 位");
        }
        if super::fields::has_control(raw, false) {
            return Err(super::fields::CONTROL_CHARACTER);
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("密码不能全是数字，请加入字母或符号");
        }
        Ok(NewPassword(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A landlord's self-registration after every field has been checked.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: PersonName,
    pub phone: Phone,
    pub password: NewPassword,
}

impl Registration {
    pub fn parse(name: &str, phone: &str, password: &str) -> Result<Registration, FieldErrors> {
        let mut e = FieldErrors::new();
        let name = PersonName::parse(name).map_err(|m| e.add("name", m)).ok();
        let phone = Phone::parse(phone)
            .map_err(|m| e.add("phone", m.to_string()))
            .ok();
        let password = NewPassword::parse(password)
            .map_err(|m| e.add("password", m))
            .ok();
        match (name, phone, password) {
            (Some(name), Some(phone), Some(password)) if e.is_empty() => Ok(Registration {
                name,
                phone,
                password,
            }),
            _ => Err(e),
        }
    }
}

/// The password hash of a landlord account made for someone who has not chosen a password yet
/// (an imported register, or a house transferred to a new phone). It is no PHC string, so no
/// password verifies against it; the owner of the phone claims it with a code.
pub const UNCLAIMED: &str = "!unclaimed";

pub fn is_unclaimed(password_hash: &str) -> bool {
    password_hash == UNCLAIMED
}

/// A code that proves a phone's owner: the six-digit SMS code, or the eight-digit claim code an
/// official hands over when the town has no SMS provider. Spaces a person types are ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct ProofCode(String);

impl std::fmt::Debug for ProofCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofCode(***)")
    }
}

/// Digits of an official's claim code.
pub const CLAIM_CODE_LEN: usize = 8;

impl ProofCode {
    pub fn parse(raw: &str) -> Result<ProofCode, &'static str> {
        let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if code.is_empty() {
            return Err("请填写短信验证码或村干部给的认领码");
        }
        let digits = code.chars().all(|c| c.is_ascii_digit());
        if !digits || !(code.len() == 6 || code.len() == CLAIM_CODE_LEN) {
            return Err("验证码应为 6 位数字，认领码为 8 位数字");
        }
        Ok(ProofCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it has the length of an official's claim code (an SMS code has six digits).
    pub fn is_claim_code(&self) -> bool {
        self.0.len() == CLAIM_CODE_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_with_bad_fields_names_each_of_them() {
        let e = Registration::parse("", "12345", "1234").unwrap_err();
        assert!(e.has("name") && e.has("phone") && e.has("password"));
    }

    #[test]
    fn an_all_digit_password_is_refused() {
        assert!(NewPassword::parse("13900000004").is_err());
        assert!(NewPassword::parse("anju-demo").is_ok());
    }

    #[test]
    fn a_proof_code_is_six_or_eight_digits_and_spaces_are_ignored() {
        assert_eq!(ProofCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert!(ProofCode::parse("1234 5678").unwrap().is_claim_code());
        assert!(ProofCode::parse("12345").is_err());
        assert!(ProofCode::parse("12345a").is_err());
        assert!(ProofCode::parse("").is_err());
        assert!(ProofCode::parse("１２３４５６").is_err());
    }

    #[test]
    fn only_the_unclaimed_marker_is_unclaimed() {
        assert!(is_unclaimed(UNCLAIMED));
        assert!(!is_unclaimed(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
        ));
    }

    #[test]
    fn markup_in_a_name_is_refused() {
        assert!(PersonName::parse("<script>").is_err());
        assert_eq!(PersonName::parse("  王建国 ").unwrap().as_str(), "王建国");
    }
}
