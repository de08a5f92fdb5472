//! The command room's drill-downs: every number's list has the number as its total, for the town
//! and for a village; officials see their own village's houses only; the town admin reads every
//! village's applications and permits without being able to decide; the wall's links carry the
//! filter of the figures shown.
mod common;
#[path = "support/town_at_work.rs"]
mod town_at_work;

use anju::services::dashboard::{Scope, Snapshot, compute};
use common::*;
use rocket::http::Status;
use town_at_work::a_town_at_work;

/// The total a list page shows (`共 <b data-total>N</b>`).
async fn total(b: &Browser, path: &str) -> i64 {
    let (s, html) = b.get_text(path).await;
    assert_eq!(s, Status::Ok, "{path}: {html}");
    let at = html.find("data-total>").expect("a total on the page") + "data-total>".len();
    html[at..]
        .split('<')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a number after data-total on {path}"))
}

/// Each number of `s` against the total of the list it links to; `q` is `village_id=N&` or
/// empty, `base` where the viewer's lists live.
async fn lists_agree(b: &Browser, s: &Snapshot, q: &str, base: &str, apps: &str) {
    let pairs: Vec<(String, i64)> = vec![
        (format!("/houses?{q}"), s.houses),
        (format!("/houses?{q}grade=green"), s.grades.green),
        (format!("/houses?{q}grade=yellow"), s.grades.yellow),
        (format!("/houses?{q}grade=red"), s.grades.red),
        (format!("{base}/permits?{q}status=active"), s.permits.active),
        (
            format!("{base}/permits?{q}status=expiring"),
            s.permits.expiring_30d,
        ),
        (
            format!("{base}/permits?{q}status=suspended"),
            s.permits.suspended,
        ),
        (
            format!("{base}/permits?{q}status=expired"),
            s.permits.expired,
        ),
        (
            format!("{base}/permits?{q}status=revoked"),
            s.permits.revoked,
        ),
        (format!("{apps}?{q}status=draft"), s.applications.draft),
        (
            format!("{apps}?{q}status=submitted"),
            s.applications.submitted,
        ),
        (
            format!("{apps}?{q}status=inspecting"),
            s.applications.inspecting,
        ),
        (
            format!("{apps}?{q}status=rectifying"),
            s.applications.rectifying,
        ),
        (format!("{apps}?{q}status=passed"), s.applications.passed),
        (
            format!("{apps}?{q}status=approved"),
            s.applications.approved,
        ),
        (
            format!("{apps}?{q}status=rejected"),
            s.applications.rejected,
        ),
        (format!("{base}/findings?{q}state=open"), s.hazards.open),
        (
            format!("{base}/findings?{q}state=overdue"),
            s.hazards.overdue,
        ),
        (
            format!("{base}/tasks?{q}overdue=true"),
            s.inspections.overdue,
        ),
        (
            format!("{base}/tasks?{q}due_soon=true"),
            s.inspections.due_7d,
        ),
        (format!("/residents?{q}"), s.residents.now),
        (format!("/residents?{q}status=pending"), s.residents.pending),
        (
            format!("{base}/tasks?{q}done_30d=true"),
            s.inspections.done_30d,
        ),
    ];
    for (path, want) in pairs {
        assert_eq!(total(b, &path).await, want, "{path}");
    }
    // Houses with and without a permit in force split the houses between them.
    let with = total(b, &format!("/houses?{q}permit=active")).await;
    let without = total(b, &format!("/houses?{q}permit=none")).await;
    assert_eq!(with + without, s.houses);
}

