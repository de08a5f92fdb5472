//! Server-side sign-in sessions: the browser's private cookie carries a random token, the table its SHA-256.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sessions")
                .col(string_len("id", 64).primary_key())
                .col(integer("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_seen_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("ended_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("sessions", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Ending every session of one user (password change, reset, disable) looks them up by user.
        m.create_index(
            Index::create()
                .name("ix_sessions_user")
                .table("sessions")
                .col("user_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_api_tokens_user")
                .table("api_tokens")
                .col("user_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_api_tokens_user")
                .table("api_tokens")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("sessions").to_owned())
            .await?;
        Ok(())
    }
}
