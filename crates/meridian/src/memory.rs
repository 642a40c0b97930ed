//! Giving memory back to the system after a burst.

/// Hand memory used only for a while (loading's file buffers, a burst of connections' buffers)
/// back to the system: the allocator otherwise keeps it in its per-thread arenas.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}
