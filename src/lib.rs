//! # gaussmix
//!
//! Fast, deterministic Gaussian mixture models and k-means with scikit-learn's semantics.
//!
//! This crate gathers the workspace for embedders: the engine ([`gaussmix_core`], re-exported
//! at the top level) and the data loader ([`io`], from `gaussmix-io`). The `gaussmix` binary is
//! the command line (`gaussmix-cli`).

pub use gaussmix_core::*;
pub use gaussmix_io as io;