#[rocket::async_test]
async fn every_number_of_the_town_and_of_a_village_is_the_total_of_the_list_it_opens() {
    let app = TestApp::new().await;
    let (_, _, _, jx, nz) = a_town_at_work(&app).await;
    let now = chrono::Utc::now();
    let town = compute(&app.db, Scope { village_id: None }, now)
        .await
        .expect("snapshot");
    // The scenario gives every kind of list something to count.
    assert_eq!(town.houses, 5);
    assert_eq!((town.grades.green, town.grades.yellow), (1, 1));
    assert_eq!(town.permits.active, 1);
    assert_eq!((town.hazards.open, town.hazards.overdue), (2, 1));
    assert_eq!(town.inspections.overdue, 1);
    assert_eq!(town.inspections.done_30d, 2);
    assert_eq!((town.residents.now, town.residents.pending), (1, 1));
    let admin = app.signed_in(ADMIN).await;
    lists_agree(&admin, &town, "", "/admin", "/admin/applications").await;
    assert_eq!(total(&admin, "/houses?permit=active").await, 1);
    for v in [jx, nz] {
        let one = compute(
            &app.db,
            Scope {
                village_id: Some(v),
            },
            now,
        )
        .await
        .expect("village snapshot");
        let q = format!("village_id={v}&");
        lists_agree(&admin, &one, &q, "/admin", "/admin/applications").await;
    }
    let official = app.signed_in(OFFICIAL_JX).await;
    let mine = compute(
        &app.db,
        Scope {
            village_id: Some(jx),
        },
        now,
    )
    .await
    .expect("snapshot");
    assert_eq!(mine.houses, 3);
    lists_agree(&official, &mine, "", "/official", "/official").await;
    lists_agree(
        &official,
        &mine,
        &format!("village_id={jx}&"),
        "/official",
        "/official",
    )
    .await;
}

#[rocket::async_test]
async fn an_official_sees_only_their_village_s_houses_and_is_refused_another_village() {
    let app = TestApp::new().await;
    let (_, _, _, jx, nz) = a_town_at_work(&app).await;
    let nz_official = app.signed_in(OFFICIAL_NZ).await;
    let (s, html) = nz_official.get_text("/houses").await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains("倪宅村第一网格 8 号"), "{html}");
    assert!(
        !html.contains("锦绣村"),
        "another village's houses are not listed: {html}"
    );
    assert_eq!(total(&nz_official, "/houses").await, 2);
    // The landlord is masked: the name's first character, the phone's middle digits starred.
    assert!(html.contains("139****0004"), "{html}");
    assert!(!html.contains(LANDLORD));
    for path in [
        format!("/houses?village_id={jx}"),
        format!("/houses?village_id={jx}&grade=yellow"),
        format!("/official/permits?village_id={jx}&status=active"),
        format!("/official/findings?village_id={jx}&state=open"),
        format!("/official/tasks?village_id={jx}&overdue=true"),
        format!("/official?village_id={jx}&status=submitted"),
    ] {
        assert_eq!(
            nz_official.get(&path).await.status(),
            Status::Forbidden,
            "{path}"
        );
    }
    assert_eq!(
        nz_official
            .get(&format!("/houses?village_id={nz}"))
            .await
            .status(),
        Status::Ok
    );
    let admin = app.signed_in(ADMIN).await;
    assert_eq!(
        admin.get("/houses?village_id=999999").await.status(),
        Status::NotFound
    );
    for bad in [
        "/houses?grade=purple",
        "/houses?permit=maybe",
        "/houses?village_id=x",
    ] {
        assert_eq!(admin.get(bad).await.status(), Status::BadRequest, "{bad}");
    }
    assert_eq!(
        app.signed_in(INSPECTOR_JX)
            .await
            .get("/houses")
            .await
            .status(),
        Status::Forbidden
    );
    assert_eq!(
        app.signed_in(LANDLORD).await.get("/houses").await.status(),
        Status::Forbidden
    );
}

