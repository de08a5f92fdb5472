//! What API request bodies share: lenient field text, the JSON content-type guards (415) and the
//! `validator` → field-error translation.
use std::borrow::Cow;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use validator::{
    Validate, ValidateLength, ValidateRange, ValidationError, ValidationErrors,
    ValidationErrorsKind,
};

use crate::domain::fields::FieldErrors;
use crate::error::AppError;

/// A JSON field as the text a form would have sent (`3` and `"3"` alike), so the API and the pages
/// share one domain parser and a value of the wrong type becomes a Chinese field error from that
/// parser instead of serde's English one. The OpenAPI type is stated on each field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text(match Value::deserialize(d)? {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

/// Serialized as the text, for `validator`'s error parameters.
impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The text of an optional field, empty when absent.
pub fn text(v: &Option<Text>) -> &str {
    v.as_ref().map(Text::as_str).unwrap_or("")
}

impl ValidateLength<u64> for Text {
    fn length(&self) -> Option<u64> {
        Some(self.0.chars().count() as u64)
    }
}

impl<T: Into<f64> + Copy> ValidateRange<T> for Text {
    fn greater_than(&self, max: T) -> Option<bool> {
        self.number().map(|v| v > max.into())
    }
    fn less_than(&self, min: T) -> Option<bool> {
        self.number().map(|v| v < min.into())
    }
}

impl Text {
    fn number(&self) -> Option<f64> {
        self.0.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

/// The `validator` limits of a body as field errors: a Chinese message beside each field
/// (`rooms[2].label` for nested lists).
pub fn limits<T: Validate>(body: &T) -> FieldErrors {
    let mut out = FieldErrors::new();
    if let Err(e) = body.validate() {
        collect(&e, "", &mut out);
    }
    out
}

/// Refuses a body that breaks a stated limit, before anything is parsed into a domain type.
pub fn validated<T: Validate>(body: &T) -> Result<(), AppError> {
    limits(body).into_result().map_err(AppError::Validation)
}

/// Checks the limits first, then parses; every field is reported once: by its limit when it broke
/// one, else by the domain parser.
pub fn parse_validated<T: Validate, D>(
    body: &T,
    parse: impl FnOnce() -> Result<D, FieldErrors>,
) -> Result<D, AppError> {
    let mut errs = limits(body);
    match parse() {
        Ok(d) if errs.is_empty() => Ok(d),
        Ok(_) => Err(AppError::Validation(errs)),
        Err(domain) => {
            for (field, msgs) in domain.0 {
                if !errs.has(&field) {
                    for m in msgs {
                        errs.add(field.clone(), m);
                    }
                }
            }
            Err(AppError::Validation(errs))
        }
    }
}

fn collect(errs: &ValidationErrors, prefix: &str, out: &mut FieldErrors) {
    for (field, kind) in errs.errors() {
        let name = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.add(name.clone(), message_zh(e));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &name, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{name}[{i}]"), out);
                }
            }
        }
    }
}

/// The attribute's own `message` when it has one, else a sentence built from the limit.
pub fn message_zh(e: &ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let p = |k: &str| e.params.get(&Cow::Owned(k.to_string())).map(num);
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("长度应为 {min} 到 {max} 个字符"),
            (None, Some(max)) => format!("不能超过 {max} 个字符"),
            (Some(min), None) => format!("至少 {min} 个字符"),
            _ => "长度不符合要求".into(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("应在 {min} 到 {max} 之间"),
            (None, Some(max)) => format!("不能大于 {max}"),
            (Some(min), None) => format!("不能小于 {min}"),
            _ => "数值超出范围".into(),
        },
        _ => "格式不正确".into(),
    }
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => v.to_string(),
    }
}

fn is_json(req: &Request<'_>) -> bool {
    req.content_type().is_some_and(|ct| ct.is_json())
}

fn has_body(req: &Request<'_>) -> bool {
    req.headers()
        .get_one("Content-Length")
        .is_some_and(|n| n.trim() != "0")
}

/// 415 with a message the JSON catcher shows.
fn unsupported<T>(req: &Request<'_>) -> Outcome<T, ()> {
    crate::web::guards::note(req, "请求正文须为 JSON（Content-Type: application/json）");
    Outcome::Error((Status::UnsupportedMediaType, ()))
}

/// A route whose body must be JSON: any other content type (or none) is refused with 415 before
/// the body is read. Rocket's `format = "json"` would forward to a 404 instead.
pub struct JsonBody;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for JsonBody {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        if is_json(req) {
            Outcome::Success(JsonBody)
        } else {
            unsupported(req)
        }
    }
}

/// A route whose JSON body is optional: no body at all is fine, a body of another type is 415.
pub struct OptionalJsonBody;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OptionalJsonBody {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        if is_json(req) || (req.content_type().is_none() && !has_body(req)) {
            Outcome::Success(OptionalJsonBody)
        } else {
            unsupported(req)
        }
    }
}
