//! Public verification of a scanned or typed permit: is the QR signature ours over this
//! permit's fields, and what is its live status. No personal data leaves this module.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::NaiveDate;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use serde::Serialize;

use super::changes;
use crate::AppState;
use crate::crypto::signing::PermitSigningFields;
use crate::domain::dates::zh_date;
use crate::domain::grade::Grade;
use crate::domain::permit::PermitStatus;
use crate::domain::permit_number::parse_permit_number;
use crate::error::AppError;

/// What the verification page and `GET /verify/{number}` show.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub authentic: bool,
    /// `None` when no permit has this number.
    #[schema(value_type = Option<crate::domain::permit::PermitStatus>)]
    pub status: Option<&'static str>,
    #[serde(skip)]
    pub status_label: &'static str,
    #[serde(skip)]
    pub badge: &'static str,
    pub valid_until: Option<NaiveDate>,
    #[serde(skip)]
    pub valid_from_zh: String,
    #[serde(skip)]
    pub valid_until_zh: String,
    pub max_occupants: Option<i32>,
    pub occupants: Option<i64>,
    #[schema(value_type = Option<crate::domain::grade::Grade>)]
    pub grade: Option<String>,
    #[serde(skip)]
    pub grade_label: &'static str,
    pub village: Option<String>,
    /// The house's road without its number, only with a good signature: a QR copied from
    /// another house then names that other street. Page only: the API's fields are fixed.
    #[serde(skip)]
    pub road: Option<String>,
    #[serde(skip)]
    pub number: String,
    /// A signed, live permit: the page offers check-in (the permit rule `admits_check_ins`).
    #[serde(skip)]
    pub admits_check_in: bool,
}

/// Signatures already found good. A permit's signed fields never change and keys are only ever
/// added, so a good signature stays good; bad ones are not remembered (a reload may admit them).
#[derive(Default)]
pub struct SigCache(Mutex<HashMap<String, ()>>);

const SIG_CACHE_MAX: usize = 50_000;

impl SigCache {
    fn key(fields: &PermitSigningFields, sig: &str) -> String {
        format!("{}|{sig}", fields.canonical_message())
    }

    fn contains(&self, key: &str) -> bool {
        self.0.lock().map(|m| m.contains_key(key)).unwrap_or(false)
    }

    fn insert(&self, key: String) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= SIG_CACHE_MAX {
                m.clear();
            }
            m.insert(key, ());
        }
    }
}

/// The live facts of permits as last read, by number. A reading stands until a change of its
/// permit (its status, or a stay counted on it) is announced on any instance — see
/// `services::changes` — so a busy verification page asks the database once per change.
#[derive(Default)]
pub struct StatusCache(RwLock<HashMap<String, (Instant, Arc<Row>)>>);

const STATUS_CACHE_MAX: usize = 50_000;

impl StatusCache {
    fn get(&self, number: &str) -> Option<(Instant, Arc<Row>)> {
        let m = self.0.read().ok()?;
        let (at, row) = m.get(number)?;
        changes::is_fresh(row.permit_id, *at).then(|| (*at, row.clone()))
    }

    fn put(&self, at: Instant, row: Arc<Row>) {
        if let Ok(mut m) = self.0.write() {
            if m.len() >= STATUS_CACHE_MAX {
                m.clear();
            }
            m.insert(row.number.clone(), (at, row));
        }
    }
}

/// Everything the page needs, in one round trip.
#[derive(FromQueryResult)]
pub struct Row {
    permit_id: i32,
    number: String,
    status: String,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    max_occupants: i32,
    grade: String,
    village: String,
    address: String,
    occupants: i64,
}

const SQL: &str = "SELECT p.id AS permit_id, p.number, p.status, p.valid_from, p.valid_until, p.max_occupants, p.grade, \
     v.name AS village, h.address, \
     (SELECT COUNT(*) FROM stays s WHERE s.permit_id = p.id AND s.status = 'active') AS occupants \
     FROM permits p JOIN villages v ON v.id = p.village_id JOIN properties h ON h.id = p.property_id \
     WHERE p.number = ";

/// The row and when it was read (a reading is stale once a change of its permit follows it).
async fn row(st: &AppState, number: &str) -> Result<Option<(Instant, Arc<Row>)>, AppError> {
    if let Some(r) = st.verify_cache.get(number) {
        return Ok(Some(r));
    }
    // Taken before the read: a change announced while it runs makes this reading stale.
    let at = Instant::now();
    let backend = st.db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let found = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
        format!("{SQL}{placeholder}"),
        [number.into()],
    ))
    .one(&st.db)
    .await?;
    Ok(found.map(|r| {
        let r = Arc::new(r);
        st.verify_cache.put(at, r.clone());
        (at, r)
    }))
}

/// Verifies a permit. A number that matches no permit reads as not authentic.
pub async fn verify(st: &AppState, number: &str, sig: &str) -> Result<Verification, AppError> {
    Ok(verify_read(st, number, sig).await?.0)
}

