//! Drops `ix_notifications_unread`: m006 made it on the very columns of m003's
//! `ix_notifications_user` (`user_id, read_at`), so every notice written kept two identical
//! indexes; the bell's count reads the one that stays.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_notifications_unread")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_notifications_unread ON notifications (user_id, read_at)",
            )
            .await?;
        Ok(())
    }
}
