//! SentencePiece model files (`source.spm`, `target.spm` of OPUS-MT repos) read without the
//! C++ library: the few protobuf fields a unigram model needs, then sentencepiece's own
//! normalisation (precompiled charsmap, whitespace folding, `▁` escaping) and Viterbi
//! segmentation through the `tokenizers` crate's `Precompiled` and `Unigram`.

use anyhow::{anyhow, bail, ensure, Result};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::Precompiled;
use tokenizers::{NormalizedString, Normalizer};

/// The word-boundary symbol sentencepiece puts in place of spaces.
pub const SPACE: char = '▁';

/// A piece's kind (sentencepiece's `ModelProto.SentencePiece.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

/// A sentencepiece unigram model, ready to segment text into pieces.
pub struct SentencePiece {
    /// Every piece of the model, in id order, with its kind.
    pub pieces: Vec<(String, f32, PieceType)>,
    unigram: Unigram,
    charsmap: Option<Precompiled>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

/// One protobuf field: number and value.
enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Reads the fields of one protobuf message (`bytes`), in order.
fn fields(mut bytes: &[u8]) -> Result<Vec<(u32, Field<'_>)>> {
    fn varint(b: &mut &[u8]) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first().ok_or_else(|| anyhow!("truncated varint"))?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("varint too long")
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let number = (key >> 3) as u32;
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut bytes)?),
            1 => {
                ensure!(bytes.len() >= 8, "truncated 64-bit field");
                bytes = &bytes[8..];
                continue;
            }
            2 => {
                let n = varint(&mut bytes)? as usize;
                ensure!(bytes.len() >= n, "truncated field {number}");
                let (v, rest) = bytes.split_at(n);
                bytes = rest;
                Field::Bytes(v)
            }
            5 => {
                ensure!(bytes.len() >= 4, "truncated 32-bit field");
                let v = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
                bytes = &bytes[4..];
                Field::Fixed32(v)
            }
            w => bail!("unsupported wire type {w} (field {number})"),
        };
        out.push((number, field));
    }
    Ok(out)
}

