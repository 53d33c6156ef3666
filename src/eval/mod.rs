//! Measuring results against others' gold data, with the metrics their papers use:
//! mining accuracy on line-aligned translations (Tatoeba), alignment F1 as vecalign's
//! score.py computes it.

pub mod align;
pub mod mining;
