//! Measuring results against others' gold data: mining accuracy on line-aligned
//! translations (Tatoeba).

pub mod mining;
