//! OpenAPI operations of the permit and tenant routes: approval, permit lifecycle, certificates,
//! verification, check-in and check-out, the residents' register.
use serde_json::json;

use super::openapi::{Op, arr, obj, r, s};

pub(super) fn ops() -> Vec<Op> {
    let id = ("id", "path", "integer");
    let number = ("number", "path", "string");
    let reason = || Some(obj(&[("reason", s("string"))], &["reason"]));
    let permit = || r("Permit");
    let mut v = vec![
        Op {
            method: "post",
            path: "/applications/{id}/approve",
            summary: "Approve a passed application: issue the permit (official of the village)",
            tag: "permits",
            auth: true,
            params: vec![id],
            body: Some(obj(
                &[
                    ("valid_months", s("integer")),
                    ("max_occupants", s("integer")),
                ],
                &[],
            )),
            ok: (
                "201",
                obj(
                    &[
                        ("permit_number", s("string")),
                        ("max_occupants", s("integer")),
                        ("valid_until", json!({"type": "string", "format": "date"})),
                        ("qr_url", s("string")),
                    ],
                    &["permit_number"],
                ),
            ),
        },
        Op {
            method: "post",
            path: "/applications/{id}/reject",
            summary: "Reject a passed application with a reason",
            tag: "permits",
            auth: true,
            params: vec![id],
            body: reason(),
            ok: (
                "200",
                obj(
                    &[("id", s("integer")), ("status", s("string"))],
                    &["id", "status"],
                ),
            ),
        },
        Op {
            method: "get",
            path: "/permits",
            summary: "Permits the caller may see, one page at a time",
            tag: "permits",
            auth: true,
            params: vec![("page", "query", "integer")],
            body: None,
            ok: (
                "200",
                obj(
                    &[("items", arr(permit())), ("total", s("integer"))],
                    &["items", "total"],
                ),
            ),
        },
        Op {
            method: "get",
            path: "/permits/{number}",
            summary: "A permit with status, validity, max_occupants, grade and qr_url",
            tag: "permits",
            auth: true,
            params: vec![number],
            body: None,
            ok: ("200", permit()),
        },
        Op {
            method: "get",
            path: "/permits/{number}/certificate.pdf",
            summary: "The printable certificate (PDF)",
            tag: "permits",
            auth: true,
            params: vec![number],
            body: None,
            ok: ("200", json!({"type": "string", "format": "binary"})),
        },
        Op {
            method: "get",
            path: "/verify/{number}",
            summary: "Public verification of a permit and its QR signature; no personal data",
            tag: "public",
            auth: false,
            params: vec![number, ("sig", "query", "string")],
            body: None,
            ok: (
                "200",
                obj(
                    &[
                        ("authentic", s("boolean")),
                        ("status", s("string")),
                        ("valid_until", json!({"type": "string", "format": "date"})),
                        ("max_occupants", s("integer")),
                        ("occupants", s("integer")),
                        ("grade", s("string")),
                        ("village", s("string")),
                    ],
                    &["authentic"],
                ),
            ),
        },
        Op {
            method: "get",
            path: "/keys/permit-signing",
            summary: "The Ed25519 public keys that sign QR codes (old keys stay published)",
            tag: "public",
            auth: false,
            params: vec![],
            body: None,
            ok: (
                "200",
                obj(
                    &[("algorithm", s("string")), ("keys", arr(s("object")))],
                    &["keys"],
                ),
            ),
        },
    ];
    for (action, summary) in [
        (
            "suspend",
            "Suspend a permit with a reason (official of the village)",
        ),
        ("reinstate", "Reinstate a suspended permit"),
        ("revoke", "Revoke a permit with a reason; final"),
    ] {
        v.push(Op {
            method: "post",
            path: match action {
                "suspend" => "/permits/{number}/suspend",
                "reinstate" => "/permits/{number}/reinstate",
                _ => "/permits/{number}/revoke",
            },
            summary,
            tag: "permits",
            auth: true,
            params: vec![number],
            body: reason(),
            ok: ("200", permit()),
        });
    }
    v
}

