//! The plots, as SVG documents that stand alone (for papers) and also sit inline in the
//! page: score histograms with the threshold, and alignment dot plots.

use super::{LinkData, Similarity};
use std::fmt::Write;

/// Kept, below threshold, filtered; and the alignment marks. Colour-blind safe (Okabe–Ito).
pub const KEPT: &str = "#0072B2";
pub const BELOW: &str = "#B0B0B0";
pub const FILTERED: &str = "#E69F00";
pub const THRESHOLD: &str = "#D55E00";
pub const MANY: &str = "#CC79A7";

/// Escapes text for XML and HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn open(w: f32, h: f32, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\" role=\"img\">\
         <title>{}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        esc(title),
        esc(title)
    )
}

/// One group of a histogram: its label, colour and values.
pub struct Group<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub values: Vec<f32>,
}

/// A stacked histogram of the groups' values in 40 bins, with `threshold` drawn.
pub fn histogram(title: &str, axis: &str, groups: &[Group], threshold: Option<f32>) -> String {
    const BINS: usize = 40;
    let (w, h) = (440.0f32, 210.0f32);
    let (left, right, top, bottom) = (44.0f32, 24.0f32, 42.0f32, 36.0f32);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let all = groups.iter().flat_map(|g| g.values.iter().copied());
    let finite: Vec<f32> = all.filter(|v| v.is_finite()).collect();
    let mut lo = finite.iter().copied().fold(f32::INFINITY, f32::min);
    let mut hi = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if let Some(t) = threshold {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-3 {
        (lo, hi) = (lo - 0.005, hi + 0.005);
    }
    let width = (hi - lo) / BINS as f32;
    let bin = |v: f32| (((v - lo) / width) as usize).min(BINS - 1);
    // Per bin, the count of each group.
    let mut counts = vec![vec![0usize; groups.len()]; BINS];
    for (g, group) in groups.iter().enumerate() {
        for &v in group.values.iter().filter(|v| v.is_finite()) {
            counts[bin(v)][g] += 1;
        }
    }
    let most = counts
        .iter()
        .map(|c| c.iter().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |v: f32| left + (v - lo) / (hi - lo) * pw;
    let y = |n: usize| top + ph - n as f32 / most as f32 * ph;
    let mut s = open(w, h, title);
    // Legend.
    let mut lx = 8.0;
    for g in groups {
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"24\" width=\"9\" height=\"9\" fill=\"{}\"/><text x=\"{}\" y=\"32\">{} ({})</text>",
            g.color,
            lx + 12.0,
            esc(g.label),
            g.values.len()
        );
        lx += 24.0 + 6.5 * (g.label.len() + g.values.len().to_string().len()) as f32;
    }
    // Bars, stacked in group order.
    let bw = pw / BINS as f32;
    for (b, stack) in counts.iter().enumerate() {
        let mut base = 0usize;
        for (&n, group) in stack.iter().zip(groups) {
            if n == 0 {
                continue;
            }
            let (y1, y0) = (y(base + n), y(base));
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y1:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{:.3}–{:.3}: {n} {}</title></rect>",
                left + b as f32 * bw + 0.5,
                (bw - 1.0).max(0.5),
                y0 - y1,
                group.color,
                lo + b as f32 * width,
                lo + (b + 1) as f32 * width,
                esc(group.label)
            );
            base += n;
        }
    }
    // Axes and ticks.
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>",
        top + ph,
        left + pw,
        top + ph,
        top + ph
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f32 / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#333\"/><text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\">{v:.3}</text>",
            x(v),
            top + ph,
            top + ph + 4.0,
            top + ph + 15.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{most}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        left + pw / 2.0,
        h - 4.0,
        esc(axis),
        left - 4.0,
        top + 4.0,
        left - 4.0,
        top + ph + 4.0
    );
    if let Some(t) = threshold {
        let _ = write!(
            s,
            "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"{THRESHOLD}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{3:.1}\" y=\"{4}\" fill=\"{THRESHOLD}\" text-anchor=\"{5}\">threshold {t}</text>",
            x(t),
            top - 4.0,
            top + ph,
            x(t) + if x(t) > left + pw * 0.7 { -4.0 } else { 4.0 },
            top + 8.0,
            if x(t) > left + pw * 0.7 { "end" } else { "start" }
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The similarity matrix of two documents (source down, target across) with the chosen
/// path and its links: 1-1 in blue, larger links in pink, unaligned sentences as red
/// crosses. Only the brightest 15 % of cells are drawn, darker for higher similarity.
pub fn dotplot(
    title: &str,
    sim: Option<&Similarity>,
    links: &[LinkData],
    (n, m): (usize, usize),
    (src_label, tgt_label): (&str, &str),
) -> String {
    let side = 420.0f32;
    let (left, top) = (48.0f32, 44.0f32);
    let (w, h) = (left + side + 16.0, top + side + 40.0);
    let (n, m) = (n.max(1) as f32, m.max(1) as f32);
    let x = |j: f32| left + j / m * side;
    let y = |i: f32| top + i / n * side;
    let mut s = open(w, h, title);
    let _ = write!(
        s,
        "<circle cx=\"12\" cy=\"29\" r=\"3\" fill=\"{KEPT}\"/><text x=\"20\" y=\"32\">1-1 link</text>\
         <circle cx=\"82\" cy=\"29\" r=\"3\" fill=\"{MANY}\"/><text x=\"90\" y=\"32\">n-m link</text>\
         <path d=\"M149 26l6 6m0-6l-6 6\" stroke=\"{THRESHOLD}\" stroke-width=\"1.6\"/><text x=\"160\" y=\"32\">unaligned</text>\
         <rect x=\"222\" y=\"24\" width=\"9\" height=\"9\" fill=\"#333\" fill-opacity=\".6\"/><text x=\"235\" y=\"32\">similarity (darker: higher)</text>\
         <rect x=\"{left}\" y=\"{top}\" width=\"{side}\" height=\"{side}\" fill=\"none\" stroke=\"#999\"/>"
    );
    if let Some(sim) = sim {
        let mut sorted = sim.values.clone();
        sorted.sort_unstable();
        let cut = sorted[sorted.len() * 85 / 100];
        let (cw, ch) = (side / sim.cols as f32, side / sim.rows as f32);
        s.push_str("<g fill=\"#333\">");
        for r in 0..sim.rows {
            for c in 0..sim.cols {
                let v = sim.values[r * sim.cols + c];
                if v <= cut {
                    continue;
                }
                let o = 0.08 + 0.72 * (v - cut) as f32 / (255 - cut).max(1) as f32;
                let _ = write!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.2}\" fill-opacity=\"{o:.2}\"/>",
                    left + c as f32 * cw,
                    top + r as f32 * ch,
                    cw,
                    ch
                );
            }
        }
        s.push_str("</g>");
    }
    // The path through the links' corners.
    if !links.is_empty() {
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{KEPT}\" stroke-opacity=\".45\" stroke-width=\"1\" points=\""
        ));
        for l in links {
            let _ = write!(s, "{:.1},{:.1} ", x(l.tgt[0] as f32), y(l.src[0] as f32));
        }
        let last = links.last().expect("not empty");
        let _ = write!(
            s,
            "{:.1},{:.1}\"/>",
            x(last.tgt[1] as f32),
            y(last.src[1] as f32)
        );
    }
    for l in links {
        let cx = x((l.tgt[0] + l.tgt[1]) as f32 / 2.0);
        let cy = y((l.src[0] + l.src[1]) as f32 / 2.0);
        if l.unaligned() {
            let _ = write!(
                s,
                "<path d=\"M{:.1} {:.1}l5 5m0-5l-5 5\" stroke=\"{THRESHOLD}\" stroke-width=\"1.4\"><title>{} unaligned</title></path>",
                cx - 2.5,
                cy - 2.5,
                if l.src[0] == l.src[1] {
                    format!("{tgt_label} {}", l.tgt[0])
                } else {
                    format!("{src_label} {}", l.src[0])
                }
            );
        } else {
            let color = if l.kind() == "1-1" { KEPT } else { MANY };
            let _ = write!(
                s,
                "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"2.2\" fill=\"{color}\"><title>{} link: {}–{} × {}–{}, cosine {:.3}</title></circle>",
                l.kind(),
                l.src[0],
                l.src[1] - 1,
                l.tgt[0],
                l.tgt[1] - 1,
                l.cosine
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{} (sentence 0–{})</text>\
         <text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{} (sentence 0–{})</text>",
        left + side / 2.0,
        top + side + 18.0,
        esc(tgt_label),
        m as usize - 1,
        top + side / 2.0,
        esc(src_label),
        n as usize - 1
    );
    if let Some(sim) = sim {
        if sim.row_step > 1 || sim.col_step > 1 {
            let _ = write!(
                s,
                "<text x=\"{left}\" y=\"{}\" fill=\"#666\">downsampled: one cell = {} × {} sentences</text>",
                top + side + 34.0,
                sim.row_step,
                sim.col_step
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
