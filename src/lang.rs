//! The language of each document: from `--lang`, the file name, or detection.