#[rocket::async_test]
async fn the_town_admin_reads_every_village_s_applications_and_permits_but_cannot_decide() {
    let app = TestApp::new().await;
    let (jx_app, nz_app, permit, _, nz) = a_town_at_work(&app).await;
    let admin = app.signed_in(ADMIN).await;
    let (s, html) = admin.get_text("/admin/applications").await;
    assert_eq!(s, Status::Ok);
    assert!(
        html.contains(&format!("/admin/applications/{jx_app}")),
        "{html}"
    );
    assert!(
        html.contains(&format!("/admin/applications/{nz_app}")),
        "{html}"
    );
    let (_, html) = admin
        .get_text(&format!("/admin/applications?village_id={nz}"))
        .await;
    assert!(html.contains(&format!("/admin/applications/{nz_app}")));
    assert!(
        !html.contains(&format!("/admin/applications/{jx_app}\"")),
        "{html}"
    );

    // 倪宅村's passed application: the official would see the review button, the admin does not.
    let (s, html) = admin
        .get_text(&format!("/admin/applications/{nz_app}"))
        .await;
    assert_eq!(s, Status::Ok);
    assert!(
        html.contains("倪宅村第一网格 8 号") && html.contains("检查结果"),
        "{html}"
    );
    assert!(
        !html.contains("/review") && !html.contains("/approve"),
        "{html}"
    );
    let nz_official = app.signed_in(OFFICIAL_NZ).await;
    let (_, theirs) = nz_official
        .get_text(&format!("/official/applications/{nz_app}"))
        .await;
    assert!(theirs.contains(&format!("/official/applications/{nz_app}/review")));

    let (s, html) = admin.get_text(&format!("/admin/permits/{permit}")).await;
    assert_eq!(s, Status::Ok);
    assert!(html.contains(&permit) && html.contains("有效"), "{html}");
    assert!(
        !html.contains("/suspend") && !html.contains("/revoke"),
        "{html}"
    );
    let (_, listed) = admin.get_text("/admin/permits?status=active").await;
    assert!(listed.contains(&format!("/admin/permits/{permit}")));

    // The decisions stay the village official's.
    for (path, fields) in [
        (
            format!("/official/applications/{nz_app}/approve"),
            vec![("valid_months", "12")],
        ),
        (
            format!("/official/applications/{nz_app}/reject"),
            vec![("reason", "材料不全")],
        ),
        (
            format!("/official/permits/{permit}/suspend"),
            vec![("reason", "消防通道堵塞")],
        ),
    ] {
        let r = admin.post_form(&path, &fields).await;
        assert_eq!(r.status(), Status::Forbidden, "{path}");
    }
    let (_, after) = admin.get_text(&format!("/admin/permits/{permit}")).await;
    assert!(after.contains("有效") && !after.contains("已暂停"));
    let (_, app_after) = admin
        .get_text(&format!("/admin/applications/{nz_app}"))
        .await;
    assert!(
        app_after.contains("检查通过"),
        "still waiting for the official: {app_after}"
    );
}

/// Links as the browser follows them: `&` is written escaped in the HTML.
fn unescaped(html: &str) -> String {
    html.replace("&#38;", "&").replace("&amp;", "&")
}

#[rocket::async_test]
async fn the_wall_s_numbers_link_to_their_lists_with_the_filter_shown() {
    let app = TestApp::new().await;
    let (_, _, _, jx, _) = a_town_at_work(&app).await;
    let admin = app.signed_in(ADMIN).await;
    let (s, town) = admin.get_text("/command").await;
    assert_eq!(s, Status::Ok);
    for href in [
        "href=\"/houses?\"",
        "href=\"/houses?grade=red\"",
        "href=\"/admin/permits?status=active\"",
        "href=\"/admin/findings?state=open\"",
        "href=\"/admin/findings?state=overdue\"",
        "href=\"/admin/tasks?overdue=true\"",
        "href=\"/admin/applications?status=submitted\"",
        "href=\"/residents?\"",
        "href=\"/residents?status=pending\"",
    ] {
        assert!(town.contains(href), "{href} on the town's wall");
    }
    let (_, one) = admin.get_text(&format!("/command?village_id={jx}")).await;
    let one = unescaped(&one);
    let v = format!("village_id={jx}&");
    for href in [
        format!("href=\"/houses?{v}\""),
        format!("href=\"/houses?{v}grade=yellow\""),
        format!("href=\"/admin/permits?{v}status=active\""),
        format!("href=\"/admin/permits?{v}status=expiring\""),
        format!("href=\"/admin/findings?{v}state=open\""),
        format!("href=\"/admin/tasks?{v}overdue=true\""),
        format!("href=\"/admin/applications?{v}status=passed\""),
        format!("href=\"/residents?{v}\""),
    ] {
        assert!(one.contains(&href), "{href} on the village's wall");
    }
    let (_, home) = admin.get_text("/admin").await;
    for href in [
        "/houses\"",
        "/admin/permits?status=active",
        "/admin/findings?state=overdue",
        "/admin/tasks?overdue=true",
        "/houses?grade=red",
        "/residents?status=pending",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}")),
            "{href} on the admin's home"
        );
    }

    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, mine) = official.get_text("/command").await;
    let mine = unescaped(&mine);
    for href in [
        format!("href=\"/houses?{v}\""),
        format!("href=\"/houses?{v}grade=green\""),
        format!("href=\"/official/permits?{v}status=active\""),
        format!("href=\"/official/findings?{v}state=open\""),
        format!("href=\"/official/findings?{v}state=overdue\""),
        format!("href=\"/official/tasks?{v}overdue=true\""),
        format!("href=\"/official?{v}status=submitted\""),
    ] {
        assert!(mine.contains(&href), "{href} on the official's wall");
    }
    assert!(
        !mine.contains("href=\"/admin"),
        "no link an official cannot open"
    );
}

