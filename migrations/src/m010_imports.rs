//! Checked imports of existing registers: the rows a dry run planned and refused, kept until committed.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("imports")
                .col(pk_auto("id"))
                .col(integer("created_by"))
                .col(string_len("file_sha256", 64))
                .col(string_len("status", 16))
                // The rows to write, as checked (JSON), and the refused rows with their messages.
                .col(text("planned"))
                .col(text("refused"))
                .col(integer("count_create"))
                .col(integer("count_update"))
                .col(integer("count_unchanged"))
                .col(integer("count_error"))
                .col(integer("done"))
                .col(integer("total"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("imports").to_owned())
            .await
    }
}
