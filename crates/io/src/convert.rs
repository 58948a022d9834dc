//! Element types found in files and their one-time conversion into owned row-major buffers.

use crate::Dtype;

/// Byte order of multi-byte elements in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    /// The byte order of the machine we run on.
    pub(crate) const NATIVE: Endian = if cfg!(target_endian = "little") {
        Endian::Little
    } else {
        Endian::Big
    };
}

/// The element type of a file's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    F16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

impl Elem {
    /// Size in bytes.
    pub(crate) fn size(self) -> usize {
        match self {
            Elem::I8 | Elem::U8 | Elem::Bool => 1,
            Elem::F16 | Elem::I16 | Elem::U16 => 2,
            Elem::F32 | Elem::I32 | Elem::U32 => 4,
            Elem::F64 | Elem::I64 | Elem::U64 => 8,
        }
    }

    /// The float type that represents every value of this type exactly (f32 for types of
    /// 16 bits or fewer, f64 otherwise; 64-bit integers beyond 2^53 are rounded).
    pub(crate) fn target(self) -> Dtype {
        match self {
            Elem::F16 | Elem::F32 | Elem::I8 | Elem::I16 | Elem::U8 | Elem::U16 | Elem::Bool => {
                Dtype::F32
            }
            Elem::F64 | Elem::I32 | Elem::I64 | Elem::U32 | Elem::U64 => Dtype::F64,
        }
    }

    /// Whether this is the in-memory representation of `dtype` (so a zero-copy view is possible).
    pub(crate) fn is_float_of(self, dtype: Dtype) -> bool {
        matches!(
            (self, dtype),
            (Elem::F32, Dtype::F32) | (Elem::F64, Dtype::F64)
        )
    }

    /// Whether the type is an integer or bool type.
    pub(crate) fn is_integer(self) -> bool {
        !matches!(self, Elem::F16 | Elem::F32 | Elem::F64)
    }
}

/// Where the elements of an (n_samples, n_features) matrix lie in a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Element type.
    pub(crate) elem: Elem,
    /// Byte order of the elements.
    pub(crate) endian: Endian,
    /// Byte offset of element (0, 0).
    pub(crate) offset: usize,
    /// Number of rows.
    pub(crate) n_samples: usize,
    /// Number of columns.
    pub(crate) n_features: usize,
    /// Distance between the starts of consecutive rows, in bytes (C order and strided rows).
    pub(crate) row_stride_bytes: usize,
    /// Column-major (Fortran order) storage: element (i, j) at `offset + (j * n + i) * size`.
    pub(crate) fortran: bool,
}

impl Layout {
    /// A dense row-major layout.
    pub(crate) fn dense(
        elem: Elem,
        endian: Endian,
        offset: usize,
        n_samples: usize,
        n_features: usize,
    ) -> Layout {
        Layout {
            elem,
            endian,
            offset,
            n_samples,
            n_features,
            row_stride_bytes: n_features.saturating_mul(elem.size()),
            fortran: false,
        }
    }

    /// Number of bytes from `offset` to the end of the last element (`None` on overflow).
    pub(crate) fn span_bytes(&self) -> Option<usize> {
        let size = self.elem.size();
        if self.n_samples == 0 || self.n_features == 0 {
            return Some(0);
        }
        if self.fortran {
            self.n_samples
                .checked_mul(self.n_features)?
                .checked_mul(size)
        } else {
            (self.n_samples - 1)
                .checked_mul(self.row_stride_bytes)?
                .checked_add(self.n_features.checked_mul(size)?)
        }
    }

    /// Total number of elements of the matrix (`None` on overflow).
    pub(crate) fn n_elems(&self) -> Option<usize> {
        self.n_samples.checked_mul(self.n_features)
    }
}

