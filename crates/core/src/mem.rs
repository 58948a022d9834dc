//! Large working buffers on huge pages, where the system offers them.

/// Bytes of one huge page (x86-64 and most Linux configurations).
const HUGE: usize = 2 << 20;

/// Asks Linux to back the whole 2 MiB pages of `bytes` bytes at `ptr` with transparent huge
/// pages (honoured when the system's `transparent_hugepage` setting is `madvise` or `always`).
/// Called before a buffer's first touch: a pass then faults one page per 2 MiB instead of 512,
/// and reads of scattered rows (the k-means++ float32 copy) miss the TLB far less. A hint
/// only: the contents never change, and nothing happens where it is refused or elsewhere.
pub(crate) fn advise_huge(ptr: *const u8, bytes: usize) {
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(bytes) / HUGE * HUGE;
    if end >= start + 2 * HUGE {
        #[cfg(target_os = "linux")]
        // SAFETY: the range lies within one live allocation of the caller's; `MADV_HUGEPAGE`
        // changes how its pages are backed, never their contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

/// An empty vector with room for `len` values, its whole 2 MiB pages advised as huge
/// ([`advise_huge`]) before anything is written to them.
pub(crate) fn huge_vec<T>(len: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(len);
    advise_huge(v.as_ptr().cast(), len * std::mem::size_of::<T>());
    v
}

#[cfg(test)]
mod tests {
    use super::huge_vec;

    #[test]
    fn advised_vectors_hold_what_is_written() {
        for len in [0, 1, 1000, 3 << 20] {
            let mut v: Vec<u32> = huge_vec(len);
            assert!(v.capacity() >= len);
            v.extend((0..len as u32).map(|i| i.wrapping_mul(2654435761)));
            assert!(
                v.iter()
                    .enumerate()
                    .all(|(i, &x)| x == (i as u32).wrapping_mul(2654435761))
            );
        }
    }
}
