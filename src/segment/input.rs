//! Reading input files into text, with one-line errors for everything that is not text.

use crate::error::Error;
use anyhow::{Context, Result};
use std::io::Read;
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

/// Reads a document: `-` is stdin. Fails with a one-line message naming the input for a
/// missing file, a directory, a binary file (NUL bytes), UTF-16, invalid UTF-8 (unless
/// `lossy`) and documents with no text at all.
pub fn read_input(name: &str, lossy: bool) -> Result<Decoded> {
    let bytes = read_bytes(name)?;
    decode(name, bytes, lossy)
}

fn read_bytes(name: &str) -> Result<Vec<u8>> {
    if name == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .context("stdin: cannot read")?;
        return Ok(b);
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
    std::fs::read(p).map_err(|e| Error::input(name, format!("cannot read ({e})")).into())
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
mod tests {
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
}
