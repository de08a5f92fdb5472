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
                // The refused rows with their messages (JSON); the rows to write are in import_rows.
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
        .await?;
        // One row to write per line, numbered 0.. in sheet order, so a batch reads only its slice.
        m.create_table(
            Table::create()
                .table("import_rows")
                .col(pk_auto("id"))
                .col(integer("import_id"))
                .col(integer("seq"))
                .col(text("data"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_import_rows_seq")
                .table("import_rows")
                .col("import_id")
                .col("seq")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("imports").to_owned())
            .await
    }
}
