//! Parsing and validating one checklist file into a [`Checklist`].

use std::collections::HashSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::error::{ChecklistError, Problem, line_of, translate_toml_message};
use super::model::{
    Cadence, Checklist, ChoiceOption, Deadlines, GradingRule, Item, ItemKind, Occupancy, Section,
    Severity,
};

// The raw shapes mirror the file one to one. Labels and keys are `Spanned` so validation
// errors can point at the offending line, and kind/severity are plain strings so an unknown
// value gets a specific message rather than serde's generic one.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecklist {
    key: Spanned<String>,
    version: Spanned<i64>,
    title_zh: Option<Spanned<String>>,
    #[serde(default)]
    title_en: String,
    grading: Spanned<GradingRule>,
    deadlines: Deadlines,
    cadence: Spanned<Cadence>,
    occupancy: Spanned<Occupancy>,
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    key: Spanned<String>,
    title_zh: Option<Spanned<String>>,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: Spanned<String>,
    label_zh: Option<Spanned<String>>,
    #[serde(default)]
    label_en: String,
    kind: Spanned<String>,
    severity: Spanned<String>,
    legal_basis: Spanned<String>,
    #[serde(default)]
    photo_on_fail: bool,
    unit: Option<Spanned<String>>,
    min: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
    options: Option<Vec<RawOption>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    key: Spanned<String>,
    label_zh: Option<Spanned<String>>,
    #[serde(default)]
    label_en: String,
    #[serde(default)]
    fails: bool,
}

/// Parses and validates one checklist file. `file_name` only labels errors and
/// `Checklist::source_file`; `content_hash` is the SHA-256 of `text`'s bytes.
pub fn parse(file_name: &str, text: &str) -> Result<Checklist, ChecklistError> {
    let ctx = Ctx { file_name, text };
    let raw: RawChecklist = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let at = span.clone().and_then(|s| text.get(s));
        ChecklistError {
            file: file_name.to_string(),
            line: span.map(|s| line_of(text, s.start)),
            problem: Problem::Syntax(translate_toml_message(e.message(), at)),
        }
    })?;

    check_key(&ctx, &raw.key, "检查表")?;
    let version = u32::try_from(*raw.version.get_ref())
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ctx.err(&raw.version, invalid("version 必须是正整数")))?;
    let title_zh = ctx.zh_label(raw.title_zh, &raw.key, "检查表", "title_zh")?;

    check_grading(&ctx, &raw.grading)?;
    check_cadence(&ctx, &raw.cadence)?;
    check_occupancy(&ctx, &raw.occupancy)?;

    if raw.sections.is_empty() {
        return Err(ctx.err(&raw.key, invalid("检查表没有任何分区 [[sections]]")));
    }
    let mut section_keys = HashSet::new();
    let mut item_keys = HashSet::new();
    let mut sections = Vec::with_capacity(raw.sections.len());
    for rs in raw.sections {
        check_key(&ctx, &rs.key, "分区")?;
        if !section_keys.insert(rs.key.get_ref().clone()) {
            return Err(ctx.err(&rs.key, Problem::DuplicateSection(rs.key.get_ref().clone())));
        }
        let owner = format!("分区 {}", rs.key.get_ref());
        let title_zh = ctx.zh_label(rs.title_zh, &rs.key, &owner, "title_zh")?;
        if rs.items.is_empty() {
            let msg = format!("分区 {} 没有任何检查项", rs.key.get_ref());
            return Err(ctx.err(&rs.key, invalid(msg)));
        }
        let mut items = Vec::with_capacity(rs.items.len());
        for ri in rs.items {
            check_key(&ctx, &ri.key, "检查项")?;
            // Keys are unique across the whole checklist, not per section: answers and
            // findings refer to items by key alone.
            if !item_keys.insert(ri.key.get_ref().clone()) {
                return Err(ctx.err(&ri.key, Problem::DuplicateItem(ri.key.get_ref().clone())));
            }
            items.push(item(&ctx, ri)?);
        }
        sections.push(Section {
            key: rs.key.into_inner(),
            title_zh,
            title_en: rs.title_en,
            items,
        });
    }

    Ok(Checklist {
        key: raw.key.into_inner(),
        version,
        title_zh,
        title_en: raw.title_en,
        sections,
        grading: raw.grading.into_inner(),
        deadlines: raw.deadlines,
        cadence: raw.cadence.into_inner(),
        occupancy: raw.occupancy.into_inner(),
        content_hash: hex::encode(Sha256::digest(text.as_bytes())),
        source_file: file_name.to_string(),
        version_line: line_of(text, raw.version.span().start),
    })
}

