//! Placeholder: written by the CRD work.
