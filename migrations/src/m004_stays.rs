//! Tenant stays (居住登记): one row per check-in, personal data encrypted, one open stay per person.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("stays")
                .col(pk_auto("id"))
                .col(integer("permit_id"))
                .col(integer("property_id"))
                .col(integer("room_id"))
                .col(string_len("status", 16))
                .col(text_null("name"))
                .col(string_len("doc_type", 32))
                .col(text_null("doc_number_enc"))
                .col(string_len_null("doc_hash", 64))
                .col(string_len_null("doc_masked", 32))
                // Set only while the stay is pending or active: the unique index then allows one open stay per person.
                .col(string_len_null("open_doc_hash", 64).unique_key())
                .col(text_null("phone_enc"))
                .col(string_len_null("phone_masked", 16))
                .col(date("move_in"))
                .col(date_null("move_out_expected"))
                .col(text_null("employer"))
                .col(string_len("checkout_code_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("confirmed_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .col(integer_null("ended_by"))
                .col(timestamp_with_time_zone_null("wiped_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("stays", "permit_id")
                        .to("permits", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("stays", "room_id")
                        .to("rooms", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stays_permit_status")
                .table("stays")
                .col("permit_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stays_room_status")
                .table("stays")
                .col("room_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        // The register export walks open stays by id in chunks; without this index PostgreSQL
        // sorts every open stay for each chunk.
        m.create_index(
            Index::create()
                .name("ix_stays_status_id")
                .table("stays")
                .col("status")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stays_status_created")
                .table("stays")
                .col("status")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stays_property")
                .table("stays")
                .col("property_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_stays_doc_hash")
                .table("stays")
                .col("doc_hash")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("stays").to_owned())
            .await?;
        Ok(())
    }
}
