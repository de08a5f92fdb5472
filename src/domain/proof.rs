//! Residence proof (居住证明): the facts it states and signs, who issues it, the period it covers.
use chrono::NaiveDate;
use rand::Rng;

use crate::domain::stay::StayStatus;

/// The facts a proof states and its QR signs. Only masked personal data: the verification page
/// shows exactly these, so a stranger scanning the paper learns nothing the paper does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFacts {
    pub number: String,
    pub name_masked: String,
    pub doc_masked: String,
    pub village: String,
    pub address: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: u32,
}

impl ProofFacts {
    /// The signed bytes. The fields travel as one JSON array, so an address containing a
    /// separator cannot shift text from one field into the next; the tag keeps a permit's
    /// signature from ever verifying as a proof's.
    pub fn canonical_message(&self) -> String {
        let fields = serde_json::json!([
            self.number,
            self.name_masked,
            self.doc_masked,
            self.village,
            self.address,
            self.from.format("%Y-%m-%d").to_string(),
            self.to.format("%Y-%m-%d").to_string(),
            self.days,
        ]);
        format!("anju-proof-v1|{fields}")
    }
}

/// Who asked for a proof; printed on it and kept in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofIssuer {
    Landlord,
    Official,
    Tenant,
}

impl ProofIssuer {
    pub const ALL: [ProofIssuer; 3] = [Self::Landlord, Self::Official, Self::Tenant];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Landlord => "landlord",
            Self::Official => "official",
            Self::Tenant => "tenant",
        }
    }

    pub fn parse(s: &str) -> Option<ProofIssuer> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How the paper names who asked for it.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Self::Landlord => "房东（出租人）",
            Self::Official => "村委会",
            Self::Tenant => "居住人本人（凭退租码）",
        }
    }
}

/// Why a stay cannot be proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofRefusal {
    #[error("房东尚未确认这条入住登记，确认后才能开具居住证明")]
    NotConfirmed,
    #[error("这条登记未生效（房东未确认或已过期），不能开具居住证明")]
    NeverLived,
    #[error("入住日期尚未到，暂不能开具居住证明")]
    NotYetMovedIn,
    #[error("这条登记的个人信息已按保存期限删除，不能再开具居住证明")]
    Wiped,
}

/// The period a stay proves: from move-in to its end (or today while it lasts), days inclusive.
pub fn proof_period(
    status: StayStatus,
    move_in: NaiveDate,
    ended_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate, u32), ProofRefusal> {
    let to = match status {
        StayStatus::Active => today,
        StayStatus::CheckedOut => ended_on.unwrap_or(today),
        StayStatus::Pending => return Err(ProofRefusal::NotConfirmed),
        StayStatus::Rejected | StayStatus::Lapsed => return Err(ProofRefusal::NeverLived),
    };
    if to < move_in {
        return Err(ProofRefusal::NotYetMovedIn);
    }
    let days = u32::try_from((to - move_in).num_days() + 1).unwrap_or(u32::MAX);
    Ok((move_in, to, days))
}

/// A name as a stranger may see it: the first character, the rest starred (李** for 李小明).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.split_whitespace().flat_map(str::chars);
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            std::iter::once(first)
                .chain(std::iter::repeat_n('*', rest))
                .collect()
        }
        None => String::new(),
    }
}

/// A proof number: `JZ-{year}-` and 10 characters without look-alikes (~50 bits), so numbers
/// cannot be walked to find other people's proofs.
pub fn new_proof_number(year: i32) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("JZ-{year}-{tail}")
}

/// Whether `s` looks like a proof number (checked before any database look-up).
pub fn is_proof_number(s: &str) -> bool {
    let mut parts = s.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("JZ"), Some(y), Some(t), None)
            if y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())
                && t.len() == 10 && t.chars().all(|c| c.is_ascii_alphanumeric())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn an_active_stay_is_proven_up_to_today_counting_both_ends() {
        assert_eq!(
            proof_period(StayStatus::Active, d(11, 1), None, d(11, 30)),
            Ok((d(11, 1), d(11, 30), 30))
        );
        assert_eq!(
            proof_period(StayStatus::Active, d(11, 30), None, d(11, 30)),
            Ok((d(11, 30), d(11, 30), 1))
        );
    }

    #[test]
    fn an_ended_stay_is_proven_up_to_its_end() {
        assert_eq!(
            proof_period(StayStatus::CheckedOut, d(3, 1), Some(d(3, 31)), d(11, 30)),
            Ok((d(3, 1), d(3, 31), 31))
        );
    }

    #[test]
    fn stays_never_lived_or_not_yet_begun_are_refused() {
        let today = d(11, 30);
        assert_eq!(
            proof_period(StayStatus::Pending, d(11, 1), None, today),
            Err(ProofRefusal::NotConfirmed)
        );
        for s in [StayStatus::Rejected, StayStatus::Lapsed] {
            assert_eq!(
                proof_period(s, d(11, 1), None, today),
                Err(ProofRefusal::NeverLived)
            );
        }
        assert_eq!(
            proof_period(StayStatus::Active, d(12, 1), None, today),
            Err(ProofRefusal::NotYetMovedIn)
        );
    }

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("李小明"), "李**");
        assert_eq!(mask_name("李四"), "李*");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_name("John Smith"), "J********");
        assert_eq!(mask_name("  "), "");
    }

    #[test]
    fn proof_numbers_are_recognised_and_differ() {
        let a = new_proof_number(2026);
        assert!(is_proof_number(&a), "{a}");
        assert_ne!(a, new_proof_number(2026));
        for bad in [
            "",
            "JZ-2026",
            "JZ-26-ABCDEFGHJK",
            "AJ-2026-ABCDEFGHJK",
            "JZ-2026-ABC-DEFGHJK",
        ] {
            assert!(!is_proof_number(bad), "{bad}");
        }
    }

    #[test]
    fn the_signed_message_separates_fields_unambiguously() {
        let facts = ProofFacts {
            number: "JZ-2026-ABCDEFGHJK".into(),
            name_masked: "李*".into(),
            doc_masked: "110101********1234".into(),
            village: "锦绣村".into(),
            address: "北区|3 号".into(),
            from: d(11, 1),
            to: d(11, 30),
            days: 30,
        };
        let mut moved = facts.clone();
        moved.village = "锦绣村\",\"北区".into();
        moved.address = "3 号".into();
        assert_ne!(facts.canonical_message(), moved.canonical_message());
        assert!(
            facts
                .canonical_message()
                .starts_with("anju-proof-v1|[\"JZ-2026-ABCDEFGHJK\"")
        );
    }
}
