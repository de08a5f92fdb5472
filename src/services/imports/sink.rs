//! Where a dry run keeps what it checked: the import, `checking` while its planned rows are
//! written in short transactions as the file is read (so neither the file nor the plan is held
//! whole, and check-ins are not kept waiting behind one long write), then `checked` with its
//! counts and refused rows, or removed when the check fails.
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::dry_run::{Counts, Planned, RefusedRow};
use crate::crypto::pii::PiiCipher;
use crate::domain::import::ImportStatus;
use crate::entities::{import, import_row};
use crate::error::AppError;
use crate::services::Actor;

/// Planned rows written per transaction.
const ROWS_PER_WRITE: usize = 500;

pub struct Sink {
    id: i32,
    seq: i32,
    rows: Vec<import_row::ActiveModel>,
}

impl Sink {
    /// Creates the import, `checking`, with nothing counted yet.
    pub async fn open(
        db: &DatabaseConnection,
        actor: &Actor,
        sha256: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Sink, AppError> {
        let tx = crate::db::begin_write(db).await?;
        let saved = import::ActiveModel {
            created_by: Set(actor.id),
            file_sha256: Set(sha256),
            status: Set(ImportStatus::Checking.as_str().to_string()),
            refused: Set("[]".into()),
            count_create: Set(0),
            count_update: Set(0),
            count_unchanged: Set(0),
            count_error: Set(0),
            done: Set(0),
            total: Set(0),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(Sink {
            id: saved.id,
            seq: 0,
            rows: Vec::with_capacity(ROWS_PER_WRITE),
        })
    }

    /// Keeps one planned row, in the order the commit will write it.
    pub async fn push(&mut self, db: &DatabaseConnection, p: &Planned) -> Result<(), AppError> {
        self.rows.push(import_row::ActiveModel {
            import_id: Set(self.id),
            seq: Set(self.seq),
            data: Set(serde_json::to_string(p).map_err(AppError::internal)?),
            ..Default::default()
        });
        self.seq += 1;
        if self.rows.len() >= ROWS_PER_WRITE {
            self.write(db).await?;
        }
        Ok(())
    }

    async fn write(&mut self, db: &DatabaseConnection) -> Result<(), AppError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(ROWS_PER_WRITE));
        let tx = crate::db::begin_write(db).await?;
        import_row::Entity::insert_many(rows).exec(&tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the last rows and marks the import `checked` with its counts and refused rows
    /// (encrypted: they hold ID numbers and phones as the file did).
    pub async fn finish(
        &mut self,
        db: &DatabaseConnection,
        pii: &PiiCipher,
        counts: &Counts,
        refused: &[RefusedRow],
    ) -> Result<i32, AppError> {
        self.write(db).await?;
        let refused = pii
            .encrypt(&serde_json::to_string(refused).map_err(AppError::internal)?)
            .map_err(AppError::internal)?;
        let tx = crate::db::begin_write(db).await?;
        import::ActiveModel {
            id: Set(self.id),
            status: Set(ImportStatus::Checked.as_str().to_string()),
            refused: Set(refused),
            count_create: Set(counts.create),
            count_update: Set(counts.update),
            count_unchanged: Set(counts.unchanged),
            count_error: Set(counts.error),
            total: Set(self.seq),
            ..Default::default()
        }
        .update(&tx)
        .await?;
        tx.commit().await?;
        Ok(self.id)
    }

    /// Removes a check that failed part-way, rows and all. Should this fail too, the import stays
    /// `checking`, which nothing commits.
    pub async fn discard(self, db: &DatabaseConnection) {
        let removed = async {
            let tx = crate::db::begin_write(db).await?;
            import_row::Entity::delete_many()
                .filter(import_row::Column::ImportId.eq(self.id))
                .exec(&tx)
                .await?;
            import::Entity::delete_by_id(self.id).exec(&tx).await?;
            tx.commit().await?;
            Ok::<_, AppError>(())
        };
        if let Err(e) = removed.await {
            tracing::warn!(import = self.id, error = ?e, "a failed dry run's import was not removed");
        }
    }
}
