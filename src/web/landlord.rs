//! Landlord pages: home, houses with rooms, applications with documents, pledge and submission.
use askama::Template;
use askama_web::WebTemplate;
use rocket::form::Form;
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, get, post};

use super::guards::{CsrfChecked, Landlord};
use super::pages::{Page, Pager};
use crate::domain::fields::FieldErrors;
use crate::domain::occupancy::RoomKind;
use crate::domain::property::{RawProperty, RawRoom, Structure};
use crate::error::{AppError, AppResult};
use crate::services::applications::{self, ApplicationRow};
use crate::services::properties::{self, PropertyView};
use crate::services::town::{self, VillageInfo};
use crate::{AppRef, AppState};

#[derive(Template, WebTemplate)]
#[template(path = "landlord/home.html")]
pub struct HomePage {
    page: Page,
    houses: Vec<PropertyView>,
    apps: Vec<ApplicationRow>,
    pager: Pager,
    notices: Vec<crate::services::notifications::NoticeItem>,
    permits: Vec<crate::services::permit_view::PermitView>,
    pending: Vec<crate::services::tenancy::TenantRow>,
}

#[get("/landlord?<page>")]
pub async fn home(
    who: Landlord,
    page_ctx: Page,
    st: &State<AppRef>,
    page: Option<u64>,
) -> AppResult<HomePage> {
    let (houses, _) = properties::list(&st.db, &who.0, 0, 100).await?;
    let (apps, total) =
        applications::list(&st.db, &who.0, Pager::index(page), Pager::PER_PAGE).await?;
    let notices = crate::services::notifications::unread(&st.db, &who.0).await?;
    let (permits, _) = crate::services::permit_view::list(st, &who.0, 0, 100).await?;
    Ok(HomePage {
        page: page_ctx,
        houses,
        apps,
        pager: Pager::new(page.unwrap_or(1), total),
        notices,
        permits,
        pending: crate::services::tenancy::pending_for_landlord(&st.db, &st.pii, &who.0).await?,
    })
}

/// The house form keeps whatever was typed, so a refused form comes back filled in.
#[derive(Template, WebTemplate)]
#[template(path = "landlord/house_form.html")]
pub struct HouseFormPage {
    page: Page,
    house_id: Option<i32>,
    raw: RawProperty,
    villages: Vec<VillageInfo>,
    structures: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    errors: FieldErrors,
}

impl HouseFormPage {
    fn room_error(&self, i: &usize, field: &str) -> Option<&str> {
        self.errors.get(&format!("rooms[{i}].{field}"))
    }
}

#[derive(FromForm, Default)]
pub struct RoomForm {
    label: Option<String>,
    floor: Option<String>,
    area_m2: Option<String>,
    kind: Option<String>,
}

#[derive(FromForm, Default)]
pub struct HouseForm {
    village_id: Option<String>,
    grid_id: Option<String>,
    address: Option<String>,
    floors: Option<String>,
    structure: Option<String>,
    rooms: Vec<RoomForm>,
    /// The "添加房间" button: show the form again with one more blank row (works without JS).
    add_room: Option<String>,
    /// A row's "删除" button: show the form again without that row.
    remove_room: Option<usize>,
}

impl HouseForm {
    /// The form again with a row added or removed, when one of those buttons was pressed;
    /// nothing is saved until "保存房屋".
    fn rows_changed(&self) -> Option<(RawProperty, usize)> {
        let mut raw = self.raw();
        if let Some(i) = self.remove_room {
            if i < raw.rooms.len() {
                raw.rooms.remove(i);
            }
            return Some((raw, 1));
        }
        self.add_room.as_ref()?;
        let blanks = trailing_blanks(&raw);
        Some((raw, blanks + 1))
    }

    fn raw(&self) -> RawProperty {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        RawProperty {
            village_id: s(&self.village_id),
            grid_id: s(&self.grid_id),
            address: s(&self.address),
            floors: s(&self.floors),
            structure: s(&self.structure),
            rooms: self
                .rooms
                .iter()
                .map(|r| RawRoom {
                    label: s(&r.label),
                    floor: s(&r.floor),
                    area_m2: s(&r.area_m2),
                    kind: s(&r.kind),
                })
                .collect(),
        }
    }
}

fn trailing_blanks(raw: &RawProperty) -> usize {
    raw.rooms
        .iter()
        .rev()
        .take_while(|r| r.label.trim().is_empty() && r.area_m2.trim().is_empty())
        .count()
}

/// Blank rows for new rooms: the form works without JavaScript, so it offers spare rows.
fn with_spare_rows(mut raw: RawProperty, spare: usize) -> RawProperty {
    let blanks = trailing_blanks(&raw);
    for _ in blanks..spare {
        raw.rooms.push(RawRoom {
            floor: "1".into(),
            kind: RoomKind::Bedroom.as_str().into(),
            ..Default::default()
        });
    }
    raw
}

async fn form_page(
    st: &AppState,
    page: Page,
    house_id: Option<i32>,
    raw: RawProperty,
    errors: FieldErrors,
) -> AppResult<HouseFormPage> {
    form_page_with(st, page, house_id, raw, errors, 3).await
}