/// Convert the matrix described by `layout` in `bytes` into an owned row-major buffer of
/// `T`, decoding each element with `decode`. Returns `None` if `bytes` is too short for the
/// layout (callers validate lengths first, so this is a second line of defence, not a panic).
fn gather<T: Copy + Default, const N: usize>(
    bytes: &[u8],
    layout: &Layout,
    decode: impl Fn([u8; N]) -> T,
) -> Option<Vec<T>> {
    let n = layout.n_samples;
    let d = layout.n_features;
    let total = layout.n_elems()?;
    let end = layout.offset.checked_add(layout.span_bytes()?)?;
    let region = bytes.get(layout.offset..end)?;
    if layout.fortran && n > 1 && d > 1 {
        let mut out = vec![T::default(); total];
        let (cols, _) = region.as_chunks::<N>();
        // Read in storage order (column by column) so the file is streamed sequentially.
        for (j, col) in cols.chunks_exact(n).enumerate().take(d) {
            for (i, &b) in col.iter().enumerate() {
                if let Some(slot) = out.get_mut(i * d + j) {
                    *slot = decode(b);
                }
            }
        }
        return Some(out);
    }
    let mut out = Vec::with_capacity(total);
    let row_bytes = d.checked_mul(N)?;
    if layout.row_stride_bytes == row_bytes || n == 1 {
        let (elems, _) = region.as_chunks::<N>();
        out.extend(elems.iter().take(total).map(|&b| decode(b)));
    } else {
        for i in 0..n {
            let start = i.checked_mul(layout.row_stride_bytes)?;
            let row = region.get(start..start.checked_add(row_bytes)?)?;
            let (elems, _) = row.as_chunks::<N>();
            out.extend(elems.iter().map(|&b| decode(b)));
        }
    }
    (out.len() == total).then_some(out)
}

/// Owned, converted matrix data.
pub(crate) enum Owned {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Convert the matrix described by `layout` into an owned row-major buffer of the layout
/// element's target type ([`Elem::target`]). `None` if `bytes` is too short.
pub(crate) fn convert(bytes: &[u8], layout: &Layout) -> Option<Owned> {
    use Elem as E;
    use Endian::{Big, Little};
    let l = layout;
    Some(match (l.elem, l.endian) {
        (E::F32, Little) => Owned::F32(gather(bytes, l, f32::from_le_bytes)?),
        (E::F32, Big) => Owned::F32(gather(bytes, l, f32::from_be_bytes)?),
        (E::F64, Little) => Owned::F64(gather(bytes, l, f64::from_le_bytes)?),
        (E::F64, Big) => Owned::F64(gather(bytes, l, f64::from_be_bytes)?),
        (E::F16, Little) => Owned::F32(gather(bytes, l, |b| f16_to_f32(u16::from_le_bytes(b)))?),
        (E::F16, Big) => Owned::F32(gather(bytes, l, |b| f16_to_f32(u16::from_be_bytes(b)))?),
        (E::I8, _) => Owned::F32(gather(bytes, l, |b: [u8; 1]| {
            f32::from(i8::from_le_bytes(b))
        })?),
        (E::U8, _) => Owned::F32(gather(bytes, l, |b: [u8; 1]| f32::from(b[0]))?),
        (E::Bool, _) => Owned::F32(gather(bytes, l, |b: [u8; 1]| {
            f32::from(u8::from(b[0] != 0))
        })?),
        (E::I16, Little) => Owned::F32(gather(bytes, l, |b| f32::from(i16::from_le_bytes(b)))?),
        (E::I16, Big) => Owned::F32(gather(bytes, l, |b| f32::from(i16::from_be_bytes(b)))?),
        (E::U16, Little) => Owned::F32(gather(bytes, l, |b| f32::from(u16::from_le_bytes(b)))?),
        (E::U16, Big) => Owned::F32(gather(bytes, l, |b| f32::from(u16::from_be_bytes(b)))?),
        (E::I32, Little) => Owned::F64(gather(bytes, l, |b| f64::from(i32::from_le_bytes(b)))?),
        (E::I32, Big) => Owned::F64(gather(bytes, l, |b| f64::from(i32::from_be_bytes(b)))?),
        (E::U32, Little) => Owned::F64(gather(bytes, l, |b| f64::from(u32::from_le_bytes(b)))?),
        (E::U32, Big) => Owned::F64(gather(bytes, l, |b| f64::from(u32::from_be_bytes(b)))?),
        (E::I64, Little) => Owned::F64(gather(bytes, l, |b| i64::from_le_bytes(b) as f64)?),
        (E::I64, Big) => Owned::F64(gather(bytes, l, |b| i64::from_be_bytes(b) as f64)?),
        (E::U64, Little) => Owned::F64(gather(bytes, l, |b| u64::from_le_bytes(b) as f64)?),
        (E::U64, Big) => Owned::F64(gather(bytes, l, |b| u64::from_be_bytes(b) as f64)?),
    })
}

/// An integer read exactly (for label files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntValue {
    Signed(i64),
    Unsigned(u64),
}

