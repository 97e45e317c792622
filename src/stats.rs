//! Streaming statistics over tensor bytes.
