//! Overlaps: runs of 1..=k consecutive sentences joined by a space, the unit a link is
//! scored on. Both documents' overlaps are deduplicated into one list of texts, so that
//! repeated text (headers, captions, both documents quoting the same name) is embedded once.

use std::collections::HashMap;

/// Where each overlap of one document sits in the shared embedding matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlapIndex {
    n: usize,
    max: usize,
    /// `rows[(k - 1) * n + start]`: matrix row of sentences `start..start + k`
    /// (`u32::MAX` past the end of the document).
    rows: Vec<u32>,
}

impl OverlapIndex {
    /// Sentences in the document.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Longest overlap indexed.
    pub fn max_overlap(&self) -> usize {
        self.max
    }

    /// Matrix row of sentences `start..start + k`, if indexed.
    pub fn row(&self, start: usize, k: usize) -> Option<usize> {
        if k == 0 || k > self.max || start + k > self.n {
            return None;
        }
        Some(self.rows[(k - 1) * self.n + start] as usize)
    }

    /// An index whose rows are laid out size by size: all 1-sentence overlaps, then all
    /// 2-sentence ones, and so on (how precomputed per-size matrices are stacked).
    pub fn stacked(n: usize, max: usize, first_row: usize) -> Self {
        let mut rows = vec![u32::MAX; n * max];
        let mut next = first_row;
        for k in 1..=max {
            for start in 0..n.saturating_sub(k - 1) {
                rows[(k - 1) * n + start] = next as u32;
                next += 1;
            }
        }
        Self { n, max, rows }
    }

    /// Rows used by [`OverlapIndex::stacked`].
    pub fn stacked_rows(n: usize, max: usize) -> usize {
        (1..=max).map(|k| n.saturating_sub(k - 1)).sum()
    }
}

/// The texts to embed for a pair of documents, and where each overlap's vector will be.
#[derive(Clone, Debug)]
pub struct OverlapPlan {
    /// Unique overlap texts, in first-seen order (source before target).
    pub texts: Vec<String>,
    pub src: OverlapIndex,
    pub tgt: OverlapIndex,
}

impl OverlapPlan {
    /// Overlaps of up to `max_overlap` sentences of each document.
    pub fn new<S: AsRef<str>>(src: &[S], tgt: &[S], max_overlap: usize) -> Self {
        let mut plan = Self {
            texts: Vec::new(),
            src: OverlapIndex::stacked(0, max_overlap.max(1), 0),
            tgt: OverlapIndex::stacked(0, max_overlap.max(1), 0),
        };
        let mut seen = HashMap::new();
        let max = plan.src.max;
        plan.src = plan.index(src, max, &mut seen);
        plan.tgt = plan.index(tgt, max, &mut seen);
        plan
    }

    /// Indexes one more document's overlaps of up to `max_overlap` sentences (at most the
    /// plan's) in the same matrix (a translation of the source, say); texts already planned
    /// are not added again.
    pub fn add<S: AsRef<str>>(&mut self, sents: &[S], max_overlap: usize) -> OverlapIndex {
        let mut seen: HashMap<String, u32> = self
            .texts
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let max = max_overlap.clamp(1, self.src.max);
        self.index(sents, max, &mut seen)
    }

    fn index<S: AsRef<str>>(
        &mut self,
        sents: &[S],
        max: usize,
        seen: &mut HashMap<String, u32>,
    ) -> OverlapIndex {
        let n = sents.len();
        let mut rows = vec![u32::MAX; n * max];
        for k in 1..=max {
            for start in 0..n.saturating_sub(k - 1) {
                let text = sents[start..start + k]
                    .iter()
                    .map(AsRef::as_ref)
                    .collect::<Vec<_>>()
                    .join(" ");
                let row = *seen.entry(text).or_insert_with_key(|t| {
                    self.texts.push(t.clone());
                    (self.texts.len() - 1) as u32
                });
                rows[(k - 1) * n + start] = row;
            }
        }
        OverlapIndex { n, max, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_joined_and_deduplicated() {
        let p = OverlapPlan::new(&["a", "b", "a"], &["b", "x"], 2);
        assert_eq!(p.texts, vec!["a", "b", "a b", "b a", "x", "b x"]);
        assert_eq!(p.src.row(0, 1), Some(0));
        assert_eq!(p.src.row(2, 1), Some(0));
        assert_eq!(p.src.row(1, 2), Some(3));
        assert_eq!(p.src.row(2, 2), None);
        assert_eq!(p.tgt.row(0, 1), Some(1));
        assert_eq!(p.tgt.row(0, 2), Some(5));
        assert_eq!(p.tgt.row(0, 3), None);
        let mut p = p;
        let tr = p.add(&["x", "y"], 2);
        assert_eq!(tr.row(0, 1), Some(4));
        assert_eq!(p.texts[6..], ["y", "x y"]);
        assert_eq!(tr.row(0, 2), Some(7));
    }

    #[test]
    fn stacked_layout() {
        let ix = OverlapIndex::stacked(3, 2, 10);
        assert_eq!(OverlapIndex::stacked_rows(3, 2), 5);
        assert_eq!(ix.row(0, 1), Some(10));
        assert_eq!(ix.row(2, 1), Some(12));
        assert_eq!(ix.row(0, 2), Some(13));
        assert_eq!(ix.row(1, 2), Some(14));
        assert_eq!(ix.row(2, 2), None);
    }
}
