//! The town admin renames a village or a grid from the villages page.
use rocket::form::Form;
use rocket::response::{Flash, Redirect};
use rocket::{FromForm, State, post};

use super::guards::{CsrfChecked, TownAdmin};
use crate::AppRef;
use crate::services::place_names;

#[derive(FromForm, Default)]
pub struct NameForm {
    name: Option<String>,
}

fn back<T>(r: Result<T, crate::error::AppError>, what: &str) -> Flash<Redirect> {
    let to = Redirect::to("/admin/villages");
    match r {
        Ok(_) => Flash::success(to, format!("{what}名称已修改")),
        // A refused name says why (the field's message), not just that the form was wrong.
        Err(e) => Flash::error(to, super::landlord_applications::upload_message(&e)),
    }
}

#[post("/admin/villages/<id>/rename", data = "<form>")]
pub async fn rename_village(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    form: Form<NameForm>,
) -> Flash<Redirect> {
    let name = form.name.clone().unwrap_or_default();
    back(
        place_names::rename_village(&st.db, &who.0, id, &name).await,
        "村",
    )
}

#[post("/admin/grids/<id>/rename", data = "<form>")]
pub async fn rename_grid(
    _csrf: CsrfChecked,
    who: TownAdmin,
    st: &State<AppRef>,
    id: i32,
    form: Form<NameForm>,
) -> Flash<Redirect> {
    let name = form.name.clone().unwrap_or_default();
    back(
        place_names::rename_grid(&st.db, &who.0, id, &name).await,
        "网格",
    )
}
