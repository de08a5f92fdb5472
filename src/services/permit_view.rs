//! Reading permits: the permit page and API view, lists, the officials' approval queue with
//! inspection results, and the public verification answer (no personal data).
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, LoaderTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde::Serialize;

use super::Actor;
use crate::AppState;
use crate::domain::application::ApplicationStatus;
use crate::domain::checklist::Outcome;
use crate::domain::dates::{zh_date, zh_datetime};
use crate::domain::grade::Grade;
use crate::domain::permit::PermitStatus;
use crate::domain::permit_number::parse_permit_number;
use crate::domain::role::Role;
use crate::entities::{application, finding, inspection, permit, property, village};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PermitView {
    pub number: String,
    #[schema(value_type = crate::domain::permit::PermitStatus)]
    pub status: &'static str,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub status_reason: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub valid_from_zh: String,
    pub valid_until_zh: String,
    pub max_occupants: i32,
    pub official_cap: Option<i32>,
    #[schema(value_type = crate::domain::grade::Grade)]
    pub grade: String,
    pub grade_label: &'static str,
    pub qr_url: String,
    pub village_id: i32,
    pub village: String,
    pub property_id: i32,
    pub address: String,
    pub application_id: i32,
    pub issued_zh: String,
    pub renewed_by_application_id: Option<i32>,
}

/// Who may read a permit: its landlord, the official of its village, the admin and API clients.
pub fn may_read(actor: &Actor, p: &permit::Model) -> bool {
    match actor.role {
        Role::TownAdmin | Role::ApiClient => true,
        Role::VillageOfficial => actor.village_id == Some(p.village_id),
        Role::Landlord => p.landlord_id == actor.id,
        Role::Inspector => false,
    }
}

/// The URL a certificate's QR code opens.
pub fn qr_url(public_url: &str, p: &permit::Model) -> String {
    format!("{public_url}/p/{}?sig={}", p.number, p.signature)
}

/// The status as of `today` (town time): an active permit past its date reads as expired.
pub fn status_of(p: &permit::Model, today: NaiveDate) -> PermitStatus {
    PermitStatus::parse(&p.status)
        .unwrap_or(PermitStatus::Revoked)
        .effective(p.valid_until, today)
}

fn grade_of(p: &permit::Model) -> Grade {
    Grade::parse(&p.grade).unwrap_or(Grade::Green)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn view_of<C: ConnectionTrait>(
    db: &C,
    public_url: &str,
    p: permit::Model,
    today: NaiveDate,
) -> Result<PermitView, AppError> {
    let mut views = views_of(db, public_url, vec![p], today).await?;
    views.pop().ok_or_else(AppError::not_found)
}

/// Views of many permits in two queries (villages, houses), whatever their number.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn views_of<C: ConnectionTrait>(
    db: &C,
    public_url: &str,
    permits: Vec<permit::Model>,
    today: NaiveDate,
) -> Result<Vec<PermitView>, AppError> {
    if permits.is_empty() {
        return Ok(Vec::new());
    }
    let villages = permits.load_one(village::Entity, db).await?;
    let houses = permits.load_one(property::Entity, db).await?;
    Ok(permits
        .into_iter()
        .zip(villages)
        .zip(houses)
        .map(|((p, v), h)| assemble(public_url, p, v, h, today))
        .collect())
}

fn assemble(
    public_url: &str,
    p: permit::Model,
    village: Option<village::Model>,
    house: Option<property::Model>,
    today: NaiveDate,
) -> PermitView {
    let s = status_of(&p, today);
    let g = grade_of(&p);
    PermitView {
        qr_url: qr_url(public_url, &p),
        status: s.as_str(),
        status_label: s.label_zh(),
        badge: s.badge(),
        status_reason: p.status_reason,
        valid_from_zh: zh_date(&p.valid_from),
        valid_until_zh: zh_date(&p.valid_until),
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        max_occupants: p.max_occupants,
        official_cap: p.official_cap,
        grade: p.grade,
        grade_label: g.label_zh(),
        village_id: p.village_id,
        village: village.map(|v| v.name).unwrap_or_default(),
        property_id: p.property_id,
        address: house.map(|h| h.address).unwrap_or_default(),
        application_id: p.application_id,
        issued_zh: zh_datetime(&p.issued_at),
        renewed_by_application_id: p.renewed_by_application_id,
        number: p.number,
    }
}

/// Finds a permit by number as typed (lower case and spaces forgiven).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn find<C: ConnectionTrait>(db: &C, number: &str) -> Result<permit::Model, AppError> {
    let canonical = parse_permit_number(number)
        .ok_or_else(|| AppError::NotFound("准入证编号格式不正确".into()))?
        .to_string();
    permit::Entity::find()
        .filter(permit::Column::Number.eq(canonical))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("准入证不存在".into()))
}

/// A permit the actor may read, or 404/403.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn readable(
    db: &DatabaseConnection,
    actor: &Actor,
    number: &str,
) -> Result<permit::Model, AppError> {
    let p = find(db, number).await?;
    if !may_read(actor, &p) {
        return Err(AppError::forbidden());
    }
    Ok(p)
}

#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn get(st: &AppState, actor: &Actor, number: &str) -> Result<PermitView, AppError> {
    let p = readable(&st.db, actor, number).await?;
    view_of(&st.db, &st.config.public_url, p, st.config.clock.today()).await
}

