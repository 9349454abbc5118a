//! The subset of lib0's binary encoding used by y-protocols: varuint,
//! varUint8Array and varString.
//!
//! lib0 writes a varuint as 7-bit groups, least significant group first, with
//! the high bit set on every byte but the last. Its reader accepts non-minimal
//! encodings (e.g. `80 00` for 0) and throws once the value passes
//! `Number.MAX_SAFE_INTEGER`; this reader does the same, and additionally
//! caps a varuint at 8 bytes — enough for any 53-bit value — so a run of
//! continuation bytes cannot keep it busy.

use crate::error::{DecodeError, PayloadKind};

/// `Number.MAX_SAFE_INTEGER`: larger values lose precision in JS peers.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// ceil(53 / 7): the longest encoding of a 53-bit value.
const MAX_VARUINT_BYTES: u32 = 8;

/// A cursor over untrusted input that only ever hands out subslices of it.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn read_var_uint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for group in 0..MAX_VARUINT_BYTES {
            let (&byte, rest) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
            self.rest = rest;
            // group <= 7, so the shift is at most 49 and the result fits in 56 bits.
            value |= u64::from(byte & 0x7f) << (7 * group);
            if byte & 0x80 == 0 {
                return if value > MAX_SAFE_INTEGER {
                    Err(DecodeError::VarintOverflow)
                } else {
                    Ok(value)
                };
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    /// Reads a varUint8Array. `limit` is checked before the bounds check so a
    /// sender that declares an oversized payload learns it is too large
    /// (close 1009) even if it has not sent all of it yet.
    pub(crate) fn read_var_bytes(
        &mut self,
        limit: Option<(usize, PayloadKind)>,
    ) -> Result<&'a [u8], DecodeError> {
        let declared = self.read_var_uint()?;
        if let Some((limit, payload)) = limit {
            if declared > usize_to_u64(limit) {
                return Err(DecodeError::PayloadTooLarge {
                    payload,
                    size: declared,
                    limit,
                });
            }
        }
        let out_of_bounds = DecodeError::LengthOutOfBounds {
            declared,
            remaining: self.rest.len(),
        };
        let len = usize::try_from(declared).map_err(|_| out_of_bounds.clone())?;
        let (bytes, rest) = self.rest.split_at_checked(len).ok_or(out_of_bounds)?;
        self.rest = rest;
        Ok(bytes)
    }

    pub(crate) fn read_var_string(
        &mut self,
        limit: Option<(usize, PayloadKind)>,
    ) -> Result<&'a str, DecodeError> {
        let bytes = self.read_var_bytes(limit)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// Ends a message: anything left over is an error (see crate docs).
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

/// Lossless on every platform Rust supports (usize is at most 64 bits); the
/// saturation only exists so no `as` cast is needed.
pub(crate) fn usize_to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Number of bytes [`write_var_uint`] emits for `n`.
pub(crate) fn var_uint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n > 0x7f {
        n >>= 7;
        len += 1;
    }
    len
}

/// Writes the minimal encoding, exactly as lib0's `writeVarUint` does for
/// values up to 2^53 - 1. Larger values are written losslessly, but neither
/// this crate's reader nor JS peers will accept them.
pub(crate) fn write_var_uint(out: &mut Vec<u8>, mut n: u64) {
    while n > 0x7f {
        out.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn var_bytes_len(payload_len: usize) -> usize {
    var_uint_len(usize_to_u64(payload_len)).saturating_add(payload_len)
}

pub(crate) fn write_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_var_uint(out, usize_to_u64(bytes.len()));
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        write_var_uint(&mut v, n);
        assert_eq!(v.len(), var_uint_len(n));
        v
    }

    fn dec(bytes: &[u8]) -> Result<u64, DecodeError> {
        let mut r = Reader::new(bytes);
        let n = r.read_var_uint()?;
        r.finish()?;
        Ok(n)
    }

    #[test]
    fn known_encodings() {
        // Values cross-checked against lib0's writeVarUint.
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(16_383), [0xff, 0x7f]);
        assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(enc(3_141_592_653), [0xcd, 0xcc, 0x83, 0xda, 0x0b]);
        assert_eq!(
            enc(MAX_SAFE_INTEGER),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]
        );
    }

    #[test]
    fn round_trip_boundaries() {
        for shift in 0..53 {
            for n in [(1u64 << shift) - 1, 1u64 << shift, (1u64 << shift) + 1] {
                if n <= MAX_SAFE_INTEGER {
                    assert_eq!(dec(&enc(n)), Ok(n), "{n}");
                }
            }
        }
    }

    #[test]
    fn rejects_values_beyond_53_bits() {
        assert_eq!(
            dec(&enc(MAX_SAFE_INTEGER + 1)),
            Err(DecodeError::VarintOverflow)
        );
        assert_eq!(dec(&enc(u64::MAX)), Err(DecodeError::VarintOverflow));
        // Nine bytes, even of zeros, is longer than any 53-bit value needs.
        assert_eq!(dec(&[0x80; 9]), Err(DecodeError::VarintOverflow));
        assert_eq!(dec(&[0xff; 100]), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn accepts_non_minimal_like_lib0() {
        assert_eq!(dec(&[0x80, 0x00]), Ok(0));
        assert_eq!(dec(&[0x81, 0x80, 0x00]), Ok(1));
    }

    #[test]
    fn truncated_varuint() {
        assert_eq!(dec(&[]), Err(DecodeError::Truncated));
        assert_eq!(dec(&[0x80]), Err(DecodeError::Truncated));
        assert_eq!(dec(&[0xff, 0xff]), Err(DecodeError::Truncated));
    }

    #[test]
    fn var_bytes_bounds_and_limits() {
        let mut r = Reader::new(&[3, 1, 2]);
        assert_eq!(
            r.read_var_bytes(None),
            Err(DecodeError::LengthOutOfBounds {
                declared: 3,
                remaining: 2
            })
        );
        // A 2^53-1 length in a 9-byte input must not allocate or panic.
        let mut huge = enc(MAX_SAFE_INTEGER);
        huge.push(0);
        let mut r = Reader::new(&huge);
        assert!(matches!(
            r.read_var_bytes(None),
            Err(DecodeError::LengthOutOfBounds { .. })
        ));
        let mut r = Reader::new(&huge);
        assert!(matches!(
            r.read_var_bytes(Some((10, PayloadKind::AppMessage))),
            Err(DecodeError::PayloadTooLarge {
                size: MAX_SAFE_INTEGER,
                limit: 10,
                ..
            })
        ));
        let mut r = Reader::new(&[2, 0xc3, 0x28]);
        assert_eq!(r.read_var_string(None), Err(DecodeError::InvalidUtf8));
    }
}
