//! Permits: issued certificates with their numbers, per-village number sequences, notifications.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("permits")
                .col(pk_auto("id"))
                .col(string_len_uniq("number", 40))
                .col(integer_uniq("application_id"))
                .col(integer("property_id"))
                .col(integer("village_id"))
                .col(integer("landlord_id"))
                .col(string_len("status", 16))
                .col(date("valid_from"))
                .col(date("valid_until"))
                .col(integer("max_occupants"))
                .col(integer_null("official_cap"))
                .col(string_len("grade", 16))
                .col(string_len("signature", 200))
                .col(timestamp_with_time_zone("issued_at"))
                .col(integer("issued_by"))
                .col(text_null("status_reason"))
                .col(timestamp_with_time_zone_null("status_changed_at"))
                .col(timestamp_with_time_zone_null("expiry_reminded_at"))
                .col(integer_null("renewed_by_application_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("permits", "application_id")
                        .to("applications", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("permits", "property_id")
                        .to("properties", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_permits_property")
                .table("permits")
                .col("property_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_permits_village_status")
                .table("permits")
                .col("village_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_permits_status_until")
                .table("permits")
                .col("status")
                .col("valid_until")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("permit_sequences")
                .col(integer("village_id"))
                .col(integer("year"))
                .col(integer("next_seq"))
                .primary_key(Index::create().col("village_id").col("year"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("notifications")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string_len("kind", 32))
                .col(string_len("title", 200))
                .col(text("body"))
                .col(string_len_null("link", 200))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("read_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notifications", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_notifications_user")
                .table("notifications")
                .col("user_id")
                .col("read_at")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["notifications", "permit_sequences", "permits"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
