//! Placeholder: written by the resources work.
