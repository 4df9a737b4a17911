//! meguri native library.
