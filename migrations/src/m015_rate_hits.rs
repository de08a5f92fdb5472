//! Rate-limit hits shared by every instance on one PostgreSQL database: each instance adds its
//! own hits per key and second, and reads the others' sum (SQLite installations, being one
//! instance, count in memory and leave the table empty).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("rate_hits")
                .col(string_len("key", 200))
                .col(string_len("instance", 40))
                .col(big_integer("second"))
                .col(integer("n"))
                .primary_key(Index::create().col("key").col("instance").col("second"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_rate_hits_second")
                .table("rate_hits")
                .col("second")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("rate_hits").to_owned())
            .await
    }
}
