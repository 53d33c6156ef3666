//! Greedy and beam search as transformers' `generate` does them for Marian: the decoder
//! starts from `decoder_start_token_id` (the pad token), the bad words (the pad token) are
//! never chosen, the last position is forced to end-of-sentence, and beam search keeps
//! 2·beams candidates per step, scores a finished hypothesis by its log-probability over
//! its length to the power `length_penalty`, and stops a sentence by transformers'
//! heuristic (`early_stopping=False`): when the best running beam, scored at the current
//! length, cannot beat the worst of `beams` finished ones. A sentence that is done leaves
//! the batch, so the work shrinks as sentences finish; its result does not change.

use super::marian::{Marian, State};
use anyhow::Result;

/// What transformers' `generate` is told (from generation_config.json or the flags).
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// 1: greedy.
    pub beams: usize,
    /// Most tokens of the output, the start token included (transformers' `max_length`).
    pub max_length: usize,
    pub length_penalty: f32,
    /// Tokens never generated (single-token `bad_words_ids`).
    pub bad: Vec<u32>,
}

/// transformers' "very large negative" for masked beams, in f32 as it adds it.
const MASKED: f32 = -1.0e9;

/// Greedy or beam search for one batch of encoded sentences: the generated ids of each
/// (without the start token, with the end-of-sentence token when it was generated).
pub fn generate(model: &Marian, inputs: &[Vec<u32>], search: &Search) -> Result<Vec<Vec<u32>>> {
    let mut state = model.encode(inputs)?;
    if search.beams <= 1 {
        greedy(model, &mut state, inputs.len(), search)
    } else {
        beam(model, &mut state, inputs.len(), search)
    }
}

