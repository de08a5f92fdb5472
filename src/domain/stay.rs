//! Tenant stays (居住登记): the check-in form parsed into domain types, statuses, check-out codes.

use chrono::{Duration, NaiveDate};
use rand::Rng;

use super::fields::{CONTROL_CHARACTER, FieldErrors, has_control};
use super::identity::{DocNumber, DocType, Phone};

/// The language a tenant chose on the check-in page; Chinese unless `lang=en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Lang {
        match s.map(str::trim) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    /// Picks the message in this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
    /// A date as readers of this language write it: 2026年11月27日 / 27 Nov 2026.
    pub fn date(self, d: &NaiveDate) -> String {
        match self {
            Lang::Zh => d.format("%Y年%m月%d日").to_string(),
            Lang::En => d.format("%-d %b %Y").to_string(),
        }
    }
}

/// How far from today a move-in date may lie: late registrations are common, far ones are not.
pub const MOVE_IN_PAST_DAYS: i64 = 30;
pub const MOVE_IN_FUTURE_DAYS: i64 = 7;

/// Which move-in dates a registration accepts: a check-in's 30 days back and 7 ahead, or, for a
/// register kept before Anju ([`MoveInWindow::Register`]), any past date and 7 days ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveInWindow {
    CheckIn,
    Register,
}

/// The check-in form as typed (HTML form or JSON), every field text. Its `Debug` hides the
/// person's name, document number, phone and employer, so a stray log line carries none of them.
#[derive(Clone, Default)]
pub struct RawCheckIn {
    pub name: String,
    pub doc_type: String,
    pub doc_number: String,
    pub phone: String,
    pub room_id: String,
    pub move_in: String,
    pub move_out_expected: String,
    pub employer: String,
    pub consent: bool,
}

impl std::fmt::Debug for RawCheckIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &str| format!("<{} chars>", s.chars().count());
        f.debug_struct("RawCheckIn")
            .field("name", &hidden(&self.name))
            .field("doc_type", &self.doc_type)
            .field("doc_number", &hidden(&self.doc_number))
            .field("phone", &hidden(&self.phone))
            .field("room_id", &self.room_id)
            .field("move_in", &self.move_in)
            .field("move_out_expected", &self.move_out_expected)
            .field("employer", &hidden(&self.employer))
            .field("consent", &self.consent)
            .finish()
    }
}

/// A check-in whose every field is valid; only the permit and room checks remain for the service.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub name: String,
    pub doc: DocNumber,
    pub phone: Phone,
    pub room_id: i32,
    pub move_in: NaiveDate,
    pub move_out_expected: Option<NaiveDate>,
    pub employer: Option<String>,
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

impl RawCheckIn {
    /// Parses every field, collecting one message per bad field in `lang`. `require_consent` is
    /// false for apps, which obtain consent in their own screens.
    pub fn parse(
        &self,
        today: NaiveDate,
        lang: Lang,
        require_consent: bool,
    ) -> Result<CheckIn, FieldErrors> {
        self.parse_moved_in(today, lang, require_consent, MoveInWindow::CheckIn)
    }

