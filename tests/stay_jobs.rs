//! The scheduler runs the stay jobs: unconfirmed stays lapse, old personal data is wiped.
mod common;

use anju::domain::identity::{DocNumber, DocType, Phone};
use anju::domain::occupancy::OccupancyRule;
use anju::domain::stay::{CheckIn, Lang};
use anju::entities::{permit, stay};
use anju::services::stays;
use common::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[rocket::async_test]
async fn the_scheduler_lapses_stays_after_the_configured_hours_and_wipes_after_the_retention() {
    let app = TestApp::with(|c| {
        c.pending_stay_hours = 1;
        c.retention_months = 1;
    })
    .await;
    let (number, _) = active_permit(&app, 2).await;
    let p = permit::Entity::find()
        .filter(permit::Column::Number.eq(number.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let room = permit_rooms(&app, &number).await[0];
    let st = app.state().await;
    let c = stays::check_in(
        &app.db,
        &st.pii,
        &OccupancyRule::default(),
        p.id,
        CheckIn {
            name: "周七".into(),
            doc: DocNumber::parse(DocType::ResidentId, &resident_id(5), today_cst()).unwrap(),
            phone: Phone::parse("13800000000").unwrap(),
            room_id: room,
            move_in: today_cst(),
            move_out_expected: None,
            employer: None,
        },
        Lang::Zh,
    )
    .await
    .unwrap();
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    stay::Entity::update_many()
        .col_expr(stay::Column::CreatedAt, two_hours_ago.into())
        .filter(stay::Column::Id.eq(c.stay_id))
        .exec(&app.db)
        .await
        .unwrap();
    let report = anju::jobs::run_all(&st, "test-instance").await;
    let names: Vec<_> = report.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"lapse_pending_stays") && names.contains(&"retention_wipe"));
    assert!(report.iter().all(|(_, r)| r.is_ok()), "{report:?}");
    let s = stay::Entity::find_by_id(c.stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.status, "lapsed", "1 hour configured, 2 hours passed");
    assert_eq!(
        open_stay_counters_hold(&app).await,
        0,
        "the lapsed stay's place is free"
    );
    assert!(s.name.is_some(), "not yet past the retention");
    let two_months_ago = chrono::Utc::now() - chrono::Duration::days(62);
    stay::Entity::update_many()
        .col_expr(stay::Column::EndedAt, two_months_ago.into())
        .filter(stay::Column::Id.eq(c.stay_id))
        .exec(&app.db)
        .await
        .unwrap();
    anju::jobs::run_all(&st, "test-instance").await;
    let s = stay::Entity::find_by_id(c.stay_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(s.name.is_none() && s.doc_number_enc.is_none() && s.wiped_at.is_some());
    assert_eq!(open_stay_counters_hold(&app).await, 0);
}
