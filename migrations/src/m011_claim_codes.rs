//! Claim codes: a one-time code a village official hands an imported landlord when no SMS provider
//! is configured; only a keyed hash is kept.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("claim_codes")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string_len("code_hash", 64))
                .col(integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(integer("tries"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_claim_codes_user")
                .table("claim_codes")
                .col("user_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("claim_codes").to_owned())
            .await
    }
}
