//! Working buffers: large ones on huge pages, where the system offers them; block buffers on
//! whole cache lines.

use std::ops::{Deref, DerefMut};

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

/// A value that starts on a cache line (64 bytes): for fixed-size arrays that kernels read as
/// vectors (see [`Lines`]).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct OnLine<T>(pub T);

impl<T> Deref for OnLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for OnLine<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// One cache line of `f64` values.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f64; 8]);

/// A buffer of `f64` values that starts on a cache line (64 bytes), so that a vector of eight
/// values at a multiple of eight never straddles two lines: a split load or store takes two of
/// the cache's accesses, and the block kernels' operands, at multiples of eight values, would
/// otherwise mostly be split (the allocator aligns to 16 bytes).
pub(crate) struct Lines {
    lines: Vec<Line>,
    len: usize,
}

impl Lines {
    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> Self {
        Lines {
            lines: vec![Line([0.0; 8]); len.div_ceil(8)],
            len,
        }
    }
}

impl Deref for Lines {
    type Target = [f64];

    fn deref(&self) -> &[f64] {
        // SAFETY: `lines` holds `8 * lines.len() >= len` initialised `f64`s, contiguous
        // (`Line` is `repr(C)` of `[f64; 8]`, 64 bytes, no padding).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f64] {
        // SAFETY: as in `deref`, borrowed mutably through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::{Lines, huge_vec};

    #[test]
    fn lines_start_on_a_cache_line_and_hold_their_values() {
        for len in [0, 1, 8, 9, 4096] {
            let mut b = Lines::zeroed(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % 64, 0);
            assert!(b.iter().all(|&v| v == 0.0));
            for (i, v) in b.iter_mut().enumerate() {
                *v = i as f64 + 0.5;
            }
            assert!(b.iter().enumerate().all(|(i, &v)| v == i as f64 + 0.5));
        }
    }

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