impl Default for IntValue {
    fn default() -> IntValue {
        IntValue::Signed(0)
    }
}

/// Read the elements of an integer / bool matrix exactly, in row-major order.
/// `None` if the type is a float type or `bytes` is too short.
pub(crate) fn gather_ints(bytes: &[u8], layout: &Layout) -> Option<Vec<IntValue>> {
    use Elem as E;
    use Endian::{Big, Little};
    use IntValue::{Signed as S, Unsigned as U};
    let l = layout;
    match (l.elem, l.endian) {
        (E::I8, _) => gather(bytes, l, |b: [u8; 1]| S(i64::from(i8::from_le_bytes(b)))),
        (E::U8, _) => gather(bytes, l, |b: [u8; 1]| S(i64::from(b[0]))),
        (E::Bool, _) => gather(bytes, l, |b: [u8; 1]| S(i64::from(b[0] != 0))),
        (E::I16, Little) => gather(bytes, l, |b| S(i64::from(i16::from_le_bytes(b)))),
        (E::I16, Big) => gather(bytes, l, |b| S(i64::from(i16::from_be_bytes(b)))),
        (E::U16, Little) => gather(bytes, l, |b| S(i64::from(u16::from_le_bytes(b)))),
        (E::U16, Big) => gather(bytes, l, |b| S(i64::from(u16::from_be_bytes(b)))),
        (E::I32, Little) => gather(bytes, l, |b| S(i64::from(i32::from_le_bytes(b)))),
        (E::I32, Big) => gather(bytes, l, |b| S(i64::from(i32::from_be_bytes(b)))),
        (E::U32, Little) => gather(bytes, l, |b| S(i64::from(u32::from_le_bytes(b)))),
        (E::U32, Big) => gather(bytes, l, |b| S(i64::from(u32::from_be_bytes(b)))),
        (E::I64, Little) => gather(bytes, l, |b| S(i64::from_le_bytes(b))),
        (E::I64, Big) => gather(bytes, l, |b| S(i64::from_be_bytes(b))),
        (E::U64, Little) => gather(bytes, l, |b| U(u64::from_le_bytes(b))),
        (E::U64, Big) => gather(bytes, l, |b| U(u64::from_be_bytes(b))),
        (E::F16 | E::F32 | E::F64, _) => None,
    }
}

/// IEEE 754 binary16 to binary32, exact (every half value is representable in f32).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal half: value = m * 2^-24, exactly representable as a normal f32.
            let v = m as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 1365.0 / 4096.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }

    #[test]
    fn fortran_gather_transposes() {
        // 2x3 matrix [[1,2,3],[4,5,6]] stored column-major as u8.
        let bytes = [0xAA, 1, 4, 2, 5, 3, 6];
        let layout = Layout {
            fortran: true,
            ..Layout::dense(Elem::U8, Endian::Little, 1, 2, 3)
        };
        let Some(Owned::F32(v)) = convert(&bytes, &layout) else {
            panic!("expected f32")
        };
        assert_eq!(v, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn strided_gather_skips_row_headers() {
        // Two rows of two big-endian i16 values, each row preceded by two junk bytes.
        let bytes = [9, 9, 0, 1, 0xff, 0xfe, 9, 9, 0x01, 0x00, 0x80, 0x00];
        let layout = Layout {
            row_stride_bytes: 6,
            ..Layout::dense(Elem::I16, Endian::Big, 2, 2, 2)
        };
        let Some(Owned::F32(v)) = convert(&bytes, &layout) else {
            panic!("expected f32")
        };
        assert_eq!(v, [1.0, -2.0, 256.0, -32768.0]);
    }

    #[test]
    fn short_buffer_is_none_not_panic() {
        let layout = Layout::dense(Elem::F64, Endian::Little, 0, 2, 2);
        assert!(convert(&[0u8; 31], &layout).is_none());
        assert!(
            gather_ints(
                &[0u8; 31],
                &Layout::dense(Elem::I64, Endian::Little, 0, 2, 2)
            )
            .is_none()
        );
    }
}
