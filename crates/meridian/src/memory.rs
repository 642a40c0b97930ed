//! Giving memory back to the system after a burst.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Hand memory used only for a while (loading's file buffers, a burst of connections' buffers,
/// a large answer's pieces) back to the system: the allocator otherwise keeps it in its
/// per-thread arenas.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether a release is already due.
static DUE: AtomicBool = AtomicBool::new(false);

/// Release free memory shortly (once for a burst of calls within [`SETTLE`]): what large
/// answers call when they have been written.
pub fn release_soon() {
    if DUE.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("memory-release".into())
        .spawn(|| {
            std::thread::sleep(SETTLE);
            DUE.store(false, Ordering::Release);
            release_free_memory();
        });
    if spawned.is_err() {
        DUE.store(false, Ordering::Release);
    }
}

/// How long after a large answer the release waits for the others of its burst.
const SETTLE: Duration = Duration::from_millis(300);
