//! Events that leave Anju (the outbox): their types, delivery statuses, the retry schedule, quiet
//! hours for texts, and which addresses a webhook may point at. Pure rules, no I/O.
use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Every event type of the contract (API.md "Events, notifications and webhooks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    #[serde(rename = "application.submitted")]
    ApplicationSubmitted,
    #[serde(rename = "task.created")]
    TaskCreated,
    #[serde(rename = "task.completed")]
    TaskCompleted,
    #[serde(rename = "finding.created")]
    FindingCreated,
    #[serde(rename = "finding.due_soon")]
    FindingDueSoon,
    #[serde(rename = "finding.overdue")]
    FindingOverdue,
    #[serde(rename = "permit.approved")]
    PermitApproved,
    #[serde(rename = "permit.suspended")]
    PermitSuspended,
    #[serde(rename = "permit.revoked")]
    PermitRevoked,
    #[serde(rename = "permit.expiring")]
    PermitExpiring,
    #[serde(rename = "stay.pending")]
    StayPending,
    #[serde(rename = "stay.pending_overdue")]
    StayPendingOverdue,
    #[serde(rename = "stay.confirmed")]
    StayConfirmed,
    #[serde(rename = "stay.checked_out")]
    StayCheckedOut,
    #[serde(rename = "stay.flood")]
    StayFlood,
    #[serde(rename = "event.reported")]
    EventReported,
    #[serde(rename = "property.transferred")]
    PropertyTransferred,
    #[serde(rename = "landlord.merged")]
    LandlordMerged,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::ApplicationSubmitted,
        EventKind::TaskCreated,
        EventKind::TaskCompleted,
        EventKind::FindingCreated,
        EventKind::FindingDueSoon,
        EventKind::FindingOverdue,
        EventKind::PermitApproved,
        EventKind::PermitSuspended,
        EventKind::PermitRevoked,
        EventKind::PermitExpiring,
        EventKind::StayPending,
        EventKind::StayPendingOverdue,
        EventKind::StayConfirmed,
        EventKind::StayCheckedOut,
        EventKind::StayFlood,
        EventKind::EventReported,
        EventKind::PropertyTransferred,
        EventKind::LandlordMerged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ApplicationSubmitted => "application.submitted",
            EventKind::TaskCreated => "task.created",
            EventKind::TaskCompleted => "task.completed",
            EventKind::FindingCreated => "finding.created",
            EventKind::FindingDueSoon => "finding.due_soon",
            EventKind::FindingOverdue => "finding.overdue",
            EventKind::PermitApproved => "permit.approved",
            EventKind::PermitSuspended => "permit.suspended",
            EventKind::PermitRevoked => "permit.revoked",
            EventKind::PermitExpiring => "permit.expiring",
            EventKind::StayPending => "stay.pending",
            EventKind::StayPendingOverdue => "stay.pending_overdue",
            EventKind::StayConfirmed => "stay.confirmed",
            EventKind::StayCheckedOut => "stay.checked_out",
            EventKind::StayFlood => "stay.flood",
            EventKind::EventReported => "event.reported",
            EventKind::PropertyTransferred => "property.transferred",
            EventKind::LandlordMerged => "landlord.merged",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the admin's pages call it.
    pub fn label_zh(self) -> &'static str {
        match self {
            EventKind::ApplicationSubmitted => "提交准入申请",
            EventKind::TaskCreated => "新检查任务",
            EventKind::TaskCompleted => "检查完成",
            EventKind::FindingCreated => "发现隐患",
            EventKind::FindingDueSoon => "隐患整改即将到期",
            EventKind::FindingOverdue => "隐患整改逾期",
            EventKind::PermitApproved => "准入证核发",
            EventKind::PermitSuspended => "准入证暂停",
            EventKind::PermitRevoked => "准入证吊销",
            EventKind::PermitExpiring => "准入证即将到期",
            EventKind::StayPending => "租客待确认",
            EventKind::StayPendingOverdue => "租客超过24小时未确认",
            EventKind::StayConfirmed => "租客入住确认",
            EventKind::StayCheckedOut => "租客退租",
            EventKind::StayFlood => "异常集中登记",
            EventKind::EventReported => "网格员上报事件",
            EventKind::PropertyTransferred => "房屋过户",
            EventKind::LandlordMerged => "房东账号合并",
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "待发送",
            DeliveryStatus::Delivered => "已送达",
            DeliveryStatus::Failed => "失败",
        }
    }
}

/// The channel a delivery goes through (in-app notices are written directly, never retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Webhook,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Sms => "sms",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "webhook" => Some(Channel::Webhook),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// The other matters an inspector may report from a visit (掌上基层).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    FireHazard,
    PublicOrder,
    Environment,
    IllegalConstruction,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 5] = [
        ReportCategory::FireHazard,
        ReportCategory::PublicOrder,
        ReportCategory::Environment,
        ReportCategory::IllegalConstruction,
        ReportCategory::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::FireHazard => "fire_hazard",
            ReportCategory::PublicOrder => "public_order",
            ReportCategory::Environment => "environment",
            ReportCategory::IllegalConstruction => "illegal_construction",
            ReportCategory::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<ReportCategory> {
        ReportCategory::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            ReportCategory::FireHazard => "消防隐患",
            ReportCategory::PublicOrder => "治安问题",
            ReportCategory::Environment => "环境卫生",
            ReportCategory::IllegalConstruction => "违章搭建",
            ReportCategory::Other => "其他",
        }
    }
}

