//! Residence proofs (居住证明): issued for a stay by its landlord, the village's official or the
//! tenant with the check-out code; rendered on demand; verified by anyone holding the QR's
//! signature; revoked when retention wipes the stay they rest on.
use chrono::{DateTime, Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use serde::Serialize;

use super::{Actor, audit};
use crate::AppState;
use crate::documents::proof::ProofData;
use crate::domain::clock::town_date;
use crate::domain::dates::zh_date;
use crate::domain::identity::DocType;
use crate::domain::proof::{
    ProofFacts, ProofIssuer, ProofRefusal, is_proof_number, mask_name, new_proof_number,
    proof_period,
};
use crate::domain::role::Role;
use crate::domain::stay::StayStatus;
use crate::entities::{property, residence_proof, stay, town, village};
use crate::error::AppError;

/// Who asks for a proof: a signed-in user (the record decides), or whoever holds the stay's
/// check-out code.
pub enum Requester<'a> {
    User(&'a Actor),
    CheckoutCode(&'a str),
}

/// What `POST /stays/{id}/proof` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedProof {
    pub number: String,
    /// The PDF; the link itself is the key, so give it only to the person the proof is for.
    pub pdf_url: String,
    /// What the QR on the PDF opens.
    pub verify_url: String,
    #[serde(skip)]
    pub pdf_path: String,
}

/// The secret part of a proof's PDF link: keyed, so the QR's signature (which strangers see
/// when they scan the paper) does not also open the PDF with the full name.
fn pdf_key(st: &AppState, number: &str) -> String {
    st.pii.lookup_hash("residence_proof_pdf", number)[..32].to_string()
}

fn pdf_path(st: &AppState, number: &str) -> String {
    format!("/proofs/{number}/proof.pdf?key={}", pdf_key(st, number))
}

fn verify_url(st: &AppState, number: &str, sig: &str) -> String {
    format!(
        "{}/verify-proof/{number}?sig={sig}",
        st.config.public_url.trim_end_matches('/')
    )
}

/// The issuer a requester may act as for this house, or why not.
fn issuer_of(
    st: &AppState,
    who: &Requester<'_>,
    s: &stay::Model,
    house: &property::Model,
    village_name: &str,
) -> Result<(ProofIssuer, Option<i32>, String), AppError> {
    match who {
        Requester::CheckoutCode(code) => {
            let given = super::stays::code_hash(&st.pii, code);
            let same: bool =
                subtle::ConstantTimeEq::ct_eq(given.as_bytes(), s.checkout_code_hash.as_bytes())
                    .into();
            if !same {
                return Err(wrong_code());
            }
            let label = ProofIssuer::Tenant.label_zh().to_string();
            Ok((ProofIssuer::Tenant, None, label))
        }
        Requester::User(a) if a.role == Role::Landlord && house.landlord_id == a.id => {
            let label = format!("{} {}", ProofIssuer::Landlord.label_zh(), a.name);
            Ok((ProofIssuer::Landlord, Some(a.id), label))
        }
        Requester::User(a)
            if a.role == Role::VillageOfficial && a.village_id == Some(house.village_id) =>
        {
            let label = format!("{village_name}村委会（经办人 {}）", a.name).replacen(
                "村村委会",
                "村委会",
                1,
            );
            Ok((ProofIssuer::Official, Some(a.id), label))
        }
        Requester::User(_) => Err(AppError::Forbidden(
            "只有该房屋的房东、所在村的村干部或持退租码的居住人本人可以开具居住证明".into(),
        )),
    }
}

/// Whether the residents' register offers "开具居住证明" to this staff member: a village official
/// (whose register holds only their village); the town admin does not issue proofs.
pub fn register_offers_proofs(actor: &Actor) -> bool {
    actor.role == Role::VillageOfficial
}

fn wrong_code() -> AppError {
    AppError::field("checkout_code", "登记编号或退租码不正确")
}

/// Issues a proof for stay `stay_id`: checks who asks, that the stay was lived in, signs the
/// masked facts and records the issue in the audit log, all in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(stay_id = stay_id))]
pub async fn issue(
    st: &AppState,
    who: Requester<'_>,
    stay_id: i32,
) -> Result<IssuedProof, AppError> {
    let now = st.config.clock.now();
    super::signatures::refresh_before_signing(&st.keyring).await?;
    let tx = crate::db::begin_write(&st.db).await?;
    let unknown = || match who {
        Requester::CheckoutCode(_) => wrong_code(),
        Requester::User(_) => AppError::not_found(),
    };
    let s = stay::Entity::find_by_id(stay_id)
        .one(&tx)
        .await?
        .ok_or_else(unknown)?;
    let house = property::Entity::find_by_id(s.property_id)
        .one(&tx)
        .await?
        .ok_or_else(unknown)?;
    let v = village::Entity::find_by_id(house.village_id)
        .one(&tx)
        .await?
        .ok_or_else(AppError::not_found)?;
    let (issuer, issued_by, issuer_label) = issuer_of(st, &who, &s, &house, &v.name)?;
    let refuse = |r: ProofRefusal| AppError::Conflict(r.to_string());
    let (Some(name), Some(doc_masked)) = (s.name.as_deref(), s.doc_masked.clone()) else {
        return Err(refuse(ProofRefusal::Wiped));
    };
    let status = StayStatus::parse(&s.status).ok_or_else(|| AppError::internal("bad status"))?;
    let (from, to, days) =
        proof_period(status, s.move_in, s.ended_at.map(town_date), town_date(now))
            .map_err(refuse)?;
    let facts = ProofFacts {
        number: new_proof_number(town_date(now).year()),
        name_masked: mask_name(name),
        doc_masked,
        village: v.name.clone(),
        address: house.address.clone(),
        from,
        to,
        days,
    };
    let sig = super::signatures::sign_current(&st.keyring, &facts.canonical_message())?;
    let row = residence_proof::ActiveModel {
        number: Set(facts.number.clone()),
        stay_id: Set(s.id),
        property_id: Set(house.id),
        village_id: Set(house.village_id),
        issuer: Set(issuer.as_str().into()),
        issued_by: Set(issued_by),
        issuer_label: Set(issuer_label),
        name_masked: Set(Some(facts.name_masked.clone())),
        doc_masked: Set(Some(facts.doc_masked.clone())),
        village: Set(facts.village.clone()),
        address: Set(facts.address.clone()),
        period_from: Set(from),
        period_to: Set(to),
        days: Set(i32::try_from(days).unwrap_or(i32::MAX)),
        sig: Set(sig.clone()),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    audit::record(
        &tx,
        issued_by,
        "proof.issue",
        "residence_proof",
        &row.number,
        serde_json::json!({"stay_id": s.id, "issuer": issuer.as_str(), "days": days}),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedProof {
        pdf_url: format!(
            "{}{}",
            st.config.public_url.trim_end_matches('/'),
            pdf_path(st, &row.number)
        ),
        pdf_path: pdf_path(st, &row.number),
        verify_url: verify_url(st, &row.number, &sig),
        number: row.number,
    })
}

fn facts_of(p: &residence_proof::Model) -> Option<ProofFacts> {
    Some(ProofFacts {
        number: p.number.clone(),
        name_masked: p.name_masked.clone()?,
        doc_masked: p.doc_masked.clone()?,
        village: p.village.clone(),
        address: p.address.clone(),
        from: p.period_from,
        to: p.period_to,
        days: u32::try_from(p.days).ok()?,
    })
}

async fn find(st: &AppState, number: &str) -> Result<Option<residence_proof::Model>, AppError> {
    let number = number.trim();
    if !is_proof_number(number) {
        return Ok(None);
    }
    Ok(residence_proof::Entity::find()
        .filter(residence_proof::Column::Number.eq(number))
        .one(&st.db)
        .await?)
}

/// The PDF of a proof, for whoever holds its link. A revoked proof is not printed again.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pdf(st: &crate::AppRef, number: &str, key: &str) -> Result<Vec<u8>, AppError> {
    let p = find(st, number).await?.ok_or_else(AppError::not_found)?;
    let good: bool =
        subtle::ConstantTimeEq::ct_eq(key.as_bytes(), pdf_key(st, &p.number).as_bytes()).into();
    if !good {
        return Err(AppError::not_found());
    }
    let facts = match (p.revoked_at, facts_of(&p)) {
        (None, Some(f)) => f,
        _ => return Err(AppError::Conflict("该居住证明已失效".into())),
    };
    let s = stay::Entity::find_by_id(p.stay_id)
        .one(&st.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let v = village::Entity::find_by_id(p.village_id)
        .one(&st.db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let town_name = town::Entity::find_by_id(v.town_id)
        .one(&st.db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let data = ProofData {
        qr_url: verify_url(st, &p.number, &p.sig),
        number: facts.number,
        name: s.name.unwrap_or_default(),
        doc_type_label: DocType::parse(&s.doc_type)
            .map_or("证件", |t| t.label_zh())
            .to_string(),
        doc_masked: facts.doc_masked,
        address: facts.address,
        village_name: facts.village,
        town_name,
        from: facts.from,
        to: facts.to,
        days: facts.days,
        issuer_label: p.issuer_label,
        issued_on: town_date(p.created_at),
    };
    let st = st.clone();
    rocket::tokio::task::spawn_blocking(move || st.certificates.render_proof(&data))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::Conflict(format!("居住证明无法生成：{e}")))
}

/// What `GET /verify-proof/{number}` and its page show: authenticity and the masked facts,
/// and nothing at all about a proof whose signature does not match.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProofVerification {
    pub authentic: bool,
    /// True when the stay the proof rests on was deleted by retention.
    pub revoked: bool,
    pub number: String,
    pub name_masked: Option<String>,
    pub doc_masked: Option<String>,
    pub village: Option<String>,
    pub address: Option<String>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub days: Option<u32>,
    pub issued_on: Option<chrono::NaiveDate>,
    #[serde(skip)]
    pub from_zh: String,
    #[serde(skip)]
    pub to_zh: String,
    #[serde(skip)]
    pub issued_zh: String,
    #[serde(skip)]
    pub issuer_label: String,
}

/// Verifies a proof number and QR signature.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify(st: &AppState, number: &str, sig: &str) -> Result<ProofVerification, AppError> {
    let found = find(st, number).await?;
    let mut v = ProofVerification {
        authentic: false,
        revoked: false,
        number: number.trim().chars().take(40).collect(),
        name_masked: None,
        doc_masked: None,
        village: None,
        address: None,
        from: None,
        to: None,
        days: None,
        issued_on: None,
        from_zh: String::new(),
        to_zh: String::new(),
        issued_zh: String::new(),
        issuer_label: String::new(),
    };
    let Some(p) = found else { return Ok(v) };
    v.revoked = p.revoked_at.is_some();
    let Some(facts) = facts_of(&p) else {
        return Ok(v);
    };
    let genuine =
        super::signatures::verify_signed(&st.keyring, &facts.canonical_message(), sig.trim())
            .await?;
    if !genuine || v.revoked {
        return Ok(v);
    }
    let issued = town_date(p.created_at);
    Ok(ProofVerification {
        authentic: true,
        revoked: false,
        number: facts.number,
        from_zh: zh_date(&facts.from),
        to_zh: zh_date(&facts.to),
        issued_zh: zh_date(&issued),
        issued_on: Some(issued),
        issuer_label: p.issuer_label,
        name_masked: Some(facts.name_masked),
        doc_masked: Some(facts.doc_masked),
        village: Some(facts.village),
        address: Some(facts.address),
        from: Some(facts.from),
        to: Some(facts.to),
        days: Some(facts.days),
    })
}

/// Inside the retention wipe's transaction: proofs resting on the stays about to be wiped are
/// revoked and lose the person's masked facts. Returns how many.
pub async fn revoke_for_retention<C: ConnectionTrait>(
    tx: &C,
    wiped_stays: sea_orm::Select<stay::Entity>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let ids = wiped_stays
        .select_only()
        .column(stay::Column::Id)
        .into_query();
    let none = || Option::<String>::None;
    let r = residence_proof::Entity::update_many()
        .col_expr(residence_proof::Column::RevokedAt, Some(now).into())
        .col_expr(residence_proof::Column::NameMasked, none().into())
        .col_expr(residence_proof::Column::DocMasked, none().into())
        .filter(residence_proof::Column::RevokedAt.is_null())
        .filter(residence_proof::Column::StayId.in_subquery(ids))
        .exec(tx)
        .await?;
    Ok(r.rows_affected)
}
