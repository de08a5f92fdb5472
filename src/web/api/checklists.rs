//! The checklist as `GET /api/v1/checklists/{key}` serves it: titles and labels in zh-CN, the
//! `_en` variants alongside, each item flat with its kind's own fields.
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::domain::checklist::{Checklist, Item, ItemKind, Section, Severity};

#[derive(Serialize, ToSchema)]
pub struct ChecklistDoc {
    key: String,
    version: u32,
    title: String,
    title_en: String,
    content_hash: String,
    sections: Vec<SectionDoc>,
}

#[derive(Serialize, ToSchema)]
pub struct SectionDoc {
    key: String,
    title: String,
    title_en: String,
    items: Vec<ItemDoc>,
}

#[derive(Serialize, ToSchema)]
pub struct ItemDoc {
    key: String,
    label: String,
    label_en: String,
    /// What the inspector records: `number` items carry `unit`/`min`/`max`, `choice` items `options`.
    #[schema(schema_with = item_kind_schema)]
    kind: &'static str,
    severity: Severity,
    severity_label: &'static str,
    legal_basis: String,
    photo_on_fail: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    number: Option<NumberSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Vec<OptionDoc>>,
}

/// Bounds of a `number` item; at least one is present.
#[derive(Serialize, ToSchema)]
pub struct NumberSpec {
    unit: String,
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct OptionDoc {
    key: String,
    label: String,
    label_en: String,
    /// Choosing this option makes the item fail.
    fails: bool,
}

/// The item kinds as a string enum, from the domain's one list of names.
fn item_kind_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ItemKind::NAMES))
}

impl From<&Item> for ItemDoc {
    fn from(i: &Item) -> Self {
        let (number, options) = match &i.kind {
            ItemKind::Number { unit, min, max } => (
                Some(NumberSpec {
                    unit: unit.clone(),
                    min: *min,
                    max: *max,
                }),
                None,
            ),
            ItemKind::Choice { options } => (
                None,
                Some(
                    options
                        .iter()
                        .map(|o| OptionDoc {
                            key: o.key.clone(),
                            label: o.label_zh.clone(),
                            label_en: o.label_en.clone(),
                            fails: o.fails,
                        })
                        .collect(),
                ),
            ),
            ItemKind::PassFail | ItemKind::Text => (None, None),
        };
        ItemDoc {
            key: i.key.clone(),
            label: i.label_zh.clone(),
            label_en: i.label_en.clone(),
            kind: i.kind.as_str(),
            severity: i.severity,
            severity_label: i.severity.label_zh(),
            legal_basis: i.legal_basis.clone(),
            photo_on_fail: i.photo_on_fail,
            number,
            options,
        }
    }
}

impl From<&Section> for SectionDoc {
    fn from(s: &Section) -> Self {
        SectionDoc {
            key: s.key.clone(),
            title: s.title_zh.clone(),
            title_en: s.title_en.clone(),
            items: s.items.iter().map(ItemDoc::from).collect(),
        }
    }
}

impl From<&Checklist> for ChecklistDoc {
    fn from(c: &Checklist) -> Self {
        ChecklistDoc {
            key: c.key.clone(),
            version: c.version,
            title: c.title_zh.clone(),
            title_en: c.title_en.clone(),
            content_hash: c.content_hash.clone(),
            sections: c.sections.iter().map(SectionDoc::from).collect(),
        }
    }
}
