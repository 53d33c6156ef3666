//! Measuring results against others' gold data, with the metrics their papers use.

pub mod align;
