//! The key ring of a PostgreSQL installation: permit signing keys and the personal-data key, each
//! sealed under the master key (`ANJU_MASTER_KEY`), so every instance signs and decrypts alike.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // (kind, idx) is the primary key: two instances creating the first key at once collide
        // here, and the loser reads the winner's key instead of keeping its own.
        m.create_table(
            Table::create()
                .table("key_ring")
                .col(string_len("kind", 32))
                .col(integer("idx"))
                .col(blob("sealed"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("kind").col("idx"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("key_ring").to_owned())
            .await
    }
}