async fn form_page_with(
    st: &AppState,
    page: Page,
    house_id: Option<i32>,
    raw: RawProperty,
    errors: FieldErrors,
    spare: usize,
) -> AppResult<HouseFormPage> {
    Ok(HouseFormPage {
        page,
        house_id,
        raw: with_spare_rows(raw, spare),
        villages: town::villages_with_grids(&st.db).await?,
        structures: Structure::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        kinds: RoomKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label_zh()))
            .collect(),
        errors,
    })
}

#[get("/landlord/houses/new")]
pub async fn new_house(_who: Landlord, page: Page, st: &State<AppRef>) -> AppResult<HouseFormPage> {
    let raw = RawProperty {
        floors: "1".into(),
        structure: Structure::BrickConcrete.as_str().into(),
        ..Default::default()
    };
    form_page(st, page, None, raw, FieldErrors::new()).await
}

#[post("/landlord/houses", data = "<form>")]
pub async fn create_house(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    form: Form<HouseForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<HouseFormPage>)> {
    if let Some((raw, spare)) = form.rows_changed() {
        let view = form_page_with(st, page, None, raw, FieldErrors::new(), spare).await;
        return Err((Status::Ok, view));
    }
    let raw = form.raw();
    let result = match raw.parse() {
        Ok(d) => properties::create(&st.db, &who.0, d).await,
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(h) => Ok(Flash::success(
            Redirect::to(format!("/landlord/houses/{}", h.id)),
            "房屋已登记，下一步可申请准入证",
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            form_page(st, page, None, raw, e).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[get("/landlord/houses/<id>/edit")]
pub async fn edit_house(
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<HouseFormPage> {
    let h = properties::get(&st.db, &who.0, id).await?;
    let raw = RawProperty {
        village_id: h.village_id.to_string(),
        grid_id: h.grid_id.to_string(),
        address: h.address.clone(),
        floors: h.floors.to_string(),
        structure: h.structure.clone(),
        rooms: h
            .rooms
            .iter()
            .map(|r| RawRoom {
                label: r.label.clone(),
                floor: r.floor.to_string(),
                area_m2: format!("{}", r.area_m2),
                kind: r.kind.clone(),
            })
            .collect(),
    };
    form_page(st, page, Some(id), raw, FieldErrors::new()).await
}

#[post("/landlord/houses/<id>", data = "<form>")]
pub async fn update_house(
    _csrf: CsrfChecked,
    who: Landlord,
    page: Page,
    st: &State<AppRef>,
    id: i32,
    form: Form<HouseForm>,
) -> Result<Flash<Redirect>, (Status, AppResult<HouseFormPage>)> {
    if let Some((raw, spare)) = form.rows_changed() {
        let view = form_page_with(st, page, Some(id), raw, FieldErrors::new(), spare).await;
        return Err((Status::Ok, view));
    }
    let raw = form.raw();
    let result = match raw.parse() {
        Ok(d) => properties::update(&st.db, &who.0, id, d).await,
        Err(e) => Err(AppError::Validation(e)),
    };
    match result {
        Ok(h) => Ok(Flash::success(
            Redirect::to(format!("/landlord/houses/{}", h.id)),
            "房屋信息已保存",
        )),
        Err(AppError::Validation(e)) => Err((
            Status::UnprocessableEntity,
            form_page(st, page, Some(id), raw, e).await,
        )),
        Err(other) => Err((other.status(), Err(other))),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "landlord/house.html")]
pub struct HousePage {
    page: Page,
    house: PropertyView,
    apps: Vec<ApplicationRow>,
    findings: Vec<crate::services::inspections::findings::FindingView>,
    occupancy: Option<crate::services::tenancy::Occupancy>,
}

impl HousePage {
    /// The permit to renew when the house holds an active one: the page then offers 续期
    /// instead of a second application (which the service would refuse anyway).
    fn renewable_permit(&self) -> Option<&str> {
        self.occupancy
            .as_ref()
            .filter(|o| o.takes_tenants)
            .map(|o| o.permit_number.as_str())
    }
}

#[get("/landlord/houses/<id>")]
pub async fn house(who: Landlord, page: Page, st: &State<AppRef>, id: i32) -> AppResult<HousePage> {
    let house = properties::get(&st.db, &who.0, id).await?;
    let (apps, _) = applications::list(&st.db, &who.0, 0, 200).await?;
    let apps = apps.into_iter().filter(|a| a.property_id == id).collect();
    let findings = crate::services::inspections::findings::open_of_property(
        &st.db,
        &st.checklists,
        &who.0,
        id,
        st.config.clock.now(),
    )
    .await?;
    let occupancy =
        crate::services::tenancy::occupancy_of_house(&st.db, &st.pii, &who.0, id).await?;
    Ok(HousePage {
        page,
        house,
        apps,
        findings,
        occupancy,
    })
}

#[post("/landlord/houses/<id>/apply")]
pub async fn apply(
    _csrf: CsrfChecked,
    who: Landlord,
    st: &State<AppRef>,
    id: i32,
) -> Result<Redirect, Flash<Redirect>> {
    match applications::create_draft(&st.db, &who.0, id).await {
        Ok(a) => Ok(Redirect::to(format!("/landlord/applications/{}", a.id))),
        Err(e) => Err(Flash::error(
            Redirect::to(format!("/landlord/houses/{id}")),
            e.to_string(),
        )),
    }
}
