//! Placeholder: written by the identity work.
