//! The printable certificate of a permit: gathering its data, checking it can be printed
//! (before approval too), rendering the PDF off the async threads.
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::Actor;
use crate::AppState;
use crate::documents::certificate::{
    CertificateData, CertificateRenderer, CertificateRoom, DocumentError, GradeColour,
};
use crate::domain::grade::Grade;
use crate::domain::occupancy::{OccupancyRule, RoomKind, room_capacity};
use crate::entities::{permit, property, room, town, user, village};
use crate::error::AppError;

/// The parts of a permit's certificate that come from other records.
pub struct CertificateSources<'a> {
    pub property: &'a property::Model,
    pub rooms: &'a [room::Model],
    pub landlord_name: &'a str,
    pub village_name: &'a str,
    pub town_name: &'a str,
    pub contact_phone: &'a str,
}

fn grade_colour(g: &str) -> GradeColour {
    match Grade::parse(g) {
        Some(Grade::Yellow) => GradeColour::Yellow,
        Some(Grade::Red) => GradeColour::Red,
        _ => GradeColour::Green,
    }
}

/// What the certificate prints. Only rooms that may be let are listed, with their capacity.
pub fn data_of(
    p: &permit::Model,
    src: &CertificateSources<'_>,
    rule: &OccupancyRule,
    public_url: &str,
) -> CertificateData {
    let rooms = src
        .rooms
        .iter()
        .filter_map(|r| {
            let kind = RoomKind::parse(&r.kind)?;
            let cap = room_capacity(rule, kind, r.area_m2);
            (cap > 0).then(|| CertificateRoom {
                label: r.label.clone(),
                area_m2: r.area_m2,
                max_occupants: cap,
            })
        })
        .collect();
    CertificateData {
        permit_number: p.number.clone(),
        address: src.property.address.clone(),
        landlord_name: src.landlord_name.to_string(),
        rooms,
        max_occupants: u32::try_from(p.max_occupants).unwrap_or(0),
        grade: grade_colour(&p.grade),
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        village_name: src.village_name.to_string(),
        town_name: src.town_name.to_string(),
        contact_phone: src.contact_phone.to_string(),
        qr_url: super::permit_view::qr_url(public_url, p),
    }
}

/// A 422 on the approval form naming the field and the characters the font lacks.
pub fn printable_or_refuse(
    renderer: &CertificateRenderer,
    data: &CertificateData,
) -> Result<(), AppError> {
    renderer.validate(data).map_err(|e| match e {
        DocumentError::FontLoad | DocumentError::Qr(_) => AppError::internal(e),
        other => AppError::field(
            "certificate",
            &format!("准入证无法打印：{other}。请房东修改相应信息后再审批"),
        ),
    })
}

/// Loads everything a permit's certificate prints.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn data_for<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    p: &permit::Model,
) -> Result<CertificateData, AppError> {
    let house = property::Entity::find_by_id(p.property_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let rooms = room::Entity::find()
        .filter(room::Column::PropertyId.eq(p.property_id))
        .order_by_asc(room::Column::Id)
        .all(db)
        .await?;
    let landlord = user::Entity::find_by_id(p.landlord_id)
        .one(db)
        .await?
        .map(|u| u.name)
        .unwrap_or_default();
    let v = village::Entity::find_by_id(p.village_id)
        .one(db)
        .await?
        .ok_or_else(AppError::not_found)?;
    let t = town::Entity::find_by_id(v.town_id)
        .one(db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let src = CertificateSources {
        property: &house,
        rooms: &rooms,
        landlord_name: &landlord,
        village_name: &v.name,
        town_name: &t,
        contact_phone: &st.config.contact_phone,
    };
    Ok(data_of(
        p,
        &src,
        &super::permits::occupancy_rule(st),
        &st.config.public_url,
    ))
}

/// The certificate PDF of a permit the actor may read.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn render(st: &crate::AppRef, actor: &Actor, number: &str) -> Result<Vec<u8>, AppError> {
    let p = super::permit_view::readable(&st.db, actor, number).await?;
    let data = data_for(&st.db, st, &p).await?;
    let st = st.clone();
    rocket::tokio::task::spawn_blocking(move || st.certificates.render(&data))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::Conflict(format!("准入证无法生成：{e}")))
}
