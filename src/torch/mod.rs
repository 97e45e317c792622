//! Interpreting pickled torch objects.