struct Ctx<'a> {
    file_name: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, at: &Spanned<T>, problem: Problem) -> ChecklistError {
        ChecklistError {
            file: self.file_name.to_string(),
            line: Some(line_of(self.text, at.span().start)),
            problem,
        }
    }

    /// A Chinese label is required: the UI and the certificate are zh-CN. A missing label is
    /// reported on the owner's key line, an empty one on its own line.
    fn zh_label(
        &self,
        label: Option<Spanned<String>>,
        owner_key: &Spanned<String>,
        owner: &str,
        field: &'static str,
    ) -> Result<String, ChecklistError> {
        let problem = || Problem::MissingLabel {
            owner: owner.to_string(),
            field,
        };
        match label {
            None => Err(self.err(owner_key, problem())),
            Some(l) if l.get_ref().trim().is_empty() => Err(self.err(&l, problem())),
            Some(l) => Ok(l.into_inner().trim().to_string()),
        }
    }
}

fn invalid(msg: impl Into<String>) -> Problem {
    Problem::Invalid(msg.into())
}

/// Keys end up in URLs, form field names and database rows, so they stay plain ASCII.
fn check_key(ctx: &Ctx, key: &Spanned<String>, what: &str) -> Result<(), ChecklistError> {
    let k = key.get_ref();
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        let msg =
            format!("{what}的键 `{k}` 无效：只能使用小写字母、数字和 . _ -，且不超过 64 个字符");
        Err(ctx.err(key, invalid(msg)))
    }
}

fn item(ctx: &Ctx, ri: RawItem) -> Result<Item, ChecklistError> {
    let key = ri.key.get_ref().clone();
    let owner = format!("检查项 {key}");
    let label_zh = ctx.zh_label(ri.label_zh, &ri.key, &owner, "label_zh")?;
    let severity = Severity::parse(ri.severity.get_ref()).ok_or_else(|| {
        ctx.err(
            &ri.severity,
            Problem::UnknownSeverity(ri.severity.get_ref().clone()),
        )
    })?;
    if ri.legal_basis.get_ref().trim().is_empty() {
        let msg = format!("检查项 {key} 缺少依据 legal_basis");
        return Err(ctx.err(&ri.legal_basis, invalid(msg)));
    }

    let kind_name = ri.kind.get_ref().as_str();
    if !ItemKind::NAMES.contains(&kind_name) {
        return Err(ctx.err(&ri.kind, Problem::UnknownKind(kind_name.to_string())));
    }
    // Fields that belong to another kind are refused rather than ignored: they are almost
    // always a typo in `kind`, and silently dropping a threshold would pass unsafe houses.
    let not_for_kind = |field: &str| {
        invalid(format!(
            "检查项 {key} 的类型为 {kind_name}，不能设置 {field}"
        ))
    };
    if kind_name != "number" {
        if let Some(u) = &ri.unit {
            return Err(ctx.err(u, not_for_kind("unit")));
        }
        if let Some(b) = ri.min.as_ref().or(ri.max.as_ref()) {
            return Err(ctx.err(b, not_for_kind("min / max")));
        }
    }
    if kind_name != "choice" && ri.options.is_some() {
        return Err(ctx.err(&ri.kind, not_for_kind("options")));
    }

    let kind = match kind_name {
        "pass_fail" => ItemKind::PassFail,
        "text" => ItemKind::Text,
        "number" => number_kind(ctx, &ri.key, ri.unit, ri.min, ri.max)?,
        "choice" => choice_kind(ctx, &ri.key, ri.options.unwrap_or_default())?,
        other => return Err(ctx.err(&ri.kind, Problem::UnknownKind(other.to_string()))),
    };
    Ok(Item {
        key,
        label_zh,
        label_en: ri.label_en,
        kind,
        severity,
        legal_basis: ri.legal_basis.into_inner().trim().to_string(),
        photo_on_fail: ri.photo_on_fail,
    })
}

