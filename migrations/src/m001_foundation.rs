//! Foundation schema: town structure, accounts, tokens, houses, rooms, applications, uploads, audit log.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("towns")
                .col(pk_auto("id"))
                .col(string_len_uniq("code", 16))
                .col(string_len("name", 64))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("villages")
                .col(pk_auto("id"))
                .col(integer("town_id"))
                .col(string_len_uniq("code", 16))
                .col(string_len("name", 64))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("villages", "town_id")
                        .to("towns", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("grids")
                .col(pk_auto("id"))
                .col(integer("village_id"))
                .col(string_len("name", 64))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("grids", "village_id")
                        .to("villages", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_grids_village_name")
                .table("grids")
                .col("village_id")
                .col("name")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("users")
                .col(pk_auto("id"))
                .col(string_len("role", 32))
                .col(string_len_uniq("phone", 32))
                .col(string_len("name", 64))
                .col(string_len("password_hash", 255))
                .col(integer_null("village_id"))
                .col(boolean("active").default(true))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("users", "village_id")
                        .to("villages", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("inspector_grids")
                .col(integer("user_id"))
                .col(integer("grid_id"))
                .primary_key(Index::create().col("user_id").col("grid_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("inspector_grids", "user_id")
                        .to("users", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("inspector_grids", "grid_id")
                        .to("grids", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_inspector_grids_grid")
                .table("inspector_grids")
                .col("grid_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string_len_uniq("token_hash", 64))
                .col(string_len("label", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("api_tokens", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("properties")
                .col(pk_auto("id"))
                .col(integer("landlord_id"))
                .col(integer("village_id"))
                .col(integer("grid_id"))
                .col(string_len("address", 200))
                .col(integer("floors"))
                .col(string_len("structure", 32))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("properties", "landlord_id")
                        .to("users", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("properties", "village_id")
                        .to("villages", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("properties", "grid_id")
                        .to("grids", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_properties_landlord")
                .table("properties")
                .col("landlord_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_properties_village")
                .table("properties")
                .col("village_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_properties_grid")
                .table("properties")
                .col("grid_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("rooms")
                .col(pk_auto("id"))
                .col(integer("property_id"))
                .col(string_len("label", 32))
                .col(integer("floor"))
                .col(double("area_m2"))
                .col(string_len("kind", 16))
                .foreign_key(
                    ForeignKey::create()
                        .from("rooms", "property_id")
                        .to("properties", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rooms_property")
                .table("rooms")
                .col("property_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("uploads")
                .col(string_len("id", 36).primary_key())
                .col(string_len("sha256", 64))
                .col(string_len("mime", 32))
                .col(integer("width"))
                .col(integer("height"))
                .col(big_integer("size_bytes"))
                .col(integer("uploaded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("uploads", "uploaded_by")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("applications")
                .col(pk_auto("id"))
                .col(integer("property_id"))
                .col(integer("landlord_id"))
                .col(integer("village_id"))
                .col(string_len("status", 16))
                .col(string_len_null("owner_name", 64))
                .col(string_len_null("ownership_doc_no", 64))
                .col(string_len_null("intended_use", 200))
                .col(timestamp_with_time_zone_null("pledge_accepted_at"))
                .col(timestamp_with_time_zone_null("submitted_at"))
                .col(integer_null("renewal_of_permit_id"))
                .col(string_len_null("reject_reason", 500))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("applications", "property_id")
                        .to("properties", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("applications", "landlord_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_applications_landlord")
                .table("applications")
                .col("landlord_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_applications_village_status")
                .table("applications")
                .col("village_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("application_documents")
                .col(pk_auto("id"))
                .col(integer("application_id"))
                .col(string_len("upload_id", 36))
                .col(string_len("kind", 32))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("application_documents", "application_id")
                        .to("applications", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("application_documents", "upload_id")
                        .to("uploads", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appdocs_application")
                .table("application_documents")
                .col("application_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("application_events")
                .col(pk_auto("id"))
                .col(integer("application_id"))
                .col(string_len("status", 16))
                .col(integer_null("actor_id"))
                .col(string_len_null("note", 500))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("application_events", "application_id")
                        .to("applications", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_appevents_application")
                .table("application_events")
                .col("application_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("at"))
                .col(integer_null("actor_id"))
                .col(string_len("action", 64))
                .col(string_len("entity", 32))
                .col(string_len("entity_id", 64))
                .col(text("detail"))
                .col(string_len("prev_hash", 64))
                .col(string_len("hash", 64))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_entity")
                .table("audit_log")
                .col("entity")
                .col("entity_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_log",
            "application_events",
            "application_documents",
            "applications",
            "uploads",
            "rooms",
            "properties",
            "api_tokens",
            "inspector_grids",
            "users",
            "grids",
            "villages",
            "towns",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
