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
    fn markup_in_a_name_is_refused() {
        assert!(PersonName::parse("<script>").is_err());
        assert_eq!(PersonName::parse("  王建国 ").unwrap().as_str(), "王建国");
    }
}
