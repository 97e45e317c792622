//! TorchScript's code (`code/**/*.py` in an archive, which torch writes as Python source): our own
//! tokenizer (`lexer`) and parser (`parser`) for the subset torch's printer emits, so the graph view
//! (`view::torchscript`) can draw each method's dataflow. The text is only ever read, never run.

pub mod lexer;
pub mod parser;