    /// [`RawCheckIn::parse`] with the move-in window spelled out: an existing register's rows
    /// record stays that began long ago, so the import lifts the 30-day limit, and nothing else.
    pub fn parse_moved_in(
        &self,
        today: NaiveDate,
        lang: Lang,
        require_consent: bool,
        window: MoveInWindow,
    ) -> Result<CheckIn, FieldErrors> {
        let earliest = match window {
            MoveInWindow::CheckIn => Some(today - Duration::days(MOVE_IN_PAST_DAYS)),
            MoveInWindow::Register => None,
        };
        let mut e = FieldErrors::new();
        let control = lang.t(CONTROL_CHARACTER, "must not contain control characters");
        let name = self.name.trim().to_string();
        if has_control(&name, false) {
            e.add("name", control);
        } else if name.is_empty() {
            e.add("name", lang.t("请填写姓名", "Please enter your name"));
        } else if name.chars().count() > 50 {
            e.add(
                "name",
                lang.t(
                    "姓名不能超过50个字",
                    "The name may have at most 50 characters",
                ),
            );
        }
        let doc_type = DocType::parse(&self.doc_type);
        if doc_type.is_none() {
            e.add(
                "doc_type",
                lang.t("请选择证件类型", "Please choose a document type"),
            );
        }
        let doc = doc_type.and_then(|t| match DocNumber::parse(t, &self.doc_number, today) {
            Ok(d) => Some(d),
            Err(err) => {
                let msg = match lang {
                    Lang::Zh => err.message_zh(),
                    Lang::En => err.message_en(),
                };
                e.add("doc_number", msg);
                None
            }
        });
        let phone = match Phone::parse(&self.phone) {
            Ok(p) => Some(p),
            Err(err) => {
                let msg = match lang {
                    Lang::Zh => err.to_string(),
                    Lang::En => err.message_en().to_string(),
                };
                e.add("phone", msg);
                None
            }
        };
        let room_id = self.room_id.trim().parse::<i32>().ok();
        if room_id.is_none() {
            e.add("room_id", lang.t("请选择房间", "Please choose a room"));
        }
        let move_in = match parse_date(&self.move_in) {
            None => {
                e.add(
                    "move_in",
                    lang.t("请填写入住日期", "Please enter the move-in date"),
                );
                None
            }
            Some(d) if earliest.is_some_and(|first| d < first) => {
                e.add(
                    "move_in",
                    lang.t(
                        "入住日期不能早于30天前，请联系房东或村里补登",
                        "The move-in date may be at most 30 days ago",
                    ),
                );
                None
            }
            Some(d) if d > today + Duration::days(MOVE_IN_FUTURE_DAYS) => {
                e.add(
                    "move_in",
                    lang.t(
                        "入住日期不能晚于7天后，请临近入住时再登记",
                        "The move-in date may be at most 7 days ahead",
                    ),
                );
                None
            }
            Some(d) => Some(d),
        };
        let move_out_expected = if self.move_out_expected.trim().is_empty() {
            None
        } else {
            match parse_date(&self.move_out_expected) {
                Some(d) if move_in.is_none_or(|m| d > m) => Some(d),
                Some(_) => {
                    e.add(
                        "move_out_expected",
                        lang.t(
                            "预计退租日期应晚于入住日期",
                            "The expected move-out must be after the move-in date",
                        ),
                    );
                    None
                }
                None => {
                    e.add(
                        "move_out_expected",
                        lang.t("日期格式不正确", "The date is not valid"),
                    );
                    None
                }
            }
        };
        let employer = self.employer.trim();
        if has_control(employer, false) {
            e.add("employer", control);
        } else if employer.chars().count() > 100 {
            e.add(
                "employer",
                lang.t(
                    "工作单位不能超过100个字",
                    "The employer may have at most 100 characters",
                ),
            );
        }
        if require_consent && !self.consent {
            e.add(
                "consent",
                lang.t(
                    "请阅读并同意个人信息的使用说明",
                    "Please read and accept how your data will be used",
                ),
            );
        }
        match (doc, phone, room_id, move_in) {
            (Some(doc), Some(phone), Some(room_id), Some(move_in)) if e.is_empty() => Ok(CheckIn {
                name,
                doc,
                phone,
                room_id,
                move_in,
                move_out_expected,
                employer: (!employer.is_empty()).then(|| employer.to_string()),
            }),
            _ => Err(e),
        }
    }
}

/// pending → active → checked_out, or pending → rejected | lapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum StayStatus {
    Pending,
    Active,
    CheckedOut,
    Rejected,
    Lapsed,
}

impl StayStatus {
    pub const ALL: [StayStatus; 5] = [
        StayStatus::Pending,
        StayStatus::Active,
        StayStatus::CheckedOut,
        StayStatus::Rejected,
        StayStatus::Lapsed,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            StayStatus::Pending => "pending",
            StayStatus::Active => "active",
            StayStatus::CheckedOut => "checked_out",
            StayStatus::Rejected => "rejected",
            StayStatus::Lapsed => "lapsed",
        }
    }
    pub fn parse(s: &str) -> Option<StayStatus> {
        StayStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            StayStatus::Pending => lang.t("待房东确认", "Waiting for the landlord"),
            StayStatus::Active => lang.t("在住", "Checked in"),
            StayStatus::CheckedOut => lang.t("已退租", "Checked out"),
            StayStatus::Rejected => lang.t("房东未确认", "Declined by the landlord"),
            StayStatus::Lapsed => lang.t("已过期未确认", "Lapsed unconfirmed"),
        }
    }
    pub fn badge(self) -> &'static str {
        match self {
            StayStatus::Pending => "yellow",
            StayStatus::Active => "green",
            _ => "grey",
        }
    }
    /// Open stays count against the caps and hold the person's one open stay.
    pub fn is_open(self) -> bool {
        matches!(self, StayStatus::Pending | StayStatus::Active)
    }
}

