//! Pair selection for comparable documents.
