//! Grid worker pages: a task (with the landlord's phone and a map link) and an inspection's record;
//! the walk itself is in `inspector_walk`.
use askama::Template;
use askama_web::WebTemplate;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};

use super::guards::{CsrfChecked, CurrentUser, Inspector};
use super::pages::Page;
use crate::AppRef;
use crate::error::AppResult;
use crate::services::inspections::tasks::{self, TaskDetail};
use crate::services::inspections::view::{self, InspectionView};

#[derive(Template, WebTemplate)]
#[template(path = "inspector/task.html")]
pub struct TaskPage {
    page: Page,
    task: TaskDetail,
    inspection_id: Option<i32>,
    item_labels: Vec<String>,
    /// A map search for the address, so the phone's map app can lead the way.
    nav_url: String,
}

#[get("/inspector/tasks/<id>")]
pub async fn task(who: Inspector, page: Page, st: &State<AppRef>, id: i32) -> AppResult<TaskPage> {
    let (t, task) = tasks::get(&st.db, &who.0, id, st.config.clock.now()).await?;
    let inspection_id = view::of_task(&st.db, id).await?;
    let item_labels = match (&task.row.items, st.checklists.current(&t.checklist_key)) {
        (Some(keys), Some(c)) => keys
            .iter()
            .map(|k| {
                c.item(k)
                    .map(|i| i.label_zh.clone())
                    .unwrap_or_else(|| k.clone())
            })
            .collect(),
        _ => Vec::new(),
    };
    let nav_url = format!(
        "https://uri.amap.com/search?keyword={}&callnative=1",
        rocket::http::RawStr::new(&format!(
            "{}{}",
            task.house.village_name, task.house.address
        ))
        .percent_encode()
    );
    Ok(TaskPage {
        page,
        task,
        inspection_id,
        item_labels,
        nav_url,
    })
}

#[post("/inspector/tasks/<id>/start")]
pub async fn start(
    _csrf: CsrfChecked,
    who: Inspector,
    st: &State<AppRef>,
    id: i32,
) -> Result<Redirect, Flash<Redirect>> {
    match tasks::start_task(&st.db, &who.0, id).await {
        Ok(()) => Ok(Redirect::to(format!("/inspector/tasks/{id}/walk"))),
        Err(e) => Err(Flash::error(
            Redirect::to(format!("/inspector/tasks/{id}")),
            e.to_string(),
        )),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inspector/inspection.html")]
pub struct InspectionPage {
    page: Page,
    i: InspectionView,
}

#[get("/inspections/<id>")]
pub async fn inspection(
    who: CurrentUser,
    page: Page,
    st: &State<AppRef>,
    id: i32,
) -> AppResult<InspectionPage> {
    let i = view::get(&st.db, &st.checklists, &who.0, id, st.config.clock.now()).await?;
    Ok(InspectionPage { page, i })
}
