//! Byte-reproducible `.npz` files: `.npy` arrays (via ndarray-npy) in an uncompressed ZIP with
//! fixed timestamps, so the same data always gives the same bytes (`numpy.load` reads it).
//!
//! [`read_f64`] reads an array back. It understands exactly the layout written here (stored
//! members, no ZIP64), which is all `talentflow plot`/`report` need, and it spares the project the
//! `zip` crate that ndarray-npy's own npz reader would pull in.

use ndarray::{ArrayView, IxDyn};
use ndarray_npy::WriteNpyExt;

/// An array to store: name (without `.npy`), shape, row-major data.
pub struct NpzArray<'a> {
    /// Name inside the archive.
    pub name: String,
    /// Shape, C order.
    pub shape: Vec<usize>,
    /// Contents.
    pub data: NpzData<'a>,
}

/// Contents of an [`NpzArray`].
pub enum NpzData<'a> {
    /// float64 values.
    F64(&'a [f64]),
    /// Fixed-width byte strings (numpy dtype `|S<n>`), e.g. country codes.
    Bytes(Vec<String>),
    /// float64 values, owned.
    F64Owned(Vec<f64>),
    /// float32 values.
    F32(Vec<f32>),
    /// int64 values.
    I64(Vec<i64>),
    /// int32 values.
    I32(Vec<i32>),
    /// int16 values.
    I16(Vec<i16>),
    /// int8 values.
    I8(Vec<i8>),
}

/// Writes `data` with `shape` as `.npy`.
fn write_npy<T: ndarray_npy::WritableElement>(
    out: &mut Vec<u8>,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> Result<(), NpzError> {
    let size: usize = shape.iter().product();
    if size != data.len() {
        return Err(NpzError::Encode {
            name: name.to_string(),
            message: format!(
                "shape {shape:?} holds {size} values, data has {}",
                data.len()
            ),
        });
    }
    let view = ArrayView::from_shape(IxDyn(shape), data).map_err(|e| NpzError::Encode {
        name: name.to_string(),
        message: e.to_string(),
    })?;
    view.write_npy(out).map_err(|e| NpzError::Encode {
        name: name.to_string(),
        message: e.to_string(),
    })
}

/// Errors building an archive.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The data did not match the shape, or npy encoding failed.
    #[error("cannot encode array `{name}`: {message}")]
    Encode {
        /// Array name.
        name: String,
        /// What failed.
        message: String,
    },
    /// Past the classic ZIP limits (4 GiB per member, 65 535 members).
    #[error("array `{0}` is too large for a ZIP archive without ZIP64 (4 GiB)")]
    TooLarge(String),
    /// Reading: the archive is not one this module wrote (truncated, compressed, corrupt).
    #[error("not a talentflow npz archive: {0}")]
    Format(String),
    /// Reading: the archive has no member of that name.
    #[error("no array `{0}` in the archive")]
    Missing(String),
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Finds member `name` (e.g. `flows.npy`) through the central directory and returns its bytes,
/// checked against the stored CRC-32.
pub fn read_member<'a>(archive: &'a [u8], name: &str) -> Result<&'a [u8], NpzError> {
    let bad = |m: &str| NpzError::Format(m.to_string());
    // The end-of-central-directory record is the last 22 bytes: no archive comment is written.
    let eocd = archive
        .len()
        .checked_sub(22)
        .filter(|&at| le32(archive, at) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end-of-central-directory record"))?;
    let entries = le16(archive, eocd + 10).ok_or_else(|| bad("truncated"))?;
    let mut at = le32(archive, eocd + 16).ok_or_else(|| bad("truncated"))? as usize;
    for _ in 0..entries {
        if le32(archive, at) != Some(0x0201_4b50) {
            return Err(bad("broken central directory"));
        }
        let field = |off: usize| le16(archive, at + off).ok_or_else(|| bad("truncated"));
        let (method, name_len) = (field(10)?, field(28)?);
        let skip = name_len + field(30)? + field(32)?;
        let word = |off: usize| le32(archive, at + off).ok_or_else(|| bad("truncated"));
        let (crc, size, offset) = (word(16)?, word(20)? as usize, word(42)? as usize);
        let member = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("truncated"))?;
        if member == name.as_bytes() {
            if method != 0 {
                return Err(bad("compressed member (only stored members are read)"));
            }
            if le32(archive, offset) != Some(0x0403_4b50) {
                return Err(bad("broken local header"));
            }
            let local = |off: usize| le16(archive, offset + off).ok_or_else(|| bad("truncated"));
            let start = offset + 30 + local(26)? + local(28)?;
            let data = archive
                .get(start..start + size)
                .ok_or_else(|| bad("truncated member"))?;
            if crc32(data) != crc {
                return Err(bad(&format!("CRC mismatch in {name}")));
            }
            return Ok(data);
        }
        at += 46 + skip;
    }
    Err(NpzError::Missing(name.trim_end_matches(".npy").to_string()))
}