/// The verification and the reading it rests on (`None` for an unknown number).
async fn verify_read(
    st: &AppState,
    number: &str,
    sig: &str,
) -> Result<(Verification, Option<(i32, Instant)>), AppError> {
    let found = match parse_permit_number(number) {
        Some(parts) => row(st, &parts.to_string()).await?,
        None => None,
    };
    let Some((read_at, p)) = found else {
        let v = Verification {
            authentic: false,
            status: None,
            status_label: "查无此证",
            badge: "red",
            valid_until: None,
            valid_from_zh: String::new(),
            valid_until_zh: String::new(),
            max_occupants: None,
            occupants: None,
            grade: None,
            grade_label: "",
            village: None,
            road: None,
            number: number.trim().chars().take(40).collect(),
            admits_check_in: false,
        };
        return Ok((v, None));
    };
    let fields = PermitSigningFields {
        number: p.number.clone(),
        valid_until: p.valid_until,
        max_occupants: u32::try_from(p.max_occupants).unwrap_or(0),
    };
    let authentic = verify_signature(st, &fields, sig).await?;
    let s = PermitStatus::parse(&p.status)
        .unwrap_or(PermitStatus::Revoked)
        .effective(p.valid_until, st.config.clock.today());
    let g = Grade::parse(&p.grade).unwrap_or(Grade::Green);
    // Without our signature anyone can type a number: say whether it is valid and where, but
    // not how many live there (an empty house is a burglar's target) nor its risk grade.
    let (max_occupants, occupants, grade, grade_label) = if authentic {
        (
            Some(p.max_occupants),
            Some(p.occupants),
            Some(g.as_str().to_string()),
            g.label_zh(),
        )
    } else {
        (None, None, None, "")
    };
    let v = Verification {
        authentic,
        status: Some(s.as_str()),
        status_label: s.label_zh(),
        badge: s.badge(),
        valid_until: Some(p.valid_until),
        valid_from_zh: zh_date(&p.valid_from),
        valid_until_zh: zh_date(&p.valid_until),
        max_occupants,
        occupants,
        grade,
        grade_label,
        village: Some(p.village.clone()),
        road: authentic
            .then(|| crate::domain::property::road_of(&p.address))
            .flatten(),
        number: p.number.clone(),
        admits_check_in: authentic && s.admits_check_ins(),
    };
    Ok((v, Some((p.permit_id, read_at))))
}

/// Verification pages as rendered, by the number and signature in the URL: a busy page (a
/// house's tenants scanning, a crawler) is then a look-up. A page stands while the reading it
/// was made from does and the town's day has not turned (a permit lapses at midnight). Only pages
/// of a known permit with a good signature or none are kept, so made-up signatures cannot crowd
/// the cache.
#[derive(Default)]
pub struct PageCache(RwLock<HashMap<String, HashMap<String, Rendered>>>);

struct Rendered {
    permit_id: i32,
    read_at: Instant,
    day: NaiveDate,
    html: Arc<str>,
}

/// Permits with pages kept: about 1.2 KB per page and at most two pages each (signed, unsigned),
/// so about 12 MB when full; a full cache starts again empty.
const PAGE_CACHE_MAX: usize = 5_000;

impl PageCache {
    fn get(&self, number: &str, sig: &str, today: NaiveDate) -> Option<Arc<str>> {
        let m = self.0.read().ok()?;
        let r = m.get(number)?.get(sig)?;
        (r.day == today && changes::is_fresh(r.permit_id, r.read_at)).then(|| r.html.clone())
    }

    fn put(&self, number: &str, sig: &str, page: Rendered) {
        if let Ok(mut m) = self.0.write() {
            if m.len() >= PAGE_CACHE_MAX {
                m.clear();
            }
            let sigs = m.entry(number.to_string()).or_default();
            // A permit has one good signature per key; more means keys were rotated.
            if sigs.len() >= 8 {
                sigs.clear();
            }
            sigs.insert(sig.to_string(), page);
        }
    }
}

/// The verification page for a URL's number and signature, rendered by `render` only when no
/// rendering of it still stands.
pub async fn verification_page(
    st: &AppState,
    number: &str,
    sig: &str,
    render: impl FnOnce(Verification) -> Result<String, AppError>,
) -> Result<Arc<str>, AppError> {
    let today = st.config.clock.today();
    if let Some(html) = st.page_cache.get(number, sig, today) {
        return Ok(html);
    }
    let (v, read) = verify_read(st, number, sig).await?;
    let keep = v.authentic || sig.is_empty();
    let html: Arc<str> = render(v)?.into();
    if let (Some((permit_id, read_at)), true) = (read, keep) {
        let page = Rendered {
            permit_id,
            read_at,
            day: today,
            html: html.clone(),
        };
        st.page_cache.put(number, sig, page);
    }
    Ok(html)
}

/// Checks a QR token through the shared check (which follows key rotations made elsewhere),
/// remembering good ones.
pub async fn verify_signature(
    st: &AppState,
    fields: &PermitSigningFields,
    sig: &str,
) -> Result<bool, AppError> {
    let cache_key = SigCache::key(fields, sig);
    if st.sig_cache.contains(&cache_key) {
        return Ok(true);
    }
    let ok = super::signatures::verify_qr(&st.keyring, fields, sig).await?;
    if ok {
        st.sig_cache.insert(cache_key);
    }
    Ok(ok)
}