/// The actor's permits, newest first: a landlord's own, an official's village's, all for the admin.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn list(
    st: &AppState,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<PermitView>, u64), AppError> {
    let (permits, total) = super::scoped_page(
        &st.db,
        permit::Entity::find().order_by_desc(permit::Column::Id),
        actor,
        permit::Column::LandlordId,
        permit::Column::VillageId,
        page,
        per_page,
    )
    .await?;
    Ok((
        views_of(
            &st.db,
            &st.config.public_url,
            permits,
            st.config.clock.today(),
        )
        .await?,
        total,
    ))
}

/// The permit issued for an application, if any.
#[tracing::instrument(level = "debug", skip_all, fields(application_id = application_id))]
pub async fn of_application<C: ConnectionTrait>(
    db: &C,
    application_id: i32,
) -> Result<Option<permit::Model>, AppError> {
    Ok(permit::Entity::find()
        .filter(permit::Column::ApplicationId.eq(application_id))
        .one(db)
        .await?)
}

/// The official's queue: passed applications of their village, the longest waiting first.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn approval_queue(
    db: &DatabaseConnection,
    actor: &Actor,
    page: u64,
    per_page: u64,
) -> Result<(Vec<super::applications::ApplicationRow>, u64), AppError> {
    let Some(village_id) = actor
        .village_id
        .filter(|_| actor.role == Role::VillageOfficial)
    else {
        return Err(AppError::forbidden());
    };
    let pager = application::Entity::find()
        .filter(application::Column::VillageId.eq(village_id))
        .filter(application::Column::Status.eq(ApplicationStatus::Passed.as_str()))
        .order_by_asc(application::Column::UpdatedAt)
        .order_by_asc(application::Column::Id)
        .paginate(db, per_page);
    let total = pager.num_items().await?;
    let apps = pager.fetch_page(page).await?;
    let houses = apps.load_one(property::Entity, db).await?;
    let rows = apps
        .into_iter()
        .zip(houses)
        .map(|(a, h)| super::applications::ApplicationRow {
            id: a.id,
            status_label: ApplicationStatus::Passed.label_zh(),
            badge: ApplicationStatus::Passed.badge(),
            status: a.status,
            property_id: a.property_id,
            address: h.map(|h| h.address).unwrap_or_default(),
            updated_zh: zh_datetime(&a.updated_at),
            updated_at: a.updated_at,
        })
        .collect();
    Ok((rows, total))
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingLine {
    pub item_key: String,
    /// The item's label in the checklist version the inspection was made with.
    pub label: String,
    pub severity: String,
    pub severity_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub note: Option<String>,
    pub photo_ids: Vec<String>,
    pub fix_note: Option<String>,
    pub fix_photo_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectionLine {
    pub id: i32,
    pub at_zh: String,
    pub outcome: String,
    pub outcome_label: &'static str,
    pub grade_label: &'static str,
    pub checklist: String,
    pub findings: Vec<FindingLine>,
}

fn photo_list(json: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(json).unwrap_or_default()
}

/// The inspections made for an application, oldest first, with their findings and photos.
#[tracing::instrument(level = "debug", skip_all, fields(application_id = application_id))]
pub async fn inspections_of<C: ConnectionTrait>(
    db: &C,
    reg: &crate::domain::checklist::ChecklistRegistry,
    application_id: i32,
) -> Result<Vec<InspectionLine>, AppError> {
    let mut out = Vec::new();
    for i in inspection::Entity::find()
        .filter(inspection::Column::ApplicationId.eq(application_id))
        .order_by_asc(inspection::Column::Id)
        .all(db)
        .await?
    {
        let c = reg.get(&i.checklist_key, i.checklist_version as u32);
        let findings = finding::Entity::find()
            .filter(finding::Column::InspectionId.eq(i.id))
            .order_by_asc(finding::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|f| FindingLine {
                photo_ids: photo_list(&f.photo_ids),
                fix_photo_ids: f
                    .fix_photo_ids
                    .as_deref()
                    .map(photo_list)
                    .unwrap_or_default(),
                label: c
                    .and_then(|c| c.item(&f.item_key))
                    .map(|i| i.label_zh.clone())
                    .unwrap_or_else(|| f.item_key.clone()),
                severity_label: crate::domain::checklist::Severity::parse(&f.severity)
                    .map(|s| s.label_zh())
                    .unwrap_or(""),
                status_label: crate::domain::inspection::finding_status::label_zh(&f.status),
                item_key: f.item_key,
                severity: f.severity,
                status: f.status,
                note: f.note,
                fix_note: f.fix_note,
            })
            .collect();
        out.push(InspectionLine {
            id: i.id,
            at_zh: zh_datetime(&i.created_at),
            outcome_label: if i.outcome == Outcome::Passed.as_str() {
                "通过"
            } else {
                "未通过"
            },
            grade_label: Grade::parse(&i.grade).map(|g| g.label_zh()).unwrap_or("—"),
            checklist: format!(
                "{} 第 {} 版",
                c.map(|c| c.title_zh.as_str()).unwrap_or(&i.checklist_key),
                i.checklist_version
            ),
            outcome: i.outcome,
            findings,
        });
    }
    Ok(out)
}
