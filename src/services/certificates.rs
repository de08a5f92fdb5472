//! The printable certificate of a permit: gathering its data, checking it can be printed
//! (before approval too), rendering the PDF off the async threads.
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, RelationTrait,
};

use super::{Actor, foreign_key};
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
    pub address: &'a str,
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
        address: src.address.to_string(),
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

/// The names a certificate's heading prints, read with the permit's joins.
#[derive(Debug, FromQueryResult)]
struct HeadingNames {
    address: String,
    landlord_name: Option<String>,
    village_name: String,
    town_name: Option<String>,
}

/// What a certificate prints beside the permit itself: its heading's names and its house's rooms.
struct Printed {
    names: HeadingNames,
    rooms: Vec<room::Model>,
}

/// Reads [`Printed`] for the permit numbered `number` (`None` if there is none), in two reads
/// at once that need not wait for the permit's: a download waits on each round trip. The
/// caller decides whether the actor may see them.
async fn printed_of<C: ConnectionTrait>(db: &C, number: &str) -> Result<Option<Printed>, AppError> {
    let names = permit::Entity::find()
        .filter(permit::Column::Number.eq(number))
        .select_only()
        .column_as(property::Column::Address, "address")
        .column_as(user::Column::Name, "landlord_name")
        .column_as(village::Column::Name, "village_name")
        .column_as(town::Column::Name, "town_name")
        .join(JoinType::InnerJoin, permit::Relation::Property.def())
        .join(JoinType::InnerJoin, permit::Relation::Village.def())
        .join(
            JoinType::LeftJoin,
            foreign_key::<permit::Entity, user::Entity>(
                permit::Column::LandlordId,
                user::Column::Id,
            ),
        )
        .join(
            JoinType::LeftJoin,
            foreign_key::<village::Entity, town::Entity>(village::Column::TownId, town::Column::Id),
        )
        .into_model::<HeadingNames>()
        .one(db);
    let house = permit::Entity::find()
        .select_only()
        .column(permit::Column::PropertyId)
        .filter(permit::Column::Number.eq(number))
        .into_query();
    let rooms = room::Entity::find()
        .filter(room::Column::PropertyId.in_subquery(house))
        .order_by_asc(room::Column::Id)
        .all(db);
    let (names, rooms) = futures::try_join!(names, rooms)?;
    Ok(names.map(|names| Printed { names, rooms }))
}

/// Everything the certificate of permit `p` prints, from what [`printed_of`] read.
fn data_for(st: &AppState, p: &permit::Model, printed: &Printed) -> CertificateData {
    let names = &printed.names;
    let src = CertificateSources {
        address: &names.address,
        rooms: &printed.rooms,
        landlord_name: names.landlord_name.as_deref().unwrap_or_default(),
        village_name: &names.village_name,
        town_name: names.town_name.as_deref().unwrap_or_default(),
        contact_phone: &st.config.contact_phone,
    };
    data_of(
        p,
        &src,
        &super::permits::occupancy_rule(st),
        &st.config.public_url,
    )
}

/// The certificate PDF of a permit the actor may read.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.id))]
pub async fn render(st: &crate::AppRef, actor: &Actor, number: &str) -> Result<Vec<u8>, AppError> {
    let (p, printed) = futures::try_join!(
        super::permit_view::readable(&st.db, actor, number),
        printed_of(&st.db, number),
    )?;
    let data = data_for(st, &p, &printed.ok_or_else(AppError::not_found)?);
    let st = st.clone();
    rocket::tokio::task::spawn_blocking(move || st.certificates.render(&data))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::Conflict(format!("准入证无法生成：{e}")))
}
