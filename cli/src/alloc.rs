//! The binary's allocator: mimalloc (see the workspace manifest), and how a node tunes it.
//!
//! mimalloc gives a page whose blocks are all freed back to the OS a second later. A node frees
//! most of a block's memory every block (its transactions, state changes, tree nodes, write
//! batch) and allocates as much again for the next, so each block faulted tens of MiB of fresh
//! zeroed pages back in: the kernel's `clear_page_erms` was 7% of a validator's time with four
//! validators on two cores. A node keeps freed memory instead: its resident size stays at its
//! peak (about 1.2 GiB for a validator under full load), and four validators on two cores
//! finalized 5,500-5,800 TPS at 6,500/s offered where they had finalized 4,700-5,300
//! (docs/performance.md).

use std::ffi::{c_int, c_long};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in mimalloc's `mi_option_t`, which `libmimalloc-sys`
/// does not name (`purge_delay_has_its_default` checks it against mimalloc's default).
const MI_OPTION_PURGE_DELAY: c_int = 15;

extern "C" {
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Freed memory stays with the process (mimalloc's purge delay of -1: never purge).
pub fn keep_freed_memory() {
    #[allow(unsafe_code)] // mimalloc's option setter: the crate exposes no safe one.
    // SAFETY: mimalloc's options are atomics set by index; any index below `_mi_option_last`
    // is valid, and the value is plain data.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, -1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mimalloc's default purge delay is 1,000 ms, and no neighbouring option defaults to
    /// 1,000: if the index named the wrong option, this would read another value.
    #[test]
    fn purge_delay_has_its_default() {
        #[allow(unsafe_code)] // mimalloc's option getter: the crate exposes no safe one.
        // SAFETY: a read of one option by a valid index, as `keep_freed_memory` writes it.
        let delay = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1_000);
    }
}