/// The shape in the header of a little-endian float64, C-order `.npy` file, checked against the
/// bytes that follow the header: a header claiming 10^11 × 3 × 3 values over a few bytes of
/// data is refused here, before anything is allocated for it.
fn f64_npy_shape(npy: &[u8], name: &str) -> Result<Vec<usize>, NpzError> {
    let bad = |m: String| NpzError::Format(format!("array `{name}`: {m}"));
    if npy.get(..6) != Some(b"\x93NUMPY".as_slice()) {
        return Err(bad("not an .npy file".into()));
    }
    let (len, start) = match npy.get(6) {
        Some(1) => (le16(npy, 8), 10),
        Some(2 | 3) => (le32(npy, 8).map(|l| l as usize), 12),
        _ => (None, 0),
    };
    let len = len.ok_or_else(|| bad("unknown .npy version or truncated header".into()))?;
    let header = npy
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated or non-text header".into()))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f8'") || !compact.contains("'fortran_order':False") {
        return Err(bad("not a little-endian float64 array in C order".into()));
    }
    let dims = compact
        .split_once("'shape':(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(dims, _)| dims)
        .ok_or_else(|| bad("no shape in the header".into()))?;
    let shape = dims
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>())
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| bad(format!("shape ({dims}) is not a list of sizes")))?;
    let data = npy.len() - (start + len);
    let bytes = shape.iter().try_fold(8usize, |acc, &d| acc.checked_mul(d));
    if bytes != Some(data) {
        return Err(bad(format!(
            "shape {shape:?} does not match the {data} bytes of data that follow its header"
        )));
    }
    Ok(shape)
}

/// Reads the float64 array `name` (without `.npy`): its shape and row-major values.
pub fn read_f64(archive: &[u8], name: &str) -> Result<(Vec<usize>, Vec<f64>), NpzError> {
    use ndarray_npy::ReadNpyExt;
    let npy = read_member(archive, &format!("{name}.npy"))?;
    f64_npy_shape(npy, name)?;
    let array = ndarray::ArrayD::<f64>::read_npy(npy)
        .map_err(|e| NpzError::Format(format!("array `{name}`: {e}")))?;
    let shape = array.shape().to_vec();
    // `read_npy` of a C-order file gives a standard-layout array, so this is row-major order.
    Ok((shape, array.iter().copied().collect()))
}

