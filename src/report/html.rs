//! The page: run facts, per-pair counts and plots, and one side-by-side table (sortable by
//! clicking a column, filterable by text, pair and fate) holding the rows [`Limits`] allow.

use super::svg::{self, esc, Group};
use super::{AlignedDoc, Fate, Limits, MinedPair, Rendered, RunData};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = r#"
:root{--kept:#0072B2;--below:#8a8a8a;--filtered:#E69F00;--bad:#D55E00;--line:#ddd}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#666;margin:0 0 8px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:8px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px}
.grid .wide{grid-column:1/-1}.card{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:#666}dd{margin:0;word-break:break-all}
.plots{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}.plots svg{background:#fff;border:1px solid var(--line);border-radius:6px;max-width:100%;height:auto}
.note{color:#555;font-size:13px}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0;position:sticky;top:0;background:#f6f7f9;padding:6px 0;z-index:2}
.controls input{padding:5px 8px;border:1px solid #bbb;border-radius:4px;min-width:260px}
.controls select{padding:4px 6px;border:1px solid #bbb;border-radius:4px}
#count{color:#555;margin-left:auto}
table.data th[data-type]{cursor:pointer;user-select:none}
table.data th[data-type]::after{content:" \2195";color:#aaa}
table.data th[aria-sort=ascending]::after{content:" \25B2";color:#222}
table.data th[aria-sort=descending]::after{content:" \25BC";color:#222}
table.data td.sent{width:40%}
.ref{display:block;color:#888;font-size:11px}
.tag{display:inline-block;border-radius:3px;padding:0 5px;font-size:12px;color:#fff;white-space:nowrap}
.tag.kept{background:var(--kept)}.tag.below{background:var(--below)}.tag.filtered{background:var(--filtered)}
.tag.link{background:var(--kept)}.tag.unaligned{background:var(--bad)}
tr.unaligned td{background:#fdecea}
tr.below td{color:#555}
"#;

const SCRIPT: &str = r#"
(function(){
  var t=document.getElementById('rows'); if(!t) return;
  var body=t.tBodies[0], rows=Array.prototype.slice.call(body.rows);
  var q=document.getElementById('q'), pair=document.getElementById('pair'),
      fate=document.getElementById('fate'), count=document.getElementById('count');
  var text=rows.map(function(r){return r.textContent.toLowerCase();});
  function apply(){
    var s=q.value.trim().toLowerCase(), p=pair.value, f=fate.value, n=0;
    rows.forEach(function(r,i){
      var ok=(!p||r.dataset.pair===p)&&(!f||r.dataset.fate===f)&&(!s||text[i].indexOf(s)>=0);
      r.hidden=!ok; if(ok) n++;
    });
    count.textContent=n+' of '+rows.length+' rows';
  }
  [q,pair,fate].forEach(function(e){e.addEventListener('input',apply);});
  t.tHead.addEventListener('click',function(e){
    var th=e.target.closest('th'); if(!th||!th.dataset.type) return;
    var i=th.cellIndex, num=th.dataset.type==='num', cur=th.getAttribute('aria-sort');
    var dir=cur? (cur==='ascending'?-1:1) : (num?-1:1);
    var key=function(r){var c=r.cells[i]; return num? parseFloat(c.dataset.v||c.textContent) : c.textContent.toLowerCase();};
    var keyed=rows.map(function(r,k){return [key(r),k,r];});
    keyed.sort(function(a,b){return a[0]<b[0]?-dir:a[0]>b[0]?dir:a[1]-b[1];});
    rows=keyed.map(function(x){return x[2];});
    text=rows.map(function(r){return r.textContent.toLowerCase();});
    Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h){h.removeAttribute('aria-sort');});
    th.setAttribute('aria-sort',dir>0?'ascending':'descending');
    rows.forEach(function(r){body.appendChild(r);});
  });
  apply();
})();
"#;

fn num(v: f32, digits: usize) -> String {
    if v.is_finite() {
        format!("<td class=\"num\" data-v=\"{v}\">{v:.digits$}</td>")
    } else {
        "<td class=\"num\" data-v=\"-1e9\">–</td>".into()
    }
}

/// File-name-safe version of a label.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn page(data: &RunData, limits: &Limits) -> Rendered {
    let mut plots: Vec<(String, String)> = Vec::new();
    let mut b = String::new();
    let pairs: Vec<String> = data
        .mined
        .iter()
        .map(MinedPair::name)
        .chain(data.aligned.iter().map(|p| format!("{}-{}", p.src, p.tgt)))
        .collect();
    let what = if data.aligned.is_empty() {
        "mining"
    } else {
        "alignment"
    };
    let title = format!("bitalign report: {} ({what})", pairs.join(", "));
    let _ = write!(
        b,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\
         <h1>{}</h1><p class=\"sub\">bitalign {} · <code>bitalign {}</code></p>",
        esc(&title),
        esc(&title),
        esc(&data.bitalign),
        esc(&data.command)
    );
    run_facts(&mut b, data);
    if !data.mined.is_empty() {
        mined_summary(&mut b, &mut plots, data);
        mined_table(&mut b, data, limits);
    }
    if !data.aligned.is_empty() {
        aligned_summary(&mut b, &mut plots, data);
        aligned_table(&mut b, data, limits);
    }
    let _ = writeln!(b, "</main><script>{SCRIPT}</script></body></html>");
    Rendered { html: b, plots }
}

fn run_facts(b: &mut String, data: &RunData) {
    b.push_str("<h2 id=\"run\">Run</h2><div class=\"grid\"><div class=\"card wide\"><h3>Inputs</h3><table><thead><tr><th>file</th><th>language</th><th>how chosen</th><th class=\"num\">sentences</th></tr></thead><tbody>");
    for i in &data.inputs {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&i.file),
            esc(&i.lang),
            esc(&i.lang_source),
            i.sentences
        );
    }
    b.push_str("</tbody></table></div>");
    for (head, list) in [("Model", &data.model), ("Parameters", &data.params)] {
        let _ = write!(b, "<div class=\"card\"><h3>{head}</h3><dl>");
        for (k, v) in list {
            let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        b.push_str("</dl></div>");
    }
    b.push_str("</div>");
}

fn mined_summary(b: &mut String, plots: &mut Vec<(String, String)>, data: &RunData) {
    let filters: Vec<String> = data
        .mined
        .iter()
        .flat_map(|p| p.candidates.iter())
        .filter_map(|c| match &c.fate {
            Fate::Filtered(f) => Some(f.clone()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    b.push_str("<h2 id=\"pairs\">Language pairs</h2><div class=\"card\"><table><thead><tr><th>pair</th><th class=\"num\">candidates</th><th class=\"num\">kept</th><th class=\"num\">below threshold</th>");
    for f in &filters {
        let _ = write!(b, "<th class=\"num\">filtered: {}</th>", esc(f));
    }
    b.push_str("<th class=\"num\">threshold</th></tr></thead><tbody>");
    for p in &data.mined {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            esc(&p.name()),
            p.candidates.len(),
            p.count("kept"),
            p.count("below")
        );
        for f in &filters {
            let n = p
                .candidates
                .iter()
                .filter(|c| matches!(&c.fate, Fate::Filtered(x) if x == f))
                .count();
            let _ = write!(b, "<td class=\"num\">{n}</td>");
        }
        let _ = write!(
            b,
            "<td class=\"num\">{} {}</td></tr>",
            esc(&p.score),
            p.threshold
        );
    }
    b.push_str("</tbody></table><p class=\"note\">Candidates are the pairs the retrieval mode proposes (each sentence's best partner); the threshold and then the filters decide which are kept.</p></div>");
    for p in &data.mined {
        let _ = write!(b, "<h3>{}</h3><div class=\"plots\">", esc(&p.name()));
        type Get = fn(&super::Candidate) -> f32;
        let mut hists: Vec<(&str, Get)> = Vec::new();
        // The ranking score first when it is neither plotted below (the confidence,
        // distance), so the page shows the cut where it applies.
        if p.score != "margin" && p.score != "cosine" {
            hists.push((p.score.as_str(), |c| c.score));
        }
        hists.push(("margin", |c| c.margin));
        hists.push(("cosine", |c| c.cosine));
        for (what, get) in hists {
            let group = |label: &'static str, color: &'static str, class: &str| Group {
                label,
                color,
                values: p
                    .candidates
                    .iter()
                    .filter(|c| c.fate.class() == class)
                    .map(get)
                    .collect(),
            };
            let groups = [
                group("kept", svg::KEPT, "kept"),
                group("filtered", svg::FILTERED, "filtered"),
                group("below threshold", svg::BELOW, "below"),
            ];
            let threshold = (p.score == what).then_some(p.threshold);
            let s = svg::histogram(
                &format!("{}: candidate {what}s", p.name()),
                what,
                &groups,
                threshold,
            );
            b.push_str(&s);
            plots.push((format!("hist-{what}.{}.svg", slug(&p.name())), s));
        }
        b.push_str("</div>");
    }
}

/// Indices of the candidates shown for one pair, in candidate (best-first) order.
fn shown(p: &MinedPair, rows: usize) -> Vec<usize> {
    let mut keep = vec![false; p.candidates.len()];
    let kept: Vec<usize> = (0..p.candidates.len())
        .filter(|&i| p.candidates[i].fate == Fate::Kept)
        .collect();
    kept.iter().take(rows).for_each(|&i| keep[i] = true);
    kept.iter().rev().take(rows).for_each(|&i| keep[i] = true);
    for class in ["below", "filtered"] {
        (0..p.candidates.len())
            .filter(|&i| p.candidates[i].fate.class() == class)
            .take(rows)
            .for_each(|i| keep[i] = true);
    }
    (0..keep.len()).filter(|&i| keep[i]).collect()
}

fn controls(b: &mut String, pairs: &[String], fates: &[(&str, &str)]) {
    b.push_str("<div class=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"Filter by text…\" aria-label=\"filter by text\"><select id=\"pair\" aria-label=\"language pair\"><option value=\"\">all pairs</option>");
    for p in pairs {
        let _ = write!(b, "<option>{}</option>", esc(p));
    }
    b.push_str("</select><select id=\"fate\" aria-label=\"which rows\">");
    for (v, label) in fates {
        let _ = write!(b, "<option value=\"{v}\">{label}</option>");
    }
    b.push_str("</select><span id=\"count\"></span></div>");
}

fn sentence_cell(data: &RunData, s: &super::SentenceRef) -> String {
    let file = data.inputs.get(s.doc).map_or("?", |i| i.file.as_str());
    format!(
        "<td class=\"sent\"><span class=\"ref\">{} #{}</span>{}</td>",
        esc(file),
        s.index,
        esc(&s.text)
    )
}

fn mined_table(b: &mut String, data: &RunData, limits: &Limits) {
    b.push_str("<h2 id=\"table\">Pairs side by side</h2>");
    // The ranking score gets its own column unless it is the margin.
    let by_margin = data.mined.iter().all(|p| p.score == "margin");
    let mut notes = Vec::new();
    let mut body = String::new();
    for p in &data.mined {
        let idx = shown(p, limits.rows);
        if idx.len() < p.candidates.len() {
            notes.push(format!(
                "{}: {} of {} candidates shown (the {n} best and the {n} worst kept, the {n} best below the threshold and the {n} best filtered)",
                p.name(),
                idx.len(),
                p.candidates.len(),
                n = limits.rows
            ));
        }
        for i in idx {
            let c = &p.candidates[i];
            let _ = write!(
                body,
                "<tr class=\"{cl}\" data-pair=\"{pair}\" data-fate=\"{cl}\"><td>{pair}</td><td><span class=\"tag {cl}\">{}</span></td>{}{}{}{}{}</tr>",
                esc(&c.fate.label()),
                if by_margin { String::new() } else { num(c.score, 4) },
                num(c.margin, 4),
                num(c.cosine, 4),
                sentence_cell(data, &c.src),
                sentence_cell(data, &c.tgt),
                cl = c.fate.class(),
                pair = esc(&p.name()),
            );
        }
    }
    if notes.is_empty() {
        b.push_str("<p class=\"note\">Every candidate is listed, best first within each pair; rows below the threshold show what a lower threshold would add. Click a column to sort.</p>");
    } else {
        let _ = write!(
            b,
            "<p class=\"note\"><b>Rows are capped:</b> {}. Rebuild with <code>bitalign report DIR --rows N</code> to show more. Click a column to sort.</p>",
            esc(&notes.join("; "))
        );
    }
    let pairs: Vec<String> = data.mined.iter().map(MinedPair::name).collect();
    controls(
        b,
        &pairs,
        &[
            ("", "all candidates"),
            ("kept", "kept"),
            ("below", "below threshold"),
            ("filtered", "filtered"),
        ],
    );
    let rank = if by_margin {
        String::new()
    } else {
        format!(
            "<th class=\"num\" data-type=\"num\">{} (rank)</th>",
            esc(&data.mined[0].score)
        )
    };
    let _ = write!(
        b,
        "<table id=\"rows\" class=\"data\"><thead><tr><th data-type=\"text\">pair</th><th data-type=\"text\">fate</th>\
         {rank}<th class=\"num\" data-type=\"num\">margin</th><th class=\"num\" data-type=\"num\">cosine</th>\
         <th data-type=\"text\">source</th><th data-type=\"text\">target</th></tr></thead><tbody>{body}</tbody></table>"
    );
}

/// Link counts by type (`1-1`, `2-1`, …), common types first.
fn link_types(docs: &[AlignedDoc]) -> Vec<(String, usize)> {
    let mut by: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for l in docs.iter().flat_map(|d| d.links.iter()) {
        *by.entry((l.src[1] - l.src[0], l.tgt[1] - l.tgt[0]))
            .or_default() += 1;
    }
    let mut v: Vec<((usize, usize), usize)> = by.into_iter().collect();
    v.sort_by_key(|&((a, b), n)| (std::cmp::Reverse(n), a + b, a));
    v.into_iter()
        .map(|((a, b), n)| (format!("{a}-{b}"), n))
        .collect()
}

fn aligned_summary(b: &mut String, plots: &mut Vec<(String, String)>, data: &RunData) {
    b.push_str("<h2 id=\"pairs\">Language pairs</h2><div class=\"card\"><table><thead><tr><th>pair</th><th class=\"num\">document pairs</th><th class=\"num\">links</th><th>link types</th><th class=\"num\">unaligned source</th><th class=\"num\">unaligned target</th></tr></thead><tbody>");
    for p in &data.aligned {
        let links: usize = p.docs.iter().map(|d| d.links.len()).sum();
        let un = |src: bool| -> usize {
            p.docs
                .iter()
                .flat_map(|d| d.links.iter())
                .filter(|l| l.unaligned())
                .map(|l| {
                    if src {
                        l.src[1] - l.src[0]
                    } else {
                        l.tgt[1] - l.tgt[0]
                    }
                })
                .sum()
        };
        let types: Vec<String> = link_types(&p.docs)
            .iter()
            .map(|(t, n)| format!("{t}: {n}"))
            .collect();
        let _ = write!(
            b,
            "<tr><td>{}-{}</td><td class=\"num\">{}</td><td class=\"num\">{links}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&p.src),
            esc(&p.tgt),
            p.docs.len(),
            esc(&types.join(", ")),
            un(true),
            un(false)
        );
    }
    b.push_str("</tbody></table><p class=\"note\">A link joins n source with m target sentences; 1-0 and 0-1 are sentences left unaligned.</p></div>");
    for p in &data.aligned {
        for (k, d) in p.docs.iter().enumerate() {
            let file = |i: usize| data.inputs.get(i).map_or("?", |x| x.file.as_str());
            let name = format!("{}-{}", p.src, p.tgt);
            let suffix = if p.docs.len() > 1 {
                format!(".{}", k + 1)
            } else {
                String::new()
            };
            let _ = write!(
                b,
                "<h3>{} · {} ↔ {}</h3><div class=\"plots\">",
                esc(&name),
                esc(file(d.src_doc)),
                esc(file(d.tgt_doc))
            );
            let dot = svg::dotplot(
                &format!("{name}{suffix}: similarity and alignment path"),
                d.similarity.as_ref(),
                &d.links,
                (d.src_sentences.len(), d.tgt_sentences.len()),
                (
                    &format!("{} ({})", file(d.src_doc), p.src),
                    &format!("{} ({})", file(d.tgt_doc), p.tgt),
                ),
            );
            b.push_str(&dot);
            plots.push((format!("dotplot.{}{suffix}.svg", slug(&name)), dot));
            let group = |label: &'static str, color: &'static str, one: bool| Group {
                label,
                color,
                values: d
                    .links
                    .iter()
                    .filter(|l| !l.unaligned() && (l.kind() == "1-1") == one)
                    .map(|l| l.cosine)
                    .collect(),
            };
            let hist = svg::histogram(
                &format!("{name}{suffix}: link cosines"),
                "cosine",
                &[
                    group("1-1", svg::KEPT, true),
                    group("n-m", svg::MANY, false),
                ],
                None,
            );
            b.push_str(&hist);
            plots.push((format!("hist-links.{}{suffix}.svg", slug(&name)), hist));
            b.push_str("</div>");
        }
    }
}

fn aligned_table(b: &mut String, data: &RunData, limits: &Limits) {
    b.push_str("<h2 id=\"table\">Links side by side</h2>");
    let mut body = String::new();
    let mut notes = Vec::new();
    for p in &data.aligned {
        let pair = format!("{}-{}", p.src, p.tgt);
        for (k, d) in p.docs.iter().enumerate() {
            if d.links.len() > limits.links {
                notes.push(format!(
                    "{pair} document pair {}: the first {} of {} links shown",
                    k + 1,
                    limits.links,
                    d.links.len()
                ));
            }
            let file = |i: usize| data.inputs.get(i).map_or("?", |x| x.file.as_str());
            let side = |sents: &[String], r: [usize; 2], f: &str| -> String {
                if r[0] == r[1] {
                    return "<td class=\"sent\"><span class=\"ref\">—</span></td>".into();
                }
                let text: Vec<&str> = sents[r[0]..r[1]].iter().map(String::as_str).collect();
                let at = if r[1] - r[0] == 1 {
                    format!("#{}", r[0])
                } else {
                    format!("#{}–{}", r[0], r[1] - 1)
                };
                format!(
                    "<td class=\"sent\"><span class=\"ref\">{} {at}</span>{}</td>",
                    esc(f),
                    esc(&text.join(" "))
                )
            };
            for (i, l) in d.links.iter().take(limits.links).enumerate() {
                let fate = if l.unaligned() { "unaligned" } else { "link" };
                let (cos, cost) = if l.unaligned() {
                    (
                        "<td class=\"num\" data-v=\"-1e9\">–</td>".to_string(),
                        num(l.cost, 3),
                    )
                } else {
                    (num(l.cosine, 3), num(l.cost, 3))
                };
                let _ = write!(
                    body,
                    "<tr class=\"{cl}\" data-pair=\"{pair}\" data-fate=\"{cl}\"><td>{pair}</td><td class=\"num\" data-v=\"{}\">{}</td>\
                     <td><span class=\"tag {cl}\">{}</span></td>{cos}{cost}{}{}</tr>",
                    k * 1_000_000 + i,
                    if p.docs.len() > 1 {
                        format!("{}:{}", k + 1, i)
                    } else {
                        i.to_string()
                    },
                    l.kind(),
                    side(&d.src_sentences, l.src, file(d.src_doc)),
                    side(&d.tgt_sentences, l.tgt, file(d.tgt_doc)),
                    cl = fate,
                    pair = esc(&pair),
                );
            }
        }
    }
    if notes.is_empty() {
        b.push_str("<p class=\"note\">Every link in document order; unaligned sentences are highlighted. Click a column to sort (cost: lower is better).</p>");
    } else {
        let _ = write!(
            b,
            "<p class=\"note\"><b>Rows are capped:</b> {}. Click a column to sort (cost: lower is better).</p>",
            esc(&notes.join("; "))
        );
    }
    let pairs: Vec<String> = data
        .aligned
        .iter()
        .map(|p| format!("{}-{}", p.src, p.tgt))
        .collect();
    controls(
        b,
        &pairs,
        &[
            ("", "all links"),
            ("link", "aligned"),
            ("unaligned", "unaligned"),
        ],
    );
    let _ = write!(
        b,
        "<table id=\"rows\" class=\"data\"><thead><tr><th data-type=\"text\">pair</th><th class=\"num\" data-type=\"num\">link</th><th data-type=\"text\">type</th>\
         <th class=\"num\" data-type=\"num\">cosine</th><th class=\"num\" data-type=\"num\">cost</th>\
         <th data-type=\"text\">source</th><th data-type=\"text\">target</th></tr></thead><tbody>{body}</tbody></table>"
    );
}