fn number_kind(
    ctx: &Ctx,
    key: &Spanned<String>,
    unit: Option<Spanned<String>>,
    min: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
) -> Result<ItemKind, ChecklistError> {
    let bad = |reason: &str| Problem::BadThreshold {
        item: key.get_ref().clone(),
        reason: reason.to_string(),
    };
    let unit = match unit {
        Some(u) if !u.get_ref().trim().is_empty() => u.into_inner().trim().to_string(),
        Some(u) => {
            return Err(ctx.err(
                &u,
                invalid(format!("检查项 {} 的单位 unit 为空", key.get_ref())),
            ));
        }
        None => {
            return Err(ctx.err(
                key,
                invalid(format!("数值检查项 {} 缺少单位 unit", key.get_ref())),
            ));
        }
    };
    for bound in [&min, &max].into_iter().flatten() {
        let v = *bound.get_ref();
        if !v.is_finite() {
            return Err(ctx.err(bound, bad("阈值必须是有限的数")));
        }
        if v < 0.0 {
            return Err(ctx.err(bound, bad("阈值不能为负数")));
        }
    }
    match (&min, &max) {
        (None, None) => Err(ctx.err(key, bad("数值检查项须设置 min 或 max"))),
        (Some(lo), Some(hi)) if lo.get_ref() > hi.get_ref() => {
            Err(ctx.err(lo, bad("min 大于 max")))
        }
        _ => Ok(ItemKind::Number {
            unit,
            min: min.map(Spanned::into_inner),
            max: max.map(Spanned::into_inner),
        }),
    }
}

fn choice_kind(
    ctx: &Ctx,
    key: &Spanned<String>,
    raw: Vec<RawOption>,
) -> Result<ItemKind, ChecklistError> {
    let k = key.get_ref();
    if raw.len() < 2 {
        return Err(ctx.err(
            key,
            invalid(format!("选择题检查项 {k} 须至少有两个选项 options")),
        ));
    }
    // A choice that can never fail (or never pass) is a mistake in the file, not a rule.
    if raw.iter().all(|o| o.fails) || raw.iter().all(|o| !o.fails) {
        let msg = format!("选择题检查项 {k} 须既有合格选项，也有 fails = true 的不合格选项");
        return Err(ctx.err(key, invalid(msg)));
    }
    let mut seen = HashSet::new();
    let mut options = Vec::with_capacity(raw.len());
    for o in raw {
        check_key(ctx, &o.key, "选项")?;
        if !seen.insert(o.key.get_ref().clone()) {
            let problem = Problem::DuplicateOption {
                item: k.clone(),
                option: o.key.get_ref().clone(),
            };
            return Err(ctx.err(&o.key, problem));
        }
        let owner = format!("检查项 {k} 的选项 {}", o.key.get_ref());
        let label_zh = ctx.zh_label(o.label_zh, &o.key, &owner, "label_zh")?;
        options.push(ChoiceOption {
            key: o.key.into_inner(),
            label_zh,
            label_en: o.label_en,
            fails: o.fails,
        });
    }
    Ok(ItemKind::Choice { options })
}

fn check_grading(ctx: &Ctx, g: &Spanned<GradingRule>) -> Result<(), ChecklistError> {
    let rule = g.get_ref();
    if let Some(s) = rule
        .red_when_open
        .iter()
        .find(|s| rule.yellow_when_open.contains(s))
    {
        let msg = format!("评级规则中 {s} 同时出现在 red_when_open 和 yellow_when_open");
        return Err(ctx.err(g, invalid(msg)));
    }
    if rule.red_when_open.is_empty() && rule.yellow_when_open.is_empty() {
        return Err(ctx.err(g, invalid("评级规则为空：所有房屋都会是绿色")));
    }
    Ok(())
}

fn check_cadence(ctx: &Ctx, c: &Spanned<Cadence>) -> Result<(), ChecklistError> {
    let v = c.get_ref();
    if v.green == 0 || v.yellow == 0 || v.red == 0 {
        return Err(ctx.err(c, invalid("巡查周期 cadence 的天数必须大于 0")));
    }
    Ok(())
}

fn check_occupancy(ctx: &Ctx, o: &Spanned<Occupancy>) -> Result<(), ChecklistError> {
    let v = o.get_ref();
    if !(v.per_person_area_m2.is_finite() && v.per_person_area_m2 > 0.0) {
        return Err(ctx.err(o, invalid("occupancy.per_person_area_m2 必须是大于 0 的数")));
    }
    if v.persons_per_room == 0 {
        return Err(ctx.err(o, invalid("occupancy.persons_per_room 必须大于 0")));
    }
    if v.letting_room_kinds.is_empty() {
        return Err(ctx.err(o, invalid("occupancy.letting_room_kinds 不能为空")));
    }
    Ok(())
}