/// Schemas the permit operations refer to.
pub(super) fn schemas() -> serde_json::Value {
    json!({
        "Permit": obj(
            &[("number", s("string")), ("status", json!({"type": "string", "enum": ["active", "suspended", "revoked", "expired"]})), ("valid_from", json!({"type": "string", "format": "date"})), ("valid_until", json!({"type": "string", "format": "date"})), ("max_occupants", s("integer")), ("grade", s("string")), ("qr_url", s("string"))],
            &["number", "status"],
        ),
    })
}

/// Operations of the tenant routes: check-in from the QR, the landlord's decisions, check-out,
/// and the residents' register for police systems.
pub(super) fn stay_ops() -> Vec<Op> {
    let id = ("id", "path", "integer");
    let stay_state = || {
        obj(
            &[("stay_id", s("integer")), ("status", s("string"))],
            &["status"],
        )
    };
    vec![
        Op {
            method: "post",
            path: "/permits/{number}/stays",
            summary: "Check in under a permit (anyone holding the QR signature); returns a check-out code once",
            tag: "stays",
            auth: false,
            params: vec![("number", "path", "string")],
            body: Some(obj(
                &[
                    ("sig", s("string")),
                    ("name", s("string")),
                    (
                        "doc_type",
                        json!({"type": "string", "enum": ["resident_id", "hmt_residence_permit", "foreign_permanent_resident_id", "passport"]}),
                    ),
                    ("doc_number", s("string")),
                    ("phone", s("string")),
                    ("room_id", s("integer")),
                    ("move_in", json!({"type": "string", "format": "date"})),
                    (
                        "move_out_expected",
                        json!({"type": "string", "format": "date"}),
                    ),
                    ("employer", s("string")),
                    ("lang", json!({"type": "string", "enum": ["zh", "en"]})),
                ],
                &[
                    "sig",
                    "name",
                    "doc_type",
                    "doc_number",
                    "phone",
                    "room_id",
                    "move_in",
                ],
            )),
            ok: (
                "201",
                obj(
                    &[
                        ("stay_id", s("integer")),
                        ("status", s("string")),
                        ("checkout_code", s("string")),
                    ],
                    &["stay_id", "status", "checkout_code"],
                ),
            ),
        },
        Op {
            method: "post",
            path: "/stays/{id}/confirm",
            summary: "The landlord confirms a pending stay",
            tag: "stays",
            auth: true,
            params: vec![id],
            body: None,
            ok: ("200", stay_state()),
        },
        Op {
            method: "post",
            path: "/stays/{id}/reject",
            summary: "The landlord rejects a pending stay",
            tag: "stays",
            auth: true,
            params: vec![id],
            body: None,
            ok: ("200", stay_state()),
        },
        Op {
            method: "post",
            path: "/stays/{id}/checkout",
            summary: "Check out: the landlord, or anyone with the stay's check-out code",
            tag: "stays",
            auth: false,
            params: vec![id],
            body: Some(obj(&[("checkout_code", s("string"))], &[])),
            ok: ("200", stay_state()),
        },
        Op {
            method: "get",
            path: "/residents",
            summary: "The residents' register: who lives where (document numbers masked unless full=true for police/officials, audited)",
            tag: "stays",
            auth: true,
            params: vec![
                ("village_id", "query", "integer"),
                ("grid_id", "query", "integer"),
                ("property_id", "query", "integer"),
                ("doc_type", "query", "string"),
                ("active_on", "query", "string"),
                ("page", "query", "integer"),
                ("per_page", "query", "integer"),
                ("full", "query", "boolean"),
            ],
            body: None,
            ok: (
                "200",
                obj(
                    &[("items", arr(s("object"))), ("total", s("integer"))],
                    &["items", "total"],
                ),
            ),
        },
    ]
}
