//! The residents' register's filter: what a list, an export or a police pull asks for, parsed
//! from query parameters once for the pages and the API. A malformed value is a 400 with a
//! message, never a silent "all".
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::dashboard::Windows;
use crate::domain::drilldown::{Movement, parse_opt};
use crate::domain::identity::DocType;
use crate::domain::stay::StayStatus;
use crate::error::AppError;

/// Filters of the register; `active_on` None means "now".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Filter {
    pub village_id: Option<i32>,
    pub grid_id: Option<i32>,
    pub property_id: Option<i32>,
    pub doc_type: Option<String>,
    pub active_on: Option<NaiveDate>,
    /// Check-ins waiting for the landlord's confirmation instead of the people living there
    /// (the command room's "待确认").
    #[serde(default)]
    pub pending: bool,
    /// Instead of who lives there: the stays that moved (checked in, or out) since the time
    /// given, whatever their status now (the command room's 较昨日).
    pub moved: Option<(Movement, DateTime<Utc>)>,
}

/// The filter's parameters as typed.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawFilter<'a> {
    pub village_id: Option<&'a str>,
    pub grid_id: Option<&'a str>,
    pub property_id: Option<&'a str>,
    pub doc_type: Option<&'a str>,
    pub active_on: Option<&'a str>,
    pub status: Option<&'a str>,
    pub moved: Option<&'a str>,
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn id(v: Option<&str>, what: &str) -> Result<Option<i32>, AppError> {
    given(v)
        .map(|s| {
            s.parse()
                .map_err(|_| AppError::BadRequest(format!("{what} 应为数字")))
        })
        .transpose()
}

impl Filter {
    /// `now` places "moved in the last day" in the same 24 hours as the snapshot's 较昨日.
    pub fn parse(raw: RawFilter<'_>, now: DateTime<Utc>) -> Result<Filter, AppError> {
        let doc_type = given(raw.doc_type)
            .map(|s| {
                DocType::parse(s)
                    .map(|t| t.as_str().to_string())
                    .ok_or_else(|| AppError::BadRequest("未知的证件类型".into()))
            })
            .transpose()?;
        let active_on = given(raw.active_on)
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| AppError::BadRequest("日期格式应为 YYYY-MM-DD".into()))
            })
            .transpose()?;
        // The register lists the people living there, or the check-ins still waiting.
        let pending = match given(raw.status).map(StayStatus::parse) {
            None | Some(Some(StayStatus::Active)) => false,
            Some(Some(StayStatus::Pending)) => true,
            Some(_) => return Err(AppError::BadRequest("未知的居住状态".into())),
        };
        if pending && active_on.is_some() {
            return Err(AppError::BadRequest(
                "待确认的登记没有在住日期，请清空在住日期后再查询".into(),
            ));
        }
        let moved = parse_opt(raw.moved, Movement::parse, "未知的入住变动")
            .map_err(|e| AppError::BadRequest(e.into()))?;
        if moved.is_some() && (pending || active_on.is_some()) {
            return Err(AppError::BadRequest(
                "入住变动不能与状态或在住日期同时查询".into(),
            ));
        }
        let since = Windows::at(now, crate::domain::clock::town_date(now)).day_ago;
        Ok(Filter {
            village_id: id(raw.village_id, "village_id")?,
            grid_id: id(raw.grid_id, "grid_id")?,
            property_id: id(raw.property_id, "property_id")?,
            doc_type,
            active_on,
            pending,
            moved: moved.map(|m| (m, since)),
        })
    }

    /// The filter as the query string that asks for it again (links, pagination, exports).
    pub fn query(&self) -> String {
        let mut q = Vec::new();
        if let Some(v) = self.village_id {
            q.push(format!("village_id={v}"));
        }
        if let Some(g) = self.grid_id {
            q.push(format!("grid_id={g}"));
        }
        if let Some(p) = self.property_id {
            q.push(format!("property_id={p}"));
        }
        if let Some(t) = &self.doc_type {
            q.push(format!("doc_type={t}"));
        }
        if let Some(d) = self.active_on {
            q.push(format!("active_on={d}"));
        }
        if self.pending {
            q.push(format!("status={}", StayStatus::Pending.as_str()));
        }
        if let Some((m, _)) = self.moved {
            q.push(format!("moved={}", m.as_str()));
        }
        q.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_reads_back_from_its_own_query() {
        let raw = RawFilter {
            village_id: Some("2"),
            doc_type: Some("resident_id"),
            status: Some("pending"),
            ..Default::default()
        };
        let f = Filter::parse(raw, Utc::now()).expect("parses");
        assert!(f.pending);
        assert_eq!(
            f.query(),
            "village_id=2&doc_type=resident_id&status=pending"
        );
    }

    #[test]
    fn pending_check_ins_have_no_day_of_residence_and_unknown_values_are_refused() {
        let both = RawFilter {
            status: Some("pending"),
            active_on: Some("2026-11-01"),
            ..Default::default()
        };
        assert!(Filter::parse(both, Utc::now()).is_err());
        for bad in [
            RawFilter {
                status: Some("gone"),
                ..Default::default()
            },
            RawFilter {
                village_id: Some("x"),
                ..Default::default()
            },
            RawFilter {
                active_on: Some("1.11.2026"),
                ..Default::default()
            },
            RawFilter {
                doc_type: Some("passport?"),
                ..Default::default()
            },
        ] {
            assert!(Filter::parse(bad, Utc::now()).is_err(), "{bad:?}");
        }
        assert!(
            !Filter::parse(
                RawFilter {
                    status: Some("active"),
                    ..Default::default()
                },
                Utc::now()
            )
            .expect("active")
            .pending
        );
    }
}
