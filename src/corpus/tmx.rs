//! TMX 1.4b, the translation-memory exchange format that CAT tools (OmegaT, Trados,
//! memoQ) import. Scores travel as `<prop>` elements so translators can filter on them.

use super::{AtomicFile, Record, Sink};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub struct TmxSink {
    file: AtomicFile,
    /// Sides that lost characters XML forbids.
    altered: usize,
}

impl TmxSink {
    pub fn create(path: impl AsRef<Path>, src_lang: &str) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        write!(
            file,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <tmx version=\"1.4\">\n  \
             <header creationtool=\"bitalign\" creationtoolversion=\"{}\" segtype=\"sentence\" \
             o-tmf=\"bitalign\" adminlang=\"en\" srclang=\"{}\" datatype=\"plaintext\"/>\n  \
             <body>\n",
            env!("CARGO_PKG_VERSION"),
            xml_escape(src_lang)
        )
        .with_context(|| format!("{}: write failed", file.path().display()))?;
        Ok(Self { file, altered: 0 })
    }
}

impl Sink for TmxSink {
    fn write(&mut self, r: &Record) -> Result<()> {
        let mut s = String::from("    <tu>\n");
        if let Some(c) = r.confidence {
            s += &format!("      <prop type=\"x-confidence\">{c:.6}</prop>\n");
        }
        if let Some(m) = r.margin {
            s += &format!("      <prop type=\"x-margin\">{m:.6}</prop>\n");
        }
        s += &format!("      <prop type=\"x-cosine\">{:.6}</prop>\n", r.cosine);
        if let Some(c) = r.cost {
            s += &format!("      <prop type=\"x-cost\">{c:.6}</prop>\n");
        }
        for side in [&r.src, &r.tgt] {
            if side.text.chars().any(xml_forbidden) {
                self.altered += 1;
            }
            s += &format!(
                "      <tuv xml:lang=\"{}\"><seg>{}</seg></tuv>\n",
                xml_escape(&side.lang),
                xml_escape(&side.text)
            );
        }
        s += "    </tu>\n";
        self.file
            .write_all(s.as_bytes())
            .with_context(|| format!("{}: write failed", self.file.path().display()))
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.file
            .write_all(b"  </body>\n</tmx>\n")
            .with_context(|| format!("{}: write failed", self.file.path().display()))?;
        self.file.commit()
    }

    fn altered(&self) -> Vec<(super::Format, usize)> {
        vec![(super::Format::Tmx, self.altered)]
    }
}

/// Characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF).
fn xml_forbidden(c: char) -> bool {
    ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// Escapes the five XML special characters and drops characters XML 1.0 forbids
/// (most C0 controls, U+FFFE, U+FFFF), which would make the whole file unreadable.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}
