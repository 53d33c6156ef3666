//! Reading input files into text, with one-line errors for everything that is not text.

use crate::error::Error;
use anyhow::Result;
use std::io::{BufRead, Read};
use std::path::Path;

/// A decoded input. `text` is the file's bytes unchanged when they are valid UTF-8 (BOM and
/// CRs included: the segmenter skips them), so text offsets are file offsets. With
/// `--lossy`, each bad sequence became U+FFFD and [`Decoded::file_offset`] maps back.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub text: String,
    /// Invalid UTF-8 sequences replaced (only with `lossy`).
    pub replaced: usize,
    /// `(text offset, file offset)` right after each replacement, ascending; empty when
    /// nothing was replaced.
    shifts: Vec<(usize, usize)>,
}

impl Decoded {
    /// The offset in the original file of a text offset (which must not fall inside a
    /// replacement character; sentence bounds never do).
    pub fn file_offset(&self, text_offset: usize) -> usize {
        let k = self.shifts.partition_point(|&(t, _)| t <= text_offset);
        match k {
            0 => text_offset,
            _ => {
                let (t, f) = self.shifts[k - 1];
                f + (text_offset - t)
            }
        }
    }
}

/// Reads a document: `-` is stdin; gzip, xz and zstd are decompressed. Fails with a one-line message naming the input for a
/// missing file, a directory, a binary file (NUL bytes), UTF-16, invalid UTF-8 (unless
/// `lossy`) and documents with no text at all.
pub fn read_input(name: &str, lossy: bool) -> Result<Decoded> {
    let bytes = read_bytes(name)?;
    decode(name, bytes, lossy)
}

fn read_bytes(name: &str) -> Result<Vec<u8>> {
    if name == "-" {
        let stdin = std::io::stdin();
        return decompress(name, &mut stdin.lock()).map_err(Into::into);
    }
    let p = Path::new(name);
    match std::fs::metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(name, "no such file").into())
        }
        Err(e) => return Err(Error::input(name, format!("cannot read ({e})")).into()),
        Ok(m) if m.is_dir() => {
            return Err(Error::input(name, "is a directory, expected a text file").into())
        }
        Ok(_) => {}
    }
    let f = std::fs::File::open(p).map_err(|e| Error::input(name, format!("cannot read ({e})")))?;
    decompress(name, &mut std::io::BufReader::new(f)).map_err(Into::into)
}

/// A compression format, told by the stream's first bytes (not by the file name, which
/// users get wrong; the name only matters for the language and the `.jsonl` format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Self::Gzip)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Self::Xz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Self::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
        }
    }
}

/// The file name without its compression extension (`news.vi.jsonl.gz` → `news.vi.jsonl`),
/// for what the name says about language and format.
pub fn strip_compression(name: &str) -> &str {
    for ext in [".gz", ".xz", ".zst", ".zstd"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem;
        }
    }
    name
}

/// Reads `r` to the end, decompressing it on the way when it starts like gzip, xz or zstd
/// (several concatenated gzip members or zstd frames are read as one stream, as `zcat` does).
fn decompress(name: &str, r: &mut dyn BufRead) -> std::result::Result<Vec<u8>, Error> {
    let cannot = |e: std::io::Error| Error::input(name, format!("cannot read ({e})"));
    let head = r.fill_buf().map_err(cannot)?;
    let Some(kind) = Compression::sniff(head) else {
        let mut b = Vec::new();
        r.read_to_end(&mut b).map_err(cannot)?;
        return Ok(b);
    };
    let corrupt = |e: &dyn std::fmt::Display| {
        Error::input(
            name,
            format!("corrupt or truncated {} data ({e})", kind.name()),
        )
    };
    let mut out = Vec::new();
    match kind {
        Compression::Gzip => {
            flate2::bufread::MultiGzDecoder::new(r)
                .read_to_end(&mut out)
                .map_err(|e| corrupt(&e))?;
        }
        Compression::Xz => {
            let mut r = r;
            lzma_rs::xz_decompress(&mut r, &mut out).map_err(|e| corrupt(&e))?
        }
        Compression::Zstd => {
            while !r.fill_buf().map_err(cannot)?.is_empty() {
                ruzstd::decoding::StreamingDecoder::new(&mut *r)
                    .map_err(|e| corrupt(&e))?
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(&e))?;
            }
        }
    }
    Ok(out)
}

/// Decodes bytes that claim to be a UTF-8 document named `name` (see [`read_input`]).
pub fn decode(name: &str, bytes: Vec<u8>, lossy: bool) -> Result<Decoded> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(Error::input(
            name,
            "looks like UTF-16 (byte-order mark); convert it to UTF-8 first",
        )
        .into());
    }
    if let Some(p) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::input(
            name,
            format!("binary file (NUL byte at offset {p}), expected UTF-8 text"),
        )
        .into());
    }
    let decoded = match String::from_utf8(bytes) {
        Ok(text) => Decoded {
            text,
            replaced: 0,
            shifts: Vec::new(),
        },
        Err(e) if !lossy => {
            let at = e.utf8_error().valid_up_to();
            return Err(Error::input(
                name,
                format!(
                    "not valid UTF-8 (first bad byte at offset {at}; --lossy replaces bad bytes)"
                ),
            )
            .into());
        }
        Err(e) => lossy_decode(e.as_bytes()),
    };
    if decoded
        .text
        .chars()
        .all(|c| c.is_whitespace() || c == '\u{feff}')
    {
        return Err(Error::EmptyDocument {
            path: name.to_string(),
        }
        .into());
    }
    Ok(decoded)
}