impl SentencePiece {
    /// Parses a serialized `ModelProto` (the `.model` / `.spm` file).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut pieces = Vec::new();
        let mut model_type = 1; // UNIGRAM
        let mut byte_fallback = false;
        let mut charsmap: &[u8] = &[];
        let (mut add_dummy_prefix, mut remove_extra_whitespaces, mut escape_whitespaces) =
            (true, true, true);
        for (number, field) in fields(bytes)? {
            match (number, field) {
                (1, Field::Bytes(p)) => {
                    let (mut piece, mut score, mut kind) = (String::new(), 0f32, 1u64);
                    for (n, f) in fields(p)? {
                        match (n, f) {
                            (1, Field::Bytes(s)) => {
                                piece = String::from_utf8(s.to_vec())
                                    .map_err(|_| anyhow!("a piece is not UTF-8"))?
                            }
                            (2, Field::Fixed32(v)) => score = f32::from_bits(v),
                            (3, Field::Varint(v)) => kind = v,
                            _ => {}
                        }
                    }
                    let kind = match kind {
                        1 => PieceType::Normal,
                        2 => PieceType::Unknown,
                        3 => PieceType::Control,
                        4 => PieceType::UserDefined,
                        5 => PieceType::Unused,
                        6 => PieceType::Byte,
                        k => bail!("piece {piece:?} has unknown type {k}"),
                    };
                    pieces.push((piece, score, kind));
                }
                (2, Field::Bytes(trainer)) => {
                    for (n, f) in fields(trainer)? {
                        match (n, f) {
                            (3, Field::Varint(v)) => model_type = v,
                            (35, Field::Varint(v)) => byte_fallback = v != 0,
                            _ => {}
                        }
                    }
                }
                (3, Field::Bytes(norm)) => {
                    for (n, f) in fields(norm)? {
                        match (n, f) {
                            (2, Field::Bytes(map)) => charsmap = map,
                            (3, Field::Varint(v)) => add_dummy_prefix = v != 0,
                            (4, Field::Varint(v)) => remove_extra_whitespaces = v != 0,
                            (5, Field::Varint(v)) => escape_whitespaces = v != 0,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        ensure!(
            model_type == 1,
            "not a unigram model (sentencepiece model type {model_type}; OPUS-MT models are unigram)"
        );
        ensure!(!pieces.is_empty(), "no pieces (not a sentencepiece model?)");
        // Control and unused pieces (<s>, </s>, <pad>) never match text: they are left out
        // of the lattice, as sentencepiece does. Ids here are only used inside `encode`.
        let lattice: Vec<(String, f64)> = pieces
            .iter()
            .filter(|(_, _, k)| !matches!(k, PieceType::Control | PieceType::Unused))
            .map(|(p, s, _)| (p.clone(), f64::from(*s)))
            .collect();
        let unk = lattice.iter().position(|(p, _)| {
            pieces
                .iter()
                .any(|(q, _, k)| q == p && *k == PieceType::Unknown)
        });
        let unigram = Unigram::from(lattice, unk, byte_fallback)
            .map_err(|e| anyhow!("cannot build the unigram model: {e}"))?;
        let charsmap = if charsmap.is_empty() {
            None
        } else {
            Some(
                Precompiled::from(charsmap)
                    .map_err(|e| anyhow!("bad precompiled charsmap: {e}"))?,
            )
        };
        Ok(Self {
            pieces,
            unigram,
            charsmap,
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces,
        })
    }

    /// sentencepiece's normaliser: the charsmap, then leading, trailing and repeated
    /// spaces removed, a `▁` put in front and every space written as `▁`.
    pub fn normalize(&self, text: &str) -> Result<String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let mapped = match &self.charsmap {
            Some(map) => {
                let mut n = NormalizedString::from(text);
                map.normalize(&mut n)
                    .map_err(|e| anyhow!("normalisation failed: {e}"))?;
                n.get().to_string()
            }
            None => text.to_string(),
        };
        let space = if self.escape_whitespaces {
            SPACE.to_string()
        } else {
            " ".to_string()
        };
        let mut out = String::with_capacity(mapped.len() + 3);
        if self.remove_extra_whitespaces {
            let words: Vec<&str> = mapped.split(' ').filter(|w| !w.is_empty()).collect();
            if words.is_empty() {
                return Ok(String::new());
            }
            if self.add_dummy_prefix {
                out.push_str(&space);
            }
            out.push_str(&words.join(&space));
        } else {
            if self.add_dummy_prefix {
                out.push_str(&space);
            }
            out.push_str(&mapped.replace(' ', &space));
        }
        Ok(out)
    }

    /// The pieces of `text`, as sentencepiece's `encode(text, out_type=str)` gives them: an
    /// unknown stretch comes back as its own text.
    pub fn encode(&self, text: &str) -> Result<Vec<String>> {
        let normalized = self.normalize(text)?;
        self.unigram
            .encode(&normalized)
            .map_err(|e| anyhow!("segmentation failed: {e}"))
    }

    /// Whether `piece` is one of the model's control pieces (`<s>`, `</s>`): invisible when
    /// decoding.
    pub fn is_control(&self, piece: &str) -> bool {
        self.pieces
            .iter()
            .any(|(p, _, k)| p == piece && *k == PieceType::Control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made ModelProto: pieces <unk> (unknown), </s> (control), ▁a, b, ▁ab.
    fn tiny() -> Vec<u8> {
        fn field(n: u32, wire: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![((n << 3) as u8) | wire];
            if wire == 2 {
                out.push(body.len() as u8);
            }
            out.extend_from_slice(body);
            out
        }
        let piece = |p: &str, score: f32, kind: u8| {
            let mut b = field(1, 2, p.as_bytes());
            b.extend(field(2, 5, &score.to_le_bytes()));
            b.extend(field(3, 0, &[kind]));
            field(1, 2, &b)
        };
        let mut m = Vec::new();
        m.extend(piece("<unk>", 0.0, 2));
        m.extend(piece("</s>", 0.0, 3));
        m.extend(piece("▁a", -1.0, 1));
        m.extend(piece("b", -2.0, 1));
        m.extend(piece("▁ab", -2.5, 1));
        m
    }

    #[test]
    fn reads_pieces_and_segments() {
        let sp = SentencePiece::from_bytes(&tiny()).unwrap();
        assert_eq!(sp.pieces.len(), 5);
        assert!(sp.is_control("</s>"));
        assert_eq!(sp.normalize("  a  b ").unwrap(), "▁a▁b");
        assert_eq!(sp.encode("ab a").unwrap(), ["▁ab", "▁a"]);
        // Control pieces are not matched in text; unknown characters are fused and come
        // back as their text, as sentencepiece's encode(out_type=str) returns them
        // (MarianTokenizer then looks that text up in vocab.json).
        assert_eq!(sp.encode("a</s>").unwrap(), ["▁a", "</s>"]);
        assert!(sp.encode("   ").unwrap().is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(SentencePiece::from_bytes(b"\x0a\xff").is_err());
        assert!(SentencePiece::from_bytes(b"").is_err());
    }
}
