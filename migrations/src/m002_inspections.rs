//! Inspections: tasks routed to grid workers, submitted inspections, findings, background job claims.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("inspection_tasks")
                .col(pk_auto("id"))
                .col(string_len("kind", 16))
                .col(string_len("status", 16))
                .col(integer("property_id"))
                .col(integer_null("application_id"))
                .col(integer("grid_id"))
                .col(integer_null("assignee_id"))
                .col(timestamp_with_time_zone("due_at"))
                .col(string_len("checklist_key", 64))
                .col(text_null("items"))
                .col(text_null("draft_answers"))
                .col(timestamp_with_time_zone_null("draft_updated_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(string_len_null("cancel_reason", 500))
                .foreign_key(
                    ForeignKey::create()
                        .from("inspection_tasks", "property_id")
                        .to("properties", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("inspection_tasks", "grid_id")
                        .to("grids", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("inspection_tasks", "assignee_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_tasks_assignee",
                &["assignee_id", "status", "due_at"][..],
            ),
            ("ix_tasks_grid", &["grid_id", "status", "due_at"][..]),
            ("ix_tasks_status_due", &["status", "due_at"][..]),
            ("ix_tasks_property", &["property_id", "kind"][..]),
            // Walking due order and filtering the state lets "overdue, earliest first" stop
            // after one page instead of sorting every overdue task (benches/tasks.rs).
            ("ix_tasks_due", &["due_at"][..]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("inspection_tasks");
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table("inspections")
                .col(pk_auto("id"))
                .col(integer("task_id"))
                .col(string_len_uniq("submission_id", 64))
                .col(integer("inspector_id"))
                .col(integer("property_id"))
                .col(integer_null("application_id"))
                .col(string_len("checklist_key", 64))
                .col(integer("checklist_version"))
                .col(string_len("checklist_hash", 64))
                .col(string_len("outcome", 16))
                .col(string_len("grade", 16))
                .col(text("answers"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("inspections", "task_id")
                        .to("inspection_tasks", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("inspections", "property_id")
                        .to("properties", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_inspections_task")
                .table("inspections")
                .col("task_id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_inspections_property")
                .table("inspections")
                .col("property_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("findings")
                .col(pk_auto("id"))
                .col(integer("inspection_id"))
                .col(integer("property_id"))
                .col(integer_null("application_id"))
                .col(string_len("item_key", 64))
                .col(string_len("severity", 16))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone_null("deadline_at"))
                .col(text_null("note"))
                .col(text("photo_ids"))
                .col(text_null("fix_note"))
                .col(text_null("fix_photo_ids"))
                .col(timestamp_with_time_zone_null("fix_reported_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(integer_null("closed_by_inspection_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("findings", "inspection_id")
                        .to("inspections", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("findings", "property_id")
                        .to("properties", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_findings_property")
                .table("findings")
                .col("property_id")
                .col("status")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_findings_status_deadline")
                .table("findings")
                .col("status")
                .col("deadline_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("jobs")
                .col(string_len("name", 64).primary_key())
                .col(string_len_null("locked_by", 64))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone_null("last_run_at"))
                .to_owned(),
        )
        .await?;
        // The house's current grade and when the next routine patrol is due, kept on the house for the scheduler.
        m.alter_table(
            Table::alter()
                .table("properties")
                .add_column(string_len_null("grade", 16))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("properties")
                .add_column(timestamp_with_time_zone_null("next_patrol_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("properties")
                .drop_column("next_patrol_at")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("properties")
                .drop_column("grade")
                .to_owned(),
        )
        .await?;
        for t in ["jobs", "findings", "inspections", "inspection_tasks"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