/// The day's movement and the rectification rate against the lists they link to.
async fn movement_agrees(b: &Browser, s: &Snapshot, q: &str, base: &str) {
    let d = &s.day_changes;
    let pairs: Vec<(String, i64)> = vec![
        (format!("/houses?{q}new=1d"), d.houses),
        (
            format!("{base}/permits?{q}status=issued_1d"),
            d.permits_issued,
        ),
        (format!("/residents?{q}moved=in_1d"), d.check_ins),
        (format!("/residents?{q}moved=out_1d"), d.check_outs),
        (
            format!("{base}/findings?{q}state=found_1d"),
            d.hazards_found,
        ),
        (
            format!("{base}/findings?{q}state=fixed_1d"),
            d.hazards_fixed,
        ),
        (
            format!("{base}/findings?{q}state=found_30d"),
            s.hazards.found_30d,
        ),
        (
            format!("{base}/findings?{q}state=found_30d_fixed"),
            s.hazards.found_30d_fixed,
        ),
    ];
    for (path, want) in pairs {
        assert_eq!(total(b, &path).await, want, "{path}");
    }
    // The rate is the second list's total over the first's.
    let found = total(b, &format!("{base}/findings?{q}state=found_30d")).await;
    let fixed = total(b, &format!("{base}/findings?{q}state=found_30d_fixed")).await;
    assert!(found > 0);
    assert!((s.hazards.rectification_rate - fixed as f64 / found as f64).abs() < 1e-9);
}

