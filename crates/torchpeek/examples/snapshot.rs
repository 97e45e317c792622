//! Prints, for each file given, the document JSON the page receives (`documentJson`) and, for ONNX,
//! `.pt2` and TorchScript, the graph view JSON (`graph`): one line each. `scripts/snapshot-json.sh` compares these
//! before and after a change that must not change behaviour.

use torchpeek::{FileSource, Source};

fn main() {
    for path in std::env::args().skip(1) {
        let opened = FileSource::open(std::path::Path::new(&path)).and_then(|s| torchpeek::open(vec![Box::new(s) as Box<dyn Source>]));
        match opened {
            Ok(model) => {
                println!("{path} document {}", serde_json::to_string(&model.document).expect("JSON"));
                if let Some(view) = torchpeek::view::graph_json(&model, false) {
                    println!("{path} graph {}", serde_json::to_string(&view).expect("JSON"));
                }
            }
            Err(e) => println!("{path} error {e}"),
        }
    }
}