/// Sets the processed scores of one row: bad words to −∞, and at the last position
/// everything but end-of-sentence (transformers' `ForcedEOSTokenLogitsProcessor`).
fn process(row: &mut [f32], cur_len: usize, search: &Search, forced_eos: Option<u32>) {
    for &b in &search.bad {
        if let Some(v) = row.get_mut(b as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    if let Some(eos) = forced_eos.filter(|&e| (e as usize) < row.len()) {
        if cur_len == search.max_length - 1 {
            row.fill(f32::NEG_INFINITY);
            row[eos as usize] = 0.0;
        }
    }
}

fn greedy(model: &Marian, state: &mut State, n: usize, search: &Search) -> Result<Vec<Vec<u32>>> {
    let cfg = &model.config;
    let eos = cfg.eos_token_id;
    let forced = cfg.forced_eos_token_id;
    let mut out = vec![Vec::new(); n];
    let mut active: Vec<usize> = (0..n).collect();
    let mut tokens = vec![cfg.decoder_start_token_id; n];
    let mut cur_len = 1;
    while cur_len < search.max_length && !active.is_empty() {
        let logits = super::marian::rows(&model.step(state, &tokens)?)?;
        let mut keep = Vec::new();
        let mut next = Vec::new();
        for (r, mut row) in logits.into_iter().enumerate() {
            process(&mut row, cur_len, search, forced);
            let t = argmax(&row);
            out[active[r]].push(t);
            if t != eos {
                keep.push(r);
                next.push(t);
            }
        }
        cur_len += 1;
        if keep.len() != active.len() && !keep.is_empty() {
            state.select(&keep.iter().map(|&r| r as u32).collect::<Vec<_>>())?;
        }
        active = keep.iter().map(|&r| active[r]).collect();
        tokens = next;
    }
    Ok(out)
}

/// The first index of the largest value (torch.argmax's choice on ties).
fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

/// `log_softmax` of one row, in place.
fn log_softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = sum.ln();
    for v in row.iter_mut() {
        *v = *v - max - log_sum;
    }
}

/// One hypothesis: its tokens after the start token and its summed log-probability.
#[derive(Clone, Debug)]
struct Hyp {
    tokens: Vec<u32>,
    score: f32,
}

/// The beam search state of one sentence.
struct Sentence {
    running: Vec<Hyp>,
    /// Best finished hypotheses, best first, at most `beams`; scores length-normalised.
    finished: Vec<Hyp>,
    done: bool,
}

/// The `k` largest of `scores` with their indices, largest first; ties by lower index.
fn top_k(scores: &[(f32, usize)], k: usize) -> Vec<(f32, usize)> {
    let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let mut v = scores.to_vec();
    if k == 0 {
        return Vec::new();
    }
    if v.len() > k {
        // Partition first: the candidates are beams × vocabulary (58k × 4 for OPUS-MT).
        v.select_nth_unstable_by(k - 1, order);
        v.truncate(k);
    }
    v.sort_by(order);
    v
}

fn beam(model: &Marian, state: &mut State, n: usize, search: &Search) -> Result<Vec<Vec<u32>>> {
    let cfg = &model.config;
    let (k, eos) = (search.beams, cfg.eos_token_id);
    let forced = cfg.forced_eos_token_id;
    let lp = search.length_penalty;
    state.expand(k)?;
    let start = Hyp {
        tokens: Vec::new(),
        score: 0.0,
    };
    let mut sents: Vec<Sentence> = (0..n)
        .map(|_| Sentence {
            running: (0..k)
                .map(|j| Hyp {
                    score: if j == 0 { 0.0 } else { MASKED },
                    ..start.clone()
                })
                .collect(),
            finished: Vec::new(),
            done: false,
        })
        .collect();
    let mut active: Vec<usize> = (0..n).collect();
    let mut cur_len = 1;
    while cur_len < search.max_length && !active.is_empty() {
        let tokens: Vec<u32> = active
            .iter()
            .flat_map(|&s| {
                sents[s].running.iter().map(|h| {
                    h.tokens
                        .last()
                        .copied()
                        .unwrap_or(cfg.decoder_start_token_id)
                })
            })
            .collect();
        let logits = super::marian::rows(&model.step(state, &tokens)?)?;
        let last_step = cur_len + 1 >= search.max_length;
        let mut rows = Vec::with_capacity(active.len() * k);
        let mut still = Vec::with_capacity(active.len());
        for (a, &s) in active.iter().enumerate() {
            let sent = &mut sents[s];
            let v = logits[a * k].len();
            let mut cands: Vec<(f32, usize)> = Vec::with_capacity(k * v);
            for j in 0..k {
                let mut row = logits[a * k + j].clone();
                log_softmax(&mut row);
                process(&mut row, cur_len, search, forced);
                let base = sent.running[j].score;
                cands.extend(row.iter().enumerate().map(|(t, &p)| (p + base, j * v + t)));
            }
            let top = top_k(&cands, 2 * k);
            let hits: Vec<bool> = top
                .iter()
                .map(|&(_, i)| (i % v) as u32 == eos || last_step)
                .collect();
            let extend = |&(score, i): &(f32, usize)| {
                let mut tokens = sent.running[i / v].tokens.clone();
                tokens.push((i % v) as u32);
                (Hyp { tokens, score }, i / v)
            };
            // Finished: only among the first `k` candidates, normalised by length.
            let length = (cur_len as f64).powf(f64::from(lp)) as f32;
            let mut finished = std::mem::take(&mut sent.finished);
            for (c, &hit) in top.iter().zip(&hits).take(k) {
                if hit {
                    let (mut h, _) = extend(c);
                    h.score /= length;
                    finished.push(h);
                }
            }
            // Stable: earlier (already finished) first among equal scores, as the merge does.
            finished.sort_by(|a, b| b.score.total_cmp(&a.score));
            finished.truncate(k);
            // Running: the best `k` candidates that did not finish.
            let masked: Vec<(f32, usize)> = top
                .iter()
                .zip(&hits)
                .enumerate()
                .map(|(pos, (&(score, _), &hit))| (if hit { score + MASKED } else { score }, pos))
                .collect();
            let next = top_k(&masked, k);
            let mut running = Vec::with_capacity(k);
            for &(score, pos) in &next {
                let (mut h, from) = extend(&top[pos]);
                h.score = score;
                running.push(h);
                rows.push((a * k + from) as u32);
            }
            sent.running = running;
            sent.finished = finished;
            // transformers' heuristic, at the new length.
            let best = sent.running[0].score / ((cur_len as f64).powf(f64::from(lp)) as f32);
            let full = sent.finished.len() == k;
            let worst = sent.finished.last().map_or(MASKED, |h| h.score);
            if last_step || (full && best <= worst) {
                sent.done = true;
                // This sentence's rows leave the batch.
                rows.truncate(rows.len() - k);
            } else {
                still.push(s);
            }
        }
        cur_len += 1;
        active = still;
        if !active.is_empty() {
            state.select(&rows)?;
        }
    }
    Ok(sents
        .into_iter()
        .map(|s| {
            s.finished
                .into_iter()
                .next()
                .map(|h| h.tokens)
                .unwrap_or_default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_breaks_ties_by_index() {
        let v = [(1.0, 0), (3.0, 1), (3.0, 2), (2.0, 3)];
        assert_eq!(top_k(&v, 3), [(3.0, 1), (3.0, 2), (2.0, 3)]);
        assert_eq!(argmax(&[1.0, 5.0, 5.0]), 1);
    }

    #[test]
    fn log_softmax_sums_to_one() {
        let mut r = [1.0f32, 2.0, 3.0];
        log_softmax(&mut r);
        let s: f32 = r.iter().map(|v| v.exp()).sum();
        assert!((s - 1.0).abs() < 1e-6);
    }
}