/// Whether a file's bytes hold no text: nothing but whitespace, after an optional UTF-8
/// byte-order mark (a BOM-only file is as empty as a 0-byte one).
pub fn is_blank(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(b).is_ok_and(|t| t.chars().all(|c| c.is_whitespace() || c == '\u{feff}'))
}

/// Whether `e` is [`read_input`]'s "no text at all" error (some callers take such a file
/// as an empty document).
pub fn is_empty_input(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<Error>(), Some(Error::EmptyDocument { .. }))
}

/// Replaces each invalid sequence with U+FFFD (as `String::from_utf8_lossy` does), keeping
/// track of where text and file offsets diverge.
fn lossy_decode(bytes: &[u8]) -> Decoded {
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut shifts = Vec::new();
    let mut replaced = 0;
    let mut file = 0;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        file += chunk.valid().len();
        let bad = chunk.invalid();
        if !bad.is_empty() {
            text.push(char::REPLACEMENT_CHARACTER);
            file += bad.len();
            replaced += 1;
            shifts.push((text.len(), file));
        }
    }
    Decoded {
        text,
        replaced,
        shifts,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn err(bytes: &[u8], lossy: bool) -> String {
        format!("{:#}", decode("f.txt", bytes.to_vec(), lossy).unwrap_err())
    }

    #[test]
    fn bad_inputs_have_clear_errors() {
        assert!(err(b"ab\xffcd", false).contains("offset 2"));
        assert!(err(b"ab\0cd", false).contains("NUL byte at offset 2"));
        assert!(err(b"  \n\t\r\n", false).contains("empty document"));
        assert!(err(b"", false).contains("empty document"));
        assert!(err(b"\xef\xbb\xbf\n", false).contains("empty document"));
        assert!(err(b"\xff\xfeh\0i\0", false).contains("UTF-16"));
        for e in [err(b"ab\xffcd", false), err(b"", false)] {
            assert!(e.starts_with("f.txt: ") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn bom_only_is_blank_like_empty() {
        for b in [&b""[..], b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n \n", b" \t\n"] {
            assert!(is_blank(b), "{b:?}");
        }
        assert!(!is_blank(b"\xef\xbb\xbfx"));
        assert!(!is_blank(b"\xff"));
    }

    #[test]
    fn lossy_maps_offsets_back() {
        let d = decode("f", b"ab\xe2\x82cd\xc3".to_vec(), true).unwrap();
        assert_eq!(d.text, "ab\u{fffd}cd\u{fffd}");
        assert_eq!(d.replaced, 2);
        assert_eq!(d.file_offset(0), 0);
        assert_eq!(d.file_offset(2), 2);
        assert_eq!(d.file_offset(5), 4); // 'c'
        assert_eq!(d.file_offset(7), 6); // second bad sequence
        assert_eq!(d.file_offset(d.text.len()), 7);
    }

    #[test]
    fn files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        assert!(format!("{:#}", read_input(&d, false).unwrap_err()).contains("is a directory"));
        let missing = format!("{d}/nope.txt");
        assert_eq!(
            format!("{:#}", read_input(&missing, false).unwrap_err()),
            format!("{missing}: no such file")
        );
    }

    /// `bytes` compressed as `kind` (two gzip members / zstd frames, as `cat a.gz b.gz`).
    pub(crate) fn compressed(kind: Compression, bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let (a, b) = bytes.split_at(bytes.len() / 2);
        match kind {
            Compression::Gzip => [a, b]
                .iter()
                .flat_map(|part| {
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                    e.write_all(part).unwrap();
                    e.finish().unwrap()
                })
                .collect(),
            Compression::Xz => {
                let mut out = Vec::new();
                lzma_rs::xz_compress(&mut &bytes[..], &mut out).unwrap();
                out
            }
            Compression::Zstd => [a, b]
                .iter()
                .flat_map(|part| {
                    ruzstd::encoding::compress_to_vec(
                        *part,
                        ruzstd::encoding::CompressionLevel::Fastest,
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn compressed_inputs_read_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "Một câu. Câu thứ hai.\nAnother line, ünïcödé.\n".repeat(50);
        for (kind, ext) in [
            (Compression::Gzip, "gz"),
            (Compression::Xz, "xz"),
            (Compression::Zstd, "zst"),
        ] {
            let bytes = compressed(kind, text.as_bytes());
            assert_eq!(Compression::sniff(&bytes), Some(kind));
            // The content decides, not the name.
            for name in [format!("a.vi.txt.{ext}"), "b.txt".to_string()] {
                let p = dir.path().join(&name);
                std::fs::write(&p, &bytes).unwrap();
                let d = read_input(&p.display().to_string(), false).unwrap();
                assert_eq!(d.text, text, "{name}");
            }
            // Cut short: one line naming the file and the format.
            let p = dir.path().join(format!("cut.{ext}"));
            std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
            let e = format!(
                "{:#}",
                read_input(&p.display().to_string(), false).unwrap_err()
            );
            let want = format!("{}: corrupt or truncated", p.display());
            assert!(e.starts_with(&want) && !e.contains('\n'), "{e}");
        }
        assert_eq!(strip_compression("a.vi.jsonl.zst"), "a.vi.jsonl");
        assert_eq!(strip_compression("a.vi.txt"), "a.vi.txt");
    }
}