/// Reads the one-dimensional integer array `name` (little-endian int8/16/32/64, as the panel
/// files store their columns) as `i64`s, its shape checked against its bytes first.
pub fn read_int(archive: &[u8], name: &str) -> Result<Vec<i64>, NpzError> {
    let npy = read_member(archive, &format!("{name}.npy"))?;
    let bad = |m: String| NpzError::Format(format!("array `{name}`: {m}"));
    let (len, start) = match (npy.get(..6), npy.get(6)) {
        (Some(b"\x93NUMPY"), Some(1)) => (le16(npy, 8), 10),
        (Some(b"\x93NUMPY"), Some(2 | 3)) => (le32(npy, 8).map(|l| l as usize), 12),
        _ => (None, 0),
    };
    let len = len.ok_or_else(|| bad("not an .npy file, or a truncated header".into()))?;
    let header = npy
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated or non-text header".into()))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    let size = [("'|i1'", 1), ("'<i2'", 2), ("'<i4'", 4), ("'<i8'", 8)]
        .iter()
        .find(|(d, _)| compact.contains(&format!("'descr':{d}")))
        .map(|&(_, n)| n)
        .ok_or_else(|| bad("not a little-endian integer array".into()))?;
    let data = &npy[start + len..];
    let n = compact
        .split_once("'shape':(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(dims, _)| dims.trim_end_matches(',').parse::<usize>().ok())
        .ok_or_else(|| bad("not a one-dimensional shape".into()))?;
    if n.checked_mul(size) != Some(data.len()) {
        return Err(bad(format!(
            "{n} values do not match the {} bytes of data that follow its header",
            data.len()
        )));
    }
    Ok(data
        .chunks_exact(size)
        .map(|b| match size {
            1 => i64::from(b[0] as i8),
            2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
            4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        })
        .collect())
}

/// Encodes arrays as an `.npz` archive in memory.
pub fn encode(arrays: &[NpzArray<'_>]) -> Result<Vec<u8>, NpzError> {
    let mut zip = ZipWriter::default();
    for a in arrays {
        let mut npy = Vec::new();
        match &a.data {
            NpzData::F64(data) => {
                let size: usize = a.shape.iter().product();
                if size != data.len() {
                    return Err(NpzError::Encode {
                        name: a.name.clone(),
                        message: format!(
                            "shape {:?} holds {size} values, data has {}",
                            a.shape,
                            data.len()
                        ),
                    });
                }
                let view =
                    ArrayView::from_shape(IxDyn(&a.shape), data).map_err(|e| NpzError::Encode {
                        name: a.name.clone(),
                        message: e.to_string(),
                    })?;
                view.write_npy(&mut npy).map_err(|e| NpzError::Encode {
                    name: a.name.clone(),
                    message: e.to_string(),
                })?;
            }
            NpzData::Bytes(items) => write_bytes_npy(&mut npy, items),
            NpzData::F64Owned(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
            NpzData::F32(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
            NpzData::I64(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
            NpzData::I32(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
            NpzData::I16(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
            NpzData::I8(v) => write_npy(&mut npy, &a.name, &a.shape, v)?,
        }
        zip.add(&format!("{}.npy", a.name), &npy)?;
    }
    zip.finish()
}

/// Writes a 1-D `|S<n>` array (.npy format 1.0).
fn write_bytes_npy(out: &mut Vec<u8>, items: &[String]) {
    let width = items.iter().map(String::len).max().unwrap_or(1).max(1);
    let mut header = format!(
        "{{'descr': '|S{width}', 'fortran_order': False, 'shape': ({},), }}",
        items.len()
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for s in items {
        out.extend_from_slice(s.as_bytes());
        out.extend(std::iter::repeat_n(0u8, width - s.len()));
    }
}

/// A minimal ZIP writer: stored members, DOS time 1980-01-01 00:00, no extra fields.
#[derive(Default)]
struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01

impl ZipWriter {
    fn add(&mut self, name: &str, data: &[u8]) -> Result<(), NpzError> {
        let size = u32::try_from(data.len()).map_err(|_| NpzError::TooLarge(name.into()))?;
        let offset = u32::try_from(self.out.len()).map_err(|_| NpzError::TooLarge(name.into()))?;
        if self.entries == u16::MAX {
            return Err(NpzError::TooLarge(name.into()));
        }
        let crc = crc32(data);
        let name_len = name.len() as u16;
        let o = &mut self.out;
        o.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, DOS_TIME, DOS_DATE] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        o.extend_from_slice(&name_len.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        o.extend_from_slice(name.as_bytes());
        o.extend_from_slice(data);

        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, DOS_TIME, DOS_DATE] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        c.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, NpzError> {
        let cd_offset = u32::try_from(self.out.len())
            .map_err(|_| NpzError::TooLarge("central directory".into()))?;
        let cd_size = self.central.len() as u32;
        self.out.append(&mut self.central);
        let o = &mut self.out;
        o.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, self.entries, self.entries] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        o.extend_from_slice(&cd_size.to_le_bytes());
        o.extend_from_slice(&cd_offset.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        Ok(self.out)
    }
}

/// CRC-32 (IEEE 802.3, as ZIP uses).
pub fn crc32(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    const TABLE: [u32; 256] = table();
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn identical_input_identical_bytes() {
        let data = [1.0, 2.0, 3.0, 4.0];
        let make = || {
            encode(&[
                NpzArray {
                    name: "a".into(),
                    shape: vec![2, 2],
                    data: NpzData::F64(&data),
                },
                NpzArray {
                    name: "codes".into(),
                    shape: vec![2],
                    data: NpzData::Bytes(vec!["US".into(), "GBR".into()]),
                },
            ])
            .unwrap()
        };
        let a = make();
        assert_eq!(a, make());
        assert_eq!(&a[..4], b"PK\x03\x04");
        assert!(encode(&[NpzArray {
            name: "bad".into(),
            shape: vec![3],
            data: NpzData::F64(&data)
        }])
        .is_err());
    }

    #[test]
    fn a_forged_shape_is_refused_before_anything_is_allocated() {
        let npy = |shape: &str, data: usize| {
            let mut header =
                format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
            while (10 + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            let mut out = b"\x93NUMPY\x01\x00".to_vec();
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
            out.extend_from_slice(header.as_bytes());
            out.extend(std::iter::repeat_n(0u8, data));
            out
        };
        let archive = |member: &[u8]| {
            let mut zip = ZipWriter::default();
            zip.add("flows.npy", member).unwrap();
            zip.finish().unwrap()
        };
        // CRCs are right: only the shape lies.
        for (shape, data, phrase) in [
            ("(100000000000, 3, 3)", 72, "does not match the 72 bytes"),
            (
                "(18446744073709551615, 2)",
                16,
                "does not match the 16 bytes",
            ),
            ("(3, -1)", 16, "is not a list of sizes"),
            ("(2,)", 8, "does not match the 8 bytes"),
        ] {
            let err = read_f64(&archive(&npy(shape, data)), "flows")
                .unwrap_err()
                .to_string();
            assert!(err.contains(phrase), "{shape}: {err}");
        }
        let good = read_f64(&archive(&npy("(2, 1)", 16)), "flows").unwrap();
        assert_eq!(good, (vec![2, 1], vec![0.0, 0.0]));
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let data: Vec<f64> = (0..24).map(|i| i as f64 * 0.5 - 3.0).collect();
        let other = [7.0];
        let archive = encode(&[
            NpzArray {
                name: "codes".into(),
                shape: vec![2],
                data: NpzData::Bytes(vec!["US".into(), "GBR".into()]),
            },
            NpzArray {
                name: "cube".into(),
                shape: vec![2, 3, 4],
                data: NpzData::F64(&data),
            },
            NpzArray {
                name: "x".into(),
                shape: vec![1],
                data: NpzData::F64(&other),
            },
        ])
        .unwrap();
        assert_eq!(read_f64(&archive, "cube").unwrap(), (vec![2, 3, 4], data));
        assert_eq!(read_f64(&archive, "x").unwrap(), (vec![1], vec![7.0]));
        assert!(matches!(
            read_f64(&archive, "nope"),
            Err(NpzError::Missing(n)) if n == "nope"
        ));
        // A flipped byte inside a member is caught by its CRC; a cut archive has no directory.
        let mut corrupt = archive.clone();
        let at = corrupt.len() / 2;
        corrupt[at] ^= 0xFF;
        assert!(read_f64(&corrupt, "cube").is_err());
        assert!(read_f64(&archive[..archive.len() - 1], "cube").is_err());
    }
}