#[rocket::async_test]
async fn the_day_s_changes_and_the_rectification_rate_are_the_totals_of_the_lists_they_open() {
    use anju::entities::{finding, property, stay};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
    let app = TestApp::new().await;
    let (_, _, _, jx, nz) = a_town_at_work(&app).await;
    let now = chrono::Utc::now();
    // Something older than a day, so the day's lists leave it out: a house registered two days
    // ago and a hazard found three days ago; the other hazard was fixed just now, and the
    // confirmed tenant checks out.
    let first = property::Entity::find()
        .order_by_asc(property::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut h: property::ActiveModel = first.into();
    h.created_at = Set(now - chrono::Duration::days(2));
    h.update(&app.db).await.unwrap();
    let fs = finding::Entity::find()
        .order_by_asc(finding::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(fs.len(), 2);
    let mut fixed: finding::ActiveModel = fs[0].clone().into();
    fixed.status = Set("closed".into());
    fixed.closed_at = Set(Some(now));
    fixed.update(&app.db).await.unwrap();
    let mut older: finding::ActiveModel = fs[1].clone().into();
    older.created_at = Set(now - chrono::Duration::days(3));
    older.update(&app.db).await.unwrap();
    let living = stay::Entity::find()
        .filter(stay::Column::Status.eq("active"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let (s, v) = app
        .api(LANDLORD)
        .await
        .post(
            &format!("/stays/{}/checkout", living.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, Status::Ok, "{v}");

    let town = compute(&app.db, Scope { village_id: None }, chrono::Utc::now())
        .await
        .expect("snapshot");
    let d = &town.day_changes;
    assert_eq!(d.houses, 4);
    assert_eq!(d.permits_issued, 1);
    assert_eq!((d.check_ins, d.check_outs), (2, 1));
    assert_eq!((d.hazards_found, d.hazards_fixed), (1, 1));
    assert_eq!(
        (town.hazards.found_30d, town.hazards.found_30d_fixed),
        (2, 1)
    );
    assert!((town.hazards.rectification_rate - 0.5).abs() < 1e-9);

    let admin = app.signed_in(ADMIN).await;
    movement_agrees(&admin, &town, "", "/admin").await;
    let mine = compute(
        &app.db,
        Scope {
            village_id: Some(jx),
        },
        chrono::Utc::now(),
    )
    .await
    .expect("village snapshot");
    movement_agrees(&admin, &mine, &format!("village_id={jx}&"), "/admin").await;
    let official = app.signed_in(OFFICIAL_JX).await;
    movement_agrees(&official, &mine, "", "/official").await;
    // 倪宅村 found nothing: its lists are empty, and another village's official is refused them.
    let theirs = compute(
        &app.db,
        Scope {
            village_id: Some(nz),
        },
        chrono::Utc::now(),
    )
    .await
    .expect("village snapshot");
    assert_eq!(theirs.hazards.found_30d, 0);
    assert_eq!(
        total(
            &admin,
            &format!("/admin/findings?village_id={nz}&state=found_30d")
        )
        .await,
        0
    );
    for path in [
        format!("/residents?village_id={nz}&moved=in_1d"),
        format!("/official/findings?village_id={nz}&state=found_1d"),
        format!("/official/permits?village_id={nz}&status=issued_1d"),
    ] {
        assert_eq!(
            official.get(&path).await.status(),
            Status::Forbidden,
            "{path}"
        );
    }
    for bad in [
        "/residents?moved=sideways",
        "/residents?moved=in_1d&status=pending",
        "/houses?new=1y",
        "/admin/findings?state=found_1y",
        "/admin/permits?status=issued_1y",
    ] {
        assert_eq!(admin.get(bad).await.status(), Status::BadRequest, "{bad}");
    }
}

#[rocket::async_test]
async fn the_wall_and_the_admin_home_link_the_day_s_changes_and_the_rate_to_their_lists() {
    let app = TestApp::new().await;
    let (_, _, _, jx, _) = a_town_at_work(&app).await;
    let admin = app.signed_in(ADMIN).await;
    let (_, town) = admin.get_text("/command").await;
    for href in [
        "href=\"/houses?new=1d\"",
        "href=\"/admin/permits?status=issued_1d\"",
        "href=\"/residents?moved=in_1d\"",
        "href=\"/residents?moved=out_1d\"",
        "href=\"/admin/findings?state=found_1d\"",
        "href=\"/admin/findings?state=fixed_1d\"",
        "href=\"/admin/findings?state=found_30d\"",
        "href=\"/admin/findings?state=found_30d_fixed\"",
    ] {
        assert!(town.contains(href), "{href} on the town's wall");
    }
    let official = app.signed_in(OFFICIAL_JX).await;
    let (_, mine) = official.get_text("/command").await;
    let mine = unescaped(&mine);
    let v = format!("village_id={jx}&");
    for href in [
        format!("href=\"/houses?{v}new=1d\""),
        format!("href=\"/official/permits?{v}status=issued_1d\""),
        format!("href=\"/residents?{v}moved=in_1d\""),
        format!("href=\"/residents?{v}moved=out_1d\""),
        format!("href=\"/official/findings?{v}state=found_1d\""),
        format!("href=\"/official/findings?{v}state=fixed_1d\""),
        format!("href=\"/official/findings?{v}state=found_30d_fixed\""),
    ] {
        assert!(mine.contains(&href), "{href} on the official's wall");
    }
    let (_, home) = admin.get_text("/admin").await;
    for href in [
        "/houses?new=1d",
        "/admin/permits?status=issued_1d",
        "/residents?moved=in_1d",
        "/residents?moved=out_1d",
        "/admin/findings?state=found_1d",
        "/admin/findings?state=fixed_1d",
        "/admin/findings?state=found_30d_fixed",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}\"")),
            "{href} on the admin's home"
        );
    }
}