/// A check-out code: 10 characters without look-alikes (0/O, 1/I/L), about 50 bits.
/// A century: longer than any register is kept, and far inside the calendar's range.
pub const MAX_RETENTION_MONTHS: u32 = 1200;

/// Stays that ended before this instant have their personal fields wiped. `None` when `months`
/// is zero, above [`MAX_RETENTION_MONTHS`] or beyond the calendar: never "now", which would wipe all.
pub fn retention_cutoff(
    now: chrono::DateTime<chrono::Utc>,
    months: u32,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if months == 0 || months > MAX_RETENTION_MONTHS {
        return None;
    }
    now.checked_sub_months(chrono::Months::new(months))
}

pub fn new_checkout_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Codes are read off a phone screen and typed again: forgive case and spaces.
pub fn normalise_checkout_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_the_chosen_language() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 7).unwrap();
        assert_eq!(Lang::Zh.date(&d), "2026年11月07日");
        assert_eq!(Lang::En.date(&d), "7 Nov 2026");
    }

    fn raw() -> RawCheckIn {
        RawCheckIn {
            name: "张三".into(),
            doc_type: "resident_id".into(),
            doc_number: "11010519491231002X".into(),
            phone: "13812345678".into(),
            room_id: "7".into(),
            move_in: "2026-11-20".into(),
            consent: true,
            ..Default::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn a_complete_form_parses() {
        let c = raw().parse(today(), Lang::Zh, true).unwrap();
        assert_eq!(c.doc.as_str(), "11010519491231002X");
        assert_eq!(c.room_id, 7);
        assert_eq!(c.employer, None);
    }

    #[test]
    fn move_in_more_than_thirty_days_ago_or_seven_ahead_is_refused_in_the_chosen_language() {
        let mut r = raw();
        r.move_in = "2026-10-27".into();
        let e = r.parse(today(), Lang::En, true).unwrap_err();
        assert!(e.get("move_in").unwrap().contains("30 days"));
        r.move_in = "2026-12-05".into();
        let e = r.parse(today(), Lang::Zh, true).unwrap_err();
        assert!(e.get("move_in").unwrap().contains("7天"));
        r.move_in = "2026-12-04".into();
        assert!(r.parse(today(), Lang::Zh, true).is_ok());
    }

    #[test]
    fn consent_is_required_on_the_form() {
        let mut r = raw();
        r.consent = false;
        assert!(r.parse(today(), Lang::Zh, true).unwrap_err().has("consent"));
        assert!(r.parse(today(), Lang::Zh, false).is_ok());
    }

    #[test]
    fn the_debug_form_of_a_raw_check_in_shows_no_name_number_or_phone() {
        let mut r = raw();
        r.employer = "花街镇电子厂".into();
        let d = format!("{r:?}");
        for secret in ["张三", "11010519491231002X", "13812345678", "花街镇电子厂"] {
            assert!(!d.contains(secret), "{d}");
        }
        assert!(d.contains("resident_id"));
    }

    #[test]
    fn a_nul_in_the_name_or_employer_is_a_field_error() {
        let mut r = raw();
        r.name = "张\u{0}三".into();
        r.employer = "厂\u{0}".into();
        let e = r.parse(today(), Lang::Zh, true).unwrap_err();
        assert_eq!(e.get("name"), Some(CONTROL_CHARACTER));
        assert_eq!(e.get("employer"), Some(CONTROL_CHARACTER));
    }

    #[test]
    fn retention_cutoffs_never_fall_back_to_now() {
        let now = chrono::Utc::now();
        assert!(retention_cutoff(now, 6).is_some_and(|c| c < now));
        assert_eq!(retention_cutoff(now, 0), None);
        assert_eq!(retention_cutoff(now, u32::MAX), None);
        assert_eq!(retention_cutoff(now, MAX_RETENTION_MONTHS + 1), None);
    }

    #[test]
    fn checkout_codes_are_ten_unambiguous_characters() {
        let c = new_checkout_code();
        assert_eq!(c.len(), 10);
        assert!(!c.contains('0') && !c.contains('O') && !c.contains('I'));
        assert_eq!(normalise_checkout_code(" ab-cd "), "ABCD");
    }
}
