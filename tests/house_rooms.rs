//! The house form takes any number of rooms (issue 13 item 6): "添加房间" and each row's "删除此行"
//! are submits that show the form again as typed, so it works without JavaScript.
mod common;

use common::*;
use rocket::http::Status;

fn house_fields(grid: &str, rooms: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut f = vec![
        ("grid_id".to_string(), grid.to_string()),
        ("address".into(), "锦绣村北区 21 号".into()),
        ("floors".into(), "3".into()),
        ("structure".into(), "brick_concrete".into()),
    ];
    for (i, (label, area)) in rooms.iter().enumerate() {
        f.push((format!("rooms[{i}].label"), label.to_string()));
        f.push((format!("rooms[{i}].floor"), "1".into()));
        f.push((format!("rooms[{i}].area_m2"), area.to_string()));
        f.push((format!("rooms[{i}].kind"), "bedroom".into()));
    }
    f
}

fn refs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[rocket::async_test]
async fn adding_and_removing_rows_keeps_what_was_typed_and_saves_nothing() {
    let app = TestApp::new().await;
    let (_, grid) = village_and_grid(&app, "锦绣村第一网格").await;
    let grid = grid.to_string();
    let b = app.signed_in(LANDLORD).await;
    let (s, page) = b.get_text("/landlord/houses/new").await;
    assert_eq!(s, Status::Ok);
    assert!(page.contains("name=\"add_room\"") && page.contains("rooms[2].label"));
    assert!(!page.contains("rooms[3].label"));
    // One room typed and the three blank rows the browser sends along.
    let mut f = house_fields(&grid, &[("101", "14"), ("", ""), ("", ""), ("", "")]);
    f.push(("add_room".into(), "1".into()));
    let r = b.post_form("/landlord/houses", &refs(&f)).await;
    assert_eq!(r.status(), Status::Ok);
    let page = r.into_string().await.unwrap();
    assert!(page.contains("value=\"锦绣村北区 21 号\"") && page.contains("value=\"101\""));
    assert!(
        page.contains("rooms[4].label") && !page.contains("rooms[5].label"),
        "one more row"
    );
    assert!(
        !page.contains("field-error"),
        "adding a row is not a submission"
    );
    assert_eq!(app.count("properties").await, 0);
    // Removing the first of two rooms keeps the second.
    let mut f = house_fields(&grid, &[("101", "14"), ("102", "12.5")]);
    f.push(("remove_room".into(), "0".into()));
    let r = b.post_form("/landlord/houses", &refs(&f)).await;
    assert_eq!(r.status(), Status::Ok);
    let page = r.into_string().await.unwrap();
    assert!(!page.contains("value=\"101\"") && page.contains("value=\"102\""));
    assert_eq!(app.count("properties").await, 0);
}

#[rocket::async_test]
async fn a_house_with_many_rooms_is_saved_and_edited_down() {
    let app = TestApp::new().await;
    let (_, grid) = village_and_grid(&app, "锦绣村第一网格").await;
    let grid = grid.to_string();
    let b = app.signed_in(LANDLORD).await;
    let rooms: Vec<(String, String)> = (0..8)
        .map(|i| (format!("{}", 101 + i), "14".into()))
        .collect();
    let rooms_ref: Vec<(&str, &str)> = rooms
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let f = house_fields(&grid, &rooms_ref);
    let r = b.post_form("/landlord/houses", &refs(&f)).await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.count("rooms").await, 8);
    let house = r
        .headers()
        .get_one("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (_, edit) = b.get_text(&format!("/landlord/houses/{house}/edit")).await;
    assert!(edit.contains("value=\"108\"") && edit.contains("rooms[10].label"));
    // Remove a row in the edit form, then save.
    let mut f = house_fields(&grid, &rooms_ref);
    f.push(("remove_room".into(), "7".into()));
    let r = b
        .post_form(&format!("/landlord/houses/{house}"), &refs(&f))
        .await;
    assert_eq!(r.status(), Status::Ok);
    assert!(!r.into_string().await.unwrap().contains("value=\"108\""));
    let f = house_fields(&grid, &rooms_ref[..7]);
    let r = b
        .post_form(&format!("/landlord/houses/{house}"), &refs(&f))
        .await;
    assert_eq!(r.status(), Status::SeeOther);
    assert_eq!(app.count("rooms").await, 7);
}
