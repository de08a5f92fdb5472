//! How many photos decode at once and how much decoded memory they may hold together.
//!
//! Two limits, taken in this order: a slot per core (decoding is CPU work; more threads only
//! queue), then the photo's decoded size in MiB from a shared budget, so eight parallel
//! 48-megapixel uploads decode one or two at a time instead of all at once.
use std::sync::LazyLock;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{MAX_DECODE_BYTES, Probe};

const MIB: u64 = 1024 * 1024;

/// Decoded pixels in flight across all uploads, in MiB. It must hold the largest single photo.
pub const DECODE_BUDGET_MIB: u32 = 256;

const _: () = assert!(MAX_DECODE_BYTES.div_ceil(MIB) <= DECODE_BUDGET_MIB as u64);

static SLOTS: LazyLock<std::sync::Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::sync::Arc::new(Semaphore::new(cores))
});

static BUDGET: LazyLock<std::sync::Arc<Semaphore>> =
    LazyLock::new(|| std::sync::Arc::new(Semaphore::new(DECODE_BUDGET_MIB as usize)));

/// Held while one photo decodes; dropping it returns the slot and the memory to the budget.
pub struct DecodePermit {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
}

/// The MiB a probed photo takes from the budget: at least one, at most the whole budget.
pub fn cost_mib(p: &Probe) -> u32 {
    let mib = p.decoded_bytes.div_ceil(MIB).max(1);
    u32::try_from(mib).map_or(DECODE_BUDGET_MIB, |m| m.min(DECODE_BUDGET_MIB))
}

/// Waits for a decode slot and for the photo's share of the memory budget. `None` only if the
/// semaphores were closed, which nothing does.
pub async fn acquire(p: &Probe) -> Option<DecodePermit> {
    let slot = SLOTS.clone().acquire_owned().await.ok()?;
    let memory = BUDGET.clone().acquire_many_owned(cost_mib(p)).await.ok()?;
    Some(DecodePermit {
        _slot: slot,
        _memory: memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_allowed_photo_fits_the_budget_and_a_tiny_one_costs_one_mib() {
        let big = Probe {
            width: 8000,
            height: 6000,
            decoded_bytes: 8000 * 6000 * 4,
        };
        assert!(cost_mib(&big) <= DECODE_BUDGET_MIB);
        assert!(
            cost_mib(&big) > DECODE_BUDGET_MIB / 2,
            "two such photos never decode together"
        );
        let tiny = Probe {
            width: 1,
            height: 1,
            decoded_bytes: 3,
        };
        assert_eq!(cost_mib(&tiny), 1);
    }
}
