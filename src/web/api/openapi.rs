//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Built as data so it
//! stays one readable list beside the routes; a test checks it parses as utoipa's `OpenApi` and
//! names every mounted route.
use rocket::get;
use rocket::serde::json::Value;
use serde_json::{Map, json};

pub(super) fn obj(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_string(), v.clone());
    }
    json!({"type": "object", "properties": p, "required": required})
}

pub(super) fn s(t: &str) -> Value {
    json!({"type": t})
}

pub(super) fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(super) fn arr(v: Value) -> Value {
    json!({"type": "array", "items": v})
}

pub(super) struct Op {
    pub(super) method: &'static str,
    pub(super) path: &'static str,
    pub(super) summary: &'static str,
    pub(super) tag: &'static str,
    pub(super) auth: bool,
    pub(super) params: Vec<(&'static str, &'static str, &'static str)>,
    pub(super) body: Option<Value>,
    pub(super) ok: (&'static str, Value),
}

fn operation(o: &Op) -> Value {
    let mut params: Vec<Value> = o
        .params
        .iter()
        .map(|(name, place, ty)| {
            json!({"name": name, "in": place, "required": *place == "path", "schema": s(ty)})
        })
        .collect();
    params.sort_by_key(|p| p["in"] != "path");
    let mut v = json!({
        "summary": o.summary,
        "tags": [o.tag],
        "parameters": params,
        "responses": {
            o.ok.0: {"description": "OK", "content": {"application/json": {"schema": o.ok.1}}},
            "400": {"$ref": "#/components/responses/Problem"},
            "401": {"$ref": "#/components/responses/Problem"},
            "403": {"$ref": "#/components/responses/Problem"},
            "404": {"$ref": "#/components/responses/Problem"},
            "409": {"$ref": "#/components/responses/Problem"},
            "422": {"$ref": "#/components/responses/Problem"},
            "429": {"$ref": "#/components/responses/Problem"}
        }
    });
    if let Some(b) = &o.body {
        let ct = if o.path == "/photos" {
            "multipart/form-data"
        } else {
            "application/json"
        };
        v["requestBody"] = json!({"required": true, "content": {ct: {"schema": b}}});
    }
    if o.auth {
        v["security"] = json!([{"bearer": []}]);
    } else {
        v["security"] = json!([]);
    }
    v
}

fn ops() -> Vec<Op> {
    let id = ("id", "path", "integer");
    let answer = obj(
        &[
            ("item", s("string")),
            (
                "result",
                json!({"type": "string", "enum": ["pass", "fail", "na"]}),
            ),
            ("value", s("string")),
            ("note", s("string")),
            ("photo_ids", arr(s("string"))),
        ],
        &["item", "result"],
    );
    vec![
        Op {
            method: "post",
            path: "/auth/login",
            summary: "Sign in; returns a bearer token",
            tag: "auth",
            auth: false,
            params: vec![],
            body: Some(obj(
                &[("phone", s("string")), ("password", s("string"))],
                &["phone", "password"],
            )),
            ok: (
                "200",
                obj(
                    &[
                        ("token", s("string")),
                        ("role", s("string")),
                        ("user_id", s("integer")),
                    ],
                    &["token", "role", "user_id"],
                ),
            ),
        },
        Op {
            method: "post",
            path: "/auth/logout",
            summary: "Revoke the bearer token",
            tag: "auth",
            auth: true,
            params: vec![],
            body: None,
            ok: ("200", s("object")),
        },
        Op {
            method: "post",
            path: "/users/{id}/reset-password",
            summary: "Reset a user's password (town admin); ends their sessions and tokens",
            tag: "auth",
            auth: true,
            params: vec![("id", "path", "integer")],
            body: None,
            ok: (
                "200",
                obj(
                    &[("temporary_password", s("string"))],
                    &["temporary_password"],
                ),
            ),
        },
        Op {
            method: "post",
            path: "/landlords",
            summary: "Landlord self-registration",
            tag: "auth",
            auth: false,
            params: vec![],
            body: Some(obj(
                &[
                    ("name", s("string")),
                    ("phone", s("string")),
                    ("password", s("string")),
                ],
                &["name", "phone", "password"],
            )),
            ok: ("201", s("object")),
        },
        Op {
            method: "get",
            path: "/villages",
            summary: "Villages with their grids",
            tag: "town",
            auth: true,
            params: vec![],
            body: None,
            ok: ("200", arr(r("Village"))),
        },
        Op {
            method: "post",
            path: "/properties",
            summary: "Record a house with rooms",
            tag: "houses",
            auth: true,
            params: vec![],
            body: Some(r("PropertyInput")),
            ok: ("201", r("Property")),
        },
        Op {
            method: "get",
            path: "/properties",
            summary: "Houses the caller may see",
            tag: "houses",
            auth: true,
            params: vec![("page", "query", "integer")],
            body: None,
            ok: ("200", s("object")),
        },
        Op {
            method: "get",
            path: "/properties/{id}",
            summary: "One house",
            tag: "houses",
            auth: true,
            params: vec![id],
            body: None,
            ok: ("200", r("Property")),
        },
        Op {
            method: "post",
            path: "/applications",
            summary: "Start a draft application",
            tag: "applications",
            auth: true,
            params: vec![],
            body: Some(obj(&[("property_id", s("integer"))], &["property_id"])),
            ok: ("201", r("Application")),
        },
        Op {
            method: "get",
            path: "/applications",
            summary: "Applications the caller may see",
            tag: "applications",
            auth: true,
            params: vec![("page", "query", "integer")],
            body: None,
            ok: ("200", s("object")),
        },
        Op {
            method: "get",
            path: "/applications/{id}",
            summary: "Status, history and findings of an application",
            tag: "applications",
            auth: true,
            params: vec![id],
            body: None,
            ok: ("200", r("Application")),
        },
        Op {
            method: "post",
            path: "/applications/{id}/submit",
            summary: "Submit (creates the initial inspection task)",
            tag: "applications",
            auth: true,
            params: vec![id],
            body: Some(obj(
                &[
                    ("pledge_accepted", s("boolean")),
                    ("owner_name", s("string")),
                    ("ownership_doc_no", s("string")),
                    ("intended_use", s("string")),
                ],
                &["pledge_accepted"],
            )),
            ok: ("200", r("Application")),
        },
        Op {
            method: "post",
            path: "/applications/{id}/documents",
            summary: "Attach an uploaded photo as a document",
            tag: "applications",
            auth: true,
            params: vec![id],
            body: Some(obj(
                &[
                    (
                        "kind",
                        json!({"type": "string", "enum": ["ownership_proof", "house_photo"]}),
                    ),
                    ("photo_id", s("string")),
                ],
                &["kind", "photo_id"],
            )),
            ok: ("201", s("object")),
        },
        Op {
            method: "get",
            path: "/applications/{id}/findings",
            summary: "Findings of an application",
            tag: "inspections",
            auth: true,
            params: vec![id],
            body: None,
            ok: ("200", arr(r("Finding"))),
        },
        Op {
            method: "post",
            path: "/photos",
            summary: "Upload a photo (multipart field `file`)",
            tag: "photos",
            auth: true,
            params: vec![],
            body: Some(obj(
                &[("file", json!({"type": "string", "format": "binary"}))],
                &["file"],
            )),
            ok: (
                "201",
                obj(
                    &[
                        ("id", s("string")),
                        ("sha256", s("string")),
                        ("width", s("integer")),
                        ("height", s("integer")),
                    ],
                    &["id", "sha256", "width", "height"],
                ),
            ),
        },
        Op {
            method: "get",
            path: "/tasks",
            summary: "Inspection tasks the caller may see, earliest due first",
            tag: "inspections",
            auth: true,
            params: vec![
                ("status", "query", "string"),
                ("grid_id", "query", "integer"),
                ("village_id", "query", "integer"),
                ("since", "query", "string"),
                ("overdue", "query", "boolean"),
                ("page", "query", "integer"),
                ("per_page", "query", "integer"),
            ],
            body: None,
            ok: ("200", arr(r("Task"))),
        },
        Op {
            method: "get",
            path: "/checklists/{key}",
            summary: "The current version of a checklist (or `?version=`)",
            tag: "inspections",
            auth: true,
            params: vec![("key", "path", "string"), ("version", "query", "integer")],
            body: None,
            ok: ("200", r("Checklist")),
        },
        Op {
            method: "post",
            path: "/tasks/{id}/inspection",
            summary: "Submit an inspection; idempotent per submission_id",
            tag: "inspections",
            auth: true,
            params: vec![id],
            body: Some(obj(
                &[
                    ("submission_id", json!({"type": "string", "format": "uuid"})),
                    ("checklist", s("string")),
                    ("version", s("integer")),
                    ("answers", arr(answer)),
                ],
                &["submission_id", "answers"],
            )),
            ok: (
                "200",
                obj(
                    &[
                        ("inspection_id", s("integer")),
                        ("task_id", s("integer")),
                        (
                            "outcome",
                            json!({"type": "string", "enum": ["passed", "failed"]}),
                        ),
                        (
                            "grade",
                            json!({"type": "string", "enum": ["green", "yellow", "red"]}),
                        ),
                        ("findings", arr(r("Finding"))),
                    ],
                    &["outcome", "grade", "findings"],
                ),
            ),
        },
        Op {
            method: "post",
            path: "/findings/{id}/fix",
            summary: "Report a finding fixed; the last one creates a re-inspection task",
            tag: "inspections",
            auth: true,
            params: vec![id],
            body: Some(obj(
                &[("note", s("string")), ("photo_ids", arr(s("string")))],
                &["note", "photo_ids"],
            )),
            ok: (
                "200",
                obj(
                    &[
                        ("finding_id", s("integer")),
                        ("status", s("string")),
                        ("reinspection_task_id", json!({"type": ["integer", "null"]})),
                    ],
                    &["finding_id", "status"],
                ),
            ),
        },
        Op {
            method: "get",
            path: "/openapi.json",
            summary: "This document",
            tag: "meta",
            auth: false,
            params: vec![],
            body: None,
            ok: ("200", s("object")),
        },
    ]
}

fn schemas() -> Value {
    json!({
        "Problem": obj(&[("error", s("string")), ("message", s("string")), ("fields", json!({"type": "object", "additionalProperties": arr(s("string"))}))], &["error", "message"]),
        "Village": obj(&[("id", s("integer")), ("code", s("string")), ("name", s("string")), ("grids", arr(obj(&[("id", s("integer")), ("name", s("string"))], &["id", "name"])))], &["id", "code", "name", "grids"]),
        "Room": obj(&[("label", s("string")), ("floor", s("integer")), ("area_m2", s("number")), ("kind", json!({"type": "string", "enum": ["bedroom", "kitchen", "bathroom", "living", "basement", "balcony"]}))], &["label", "floor", "area_m2", "kind"]),
        "PropertyInput": obj(&[("village_id", s("integer")), ("grid_id", s("integer")), ("address", s("string")), ("floors", s("integer")), ("structure", s("string")), ("rooms", arr(r("Room")))], &["village_id", "grid_id", "address", "floors", "structure", "rooms"]),
        "Property": obj(&[("id", s("integer")), ("village_id", s("integer")), ("grid_id", s("integer")), ("address", s("string")), ("rooms", arr(s("object")))], &["id"]),
        "Application": obj(&[("id", s("integer")), ("status", s("string")), ("history", arr(s("object"))), ("property", r("Property"))], &["id", "status"]),
        "Task": obj(&[("id", s("integer")), ("kind", json!({"type": "string", "enum": ["initial", "reinspection", "routine", "complaint"]})), ("status", json!({"type": "string", "enum": ["open", "in_progress", "done", "cancelled"]})), ("property_id", s("integer")), ("address", s("string")), ("due_at", json!({"type": "string", "format": "date-time"})), ("overdue", s("boolean")), ("checklist", s("string")), ("items", arr(s("string")))], &["id", "kind", "status", "property_id", "address", "due_at", "checklist"]),
        "Checklist": obj(&[("key", s("string")), ("version", s("integer")), ("title", s("string")), ("content_hash", s("string")), ("sections", arr(obj(&[("key", s("string")), ("title", s("string")), ("items", arr(obj(&[("key", s("string")), ("label", s("string")), ("kind", s("string")), ("severity", s("string")), ("photo_on_fail", s("boolean"))], &["key", "label", "kind", "severity", "photo_on_fail"])))], &["key", "title", "items"])))], &["key", "version", "sections"]),
        "Finding": obj(&[("id", s("integer")), ("item", s("string")), ("severity", s("string")), ("deadline_at", json!({"type": ["string", "null"], "format": "date-time"})), ("note", json!({"type": ["string", "null"]})), ("photo_ids", arr(s("string")))], &["id", "item", "severity"]),
    })
}

fn merged_schemas() -> Value {
    let mut all = schemas();
    if let (Some(dst), Some(src)) = (
        all.as_object_mut(),
        super::openapi_more::schemas().as_object(),
    ) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
    all
}

/// The whole document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    let all = ops()
        .into_iter()
        .chain(super::openapi_more::ops())
        .chain(super::openapi_more::stay_ops());
    for o in all {
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method] = operation(&o);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Anju 安居 API", "version": "1", "description": "Rental housing access permits: houses, applications, inspections. Errors are JSON {error, message, fields?}."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": merged_schemas(),
            "responses": {"Problem": {"description": "Error", "content": {"application/json": {"schema": r("Problem")}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

#[get("/openapi.json")]
pub fn document() -> Value {
    spec()
}
