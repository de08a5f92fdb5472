//! Residence proofs (居住证明): one row per issued proof, holding the masked facts its QR signs.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("residence_proofs")
                .col(pk_auto("id"))
                .col(string_len_uniq("number", 32))
                .col(integer("stay_id"))
                .col(integer("property_id"))
                .col(integer("village_id"))
                .col(string_len("issuer", 16))
                .col(integer_null("issued_by"))
                // As printed ("房东（出租人） 王建国"), so every download of the PDF reads the same.
                .col(text("issuer_label"))
                // Masked facts; the person's are cleared when the stay is wiped by retention.
                .col(string_len_null("name_masked", 64))
                .col(string_len_null("doc_masked", 32))
                .col(text("village"))
                .col(text("address"))
                .col(date("period_from"))
                .col(date("period_to"))
                .col(integer("days"))
                .col(string_len("sig", 128))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("residence_proofs", "stay_id")
                        .to("stays", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_residence_proofs_stay")
                .table("residence_proofs")
                .col("stay_id")
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("residence_proofs").to_owned())
            .await?;
        Ok(())
    }
}
