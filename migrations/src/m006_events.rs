//! The event outbox and its deliveries: webhook subscriptions, every delivery and attempt, and
//! one-time SMS codes.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(ToString::to_string(table));
    for c in cols {
        i.col(ToString::to_string(c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("events")
                .col(pk_auto("id"))
                .col(string_len_uniq("event_id", 40))
                .col(string_len("kind", 40))
                .col(text("payload"))
                .col(integer_null("village_id"))
                .col(integer_null("landlord_id"))
                .col(integer_null("inspector_id"))
                // Time-based events (a finding due soon, a permit expiring) are made once per subject.
                .col(string_len_null("dedupe_key", 80).unique_key())
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("fanned_out_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_events_fan_out",
            "events",
            &["fanned_out_at", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_subscriptions")
                .col(pk_auto("id"))
                .col(string_len("url", 500))
                .col(text("events"))
                .col(string_len_null("description", 200))
                .col(text("secret_enc"))
                .col(boolean("active"))
                .col(string_len_null("disabled_reason", 200))
                .col(integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("deliveries")
                .col(pk_auto("id"))
                .col(integer("event_id"))
                .col(string_len("channel", 16))
                .col(string_len("kind", 40))
                .col(integer_null("subscription_id"))
                .col(integer_null("user_id"))
                .col(string_len("status", 16))
                .col(integer("attempts"))
                .col(integer_null("last_status_code"))
                .col(string_len_null("last_error", 300))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("deliveries", "event_id")
                        .to("events", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_deliveries_due",
            "deliveries",
            &["status", "next_attempt_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_deliveries_subscription",
            "deliveries",
            &["subscription_id", "id"],
        ))
        .await?;
        // The daily cap counts one recipient's texts of one kind.
        m.create_index(index(
            "ix_deliveries_recipient",
            "deliveries",
            &["user_id", "kind", "delivered_at"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("delivery_attempts")
                .col(pk_auto("id"))
                .col(integer("delivery_id"))
                .col(timestamp_with_time_zone("attempted_at"))
                .col(integer_null("status_code"))
                .col(string_len_null("error", 300))
                .col(integer("duration_ms"))
                .foreign_key(
                    ForeignKey::create()
                        .from("delivery_attempts", "delivery_id")
                        .to("deliveries", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_delivery_attempts_delivery",
            "delivery_attempts",
            &["delivery_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("sms_codes")
                .col(pk_auto("id"))
                .col(string_len("phone_hash", 64))
                .col(string_len("code_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(integer("tries"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_sms_codes_phone",
            "sms_codes",
            &["phone_hash", "created_at"],
        ))
        .await?;
        // The bell counts a user's unread notices on every page.
        m.create_index(index(
            "ix_notifications_unread",
            "notifications",
            &["user_id", "read_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_notifications_unread")
                .table("notifications")
                .to_owned(),
        )
        .await?;
        for t in [
            "sms_codes",
            "delivery_attempts",
            "deliveries",
            "webhook_subscriptions",
            "events",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