/// After the `attempts`-th failed attempt: when to try again, or `None` when the schedule is used up.
pub fn next_attempt(
    schedule: &[u64],
    attempts: u32,
    now: DateTime<Utc>,
    retry_after: Option<std::time::Duration>,
) -> Option<DateTime<Utc>> {
    let wait = *schedule.get(attempts.checked_sub(1)? as usize)?;
    // A receiver that says when to come back is believed, within a day.
    let wait = retry_after
        .map(|r| r.as_secs().clamp(1, 86_400))
        .unwrap_or(wait);
    Some(now + Duration::seconds(wait as i64))
}

/// When a text may go out: `now`, or the end of the quiet hours (town time) when `now` falls in them.
/// `start == end` means no quiet hours.
pub fn sms_send_time<Tz: TimeZone>(
    now: DateTime<Utc>,
    tz: &Tz,
    quiet_start: u32,
    quiet_end: u32,
) -> DateTime<Utc> {
    if quiet_start == quiet_end {
        return now;
    }
    let local = now.with_timezone(tz);
    let hour = chrono::Timelike::hour(&local.time());
    let quiet = if quiet_start > quiet_end {
        hour >= quiet_start || hour < quiet_end
    } else {
        hour >= quiet_start && hour < quiet_end
    };
    if !quiet {
        return now;
    }
    let mut day = local.date_naive();
    if hour >= quiet_end {
        day = day.succ_opt().unwrap_or(day);
    }
    let end = NaiveTime::from_hms_opt(quiet_end, 0, 0).unwrap_or(NaiveTime::MIN);
    tz.from_local_datetime(&day.and_time(end))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// Why a webhook address is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressRefusal {
    /// Cloud metadata services and link-local addresses: never, whatever the setting.
    Metadata,
    /// Loopback and private networks: only with `ANJU_WEBHOOK_ALLOW_PRIVATE=true`.
    Private,
}

/// Whether a webhook may be delivered to `ip`.
pub fn webhook_address_allowed(ip: IpAddr, allow_private: bool) -> Result<(), AddressRefusal> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let metadata = match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                // Alibaba Cloud's metadata service.
                || v4.octets() == [100, 100, 100, 200]
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
        }
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                || v6.is_multicast()
                // AWS's IPv6 metadata address fd00:ec2::254.
                || v6.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]
        }
    };
    if metadata {
        return Err(AddressRefusal::Metadata);
    }
    let private = match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                // Carrier-grade NAT 100.64.0.0/10.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if private && !allow_private {
        return Err(AddressRefusal::Private);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_reads_back_from_its_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(EventKind::parse("task.deleted"), None);
    }

    #[test]
    fn retries_follow_the_schedule_and_end_after_its_last_step() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let s = [5, 30];
        assert_eq!(
            next_attempt(&s, 1, now, None),
            Some(now + Duration::seconds(5))
        );
        assert_eq!(
            next_attempt(&s, 2, now, None),
            Some(now + Duration::seconds(30))
        );
        assert_eq!(next_attempt(&s, 3, now, None), None);
        let later = next_attempt(&s, 1, now, Some(std::time::Duration::from_secs(120)));
        assert_eq!(later, Some(now + Duration::seconds(120)));
    }

    #[test]
    fn texts_wait_for_the_end_of_the_quiet_hours_in_town_time() {
        let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let at = |d, h, m| {
            cst.with_ymd_and_hms(2026, 5, d, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(sms_send_time(at(1, 12, 0), &cst, 22, 7), at(1, 12, 0));
        assert_eq!(sms_send_time(at(1, 22, 30), &cst, 22, 7), at(2, 7, 0));
        assert_eq!(sms_send_time(at(2, 3, 0), &cst, 22, 7), at(2, 7, 0));
        assert_eq!(sms_send_time(at(2, 7, 0), &cst, 22, 7), at(2, 7, 0));
        assert_eq!(sms_send_time(at(2, 3, 0), &cst, 0, 0), at(2, 3, 0));
    }

    #[test]
    fn metadata_addresses_are_never_allowed_and_private_ones_only_by_setting() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            webhook_address_allowed(ip("169.254.169.254"), true),
            Err(AddressRefusal::Metadata)
        );
        assert_eq!(
            webhook_address_allowed(ip("100.100.100.200"), true),
            Err(AddressRefusal::Metadata)
        );
        assert_eq!(
            webhook_address_allowed(ip("fe80::1"), true),
            Err(AddressRefusal::Metadata)
        );
        assert_eq!(
            webhook_address_allowed(ip("::ffff:169.254.169.254"), true),
            Err(AddressRefusal::Metadata)
        );
        assert_eq!(
            webhook_address_allowed(ip("0.0.0.0"), true),
            Err(AddressRefusal::Metadata)
        );
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.5",
            "172.16.0.1",
            "::1",
            "fd12::1",
            "100.64.0.1",
        ] {
            assert_eq!(
                webhook_address_allowed(ip(private), false),
                Err(AddressRefusal::Private),
                "{private}"
            );
            assert_eq!(
                webhook_address_allowed(ip(private), true),
                Ok(()),
                "{private}"
            );
        }
        assert_eq!(webhook_address_allowed(ip("47.96.1.1"), false), Ok(()));
    }
}
