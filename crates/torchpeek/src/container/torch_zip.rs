//! torch's zip format (torch >= 1.6) and TorchScript archives: `<prefix>/data.pkl` with storages
//! in `<prefix>/data/<key>`; TorchScript adds `constants.pkl` (storages in `constants/<key>`) and
//! `code/`. The prefix folder is whatever the archive has. torch.export archives (`.pt2`) are zips
//! too: `container::open_one` sends them to `pt2`.

use super::zip::Archive;
use super::{interpret, Pickled, Read, Scan};
use crate::document::{Document, FileInfo, Format, Kind, Problem, StorageData, TextMember};
use crate::error::{Error, Location, Result};
use crate::limits;
use crate::pickle;
use crate::source::Source;

/// Reads a torch zip archive (its directory already read) from source `index`.
pub fn read(sources: &[Box<dyn Source>], index: usize, archive: Archive) -> Result<Read> {
    let src = sources[index].as_ref();
    let data_pkl = archive
        .entries
        .iter()
        .filter(|e| e.name.ends_with("data.pkl") && e.name.matches('/').count() <= 1)
        .min_by_key(|e| e.name.len())
        .ok_or_else(|| {
            Error::unsupported(
                Location::member(src.name()),
                "a zip archive without data.pkl: not a torch.save file, nor a torch.export archive",
            )
        })?;
    let prefix = data_pkl.name.strip_suffix("data.pkl").unwrap_or("").to_string();
    let is_script = archive.find(&format!("{prefix}constants.pkl")).is_some()
        || archive.entries.iter().any(|e| e.name.starts_with(&format!("{prefix}code/")));
    let format = if is_script { Format::Torchscript } else { Format::TorchZip };
    let mut doc = Document::new(format, vec![FileInfo { name: src.name().to_string(), bytes: src.len() }]);

    if let Some(e) = archive.find(&format!("{prefix}byteorder")) {
        let order = archive.read_member(src, e, 16)?;
        if order != b"little" {
            return Err(Error::unsupported(
                Location::member(format!("{}/{}", src.name(), e.name)),
                format!("byte order {:?}: only little-endian storages are read", String::from_utf8_lossy(&order)),
            ));
        }
    }

    let mut pickles = Vec::new();
    let main = read_pickle(src, &archive, &data_pkl.name.clone())?;
    if is_script {
        if let Some(c) = archive.find(&format!("{prefix}constants.pkl")) {
            pickles.push(Pickled { member: c.name.clone(), pickle: read_pickle(src, &archive, &c.name)?, storage_namespace: "constants/".into() });
        }
    }
    pickles.insert(0, Pickled { member: data_pkl.name.clone(), pickle: main, storage_namespace: String::new() });

    let (root_doc_kind, qparams) = interpret(&mut doc, &pickles, is_script);
    if is_script {
        doc.kind = Kind::Torchscript;
        doc.code = read_code(src, &archive, &prefix, &mut doc.errors);
    } else {
        doc.kind = root_doc_kind;
    }
    locate_storages(&mut doc, src, &archive, &prefix, index);
    Ok(Read { qparams, ..Read::new(doc, vec![Scan::Archive { source: index, archive }]) })
}

fn read_pickle(src: &dyn Source, archive: &Archive, name: &str) -> Result<pickle::Pickle> {
    let e = archive.find(name).expect("the entry was listed");
    let bytes = archive.read_member(src, e, limits::MAX_PICKLE_BYTES)?;
    pickle::parse(&bytes, 0, &format!("{}/{}", src.name(), name))
}

/// Points each storage at its record: `<prefix>data/<key>` or `<prefix>constants/<key>`.
fn locate_storages(doc: &mut Document, src: &dyn Source, archive: &Archive, prefix: &str, index: usize) {
    for s in doc.storages.iter_mut() {
        if matches!(s.data, StorageData::Missing { ref reason } if reason != "not located") {
            continue;
        }
        let member = if let Some(k) = s.key.strip_prefix("constants/") {
            format!("{prefix}constants/{k}")
        } else {
            format!("{prefix}data/{}", s.key)
        };
        s.member = format!("{}/{}", src.name(), member);
        let Some(e) = archive.find(&member) else {
            s.data = StorageData::Missing { reason: format!("the archive has no record {member}") };
            doc.errors.push(Problem { message: format!("storage {} has no record {member} in the archive", s.key), path: vec![] });
            continue;
        };
        if e.size < s.bytes {
            doc.errors.push(Problem {
                message: format!("storage record {member} holds {} bytes, its tensors declare {}", e.size, s.bytes),
                path: vec![],
            });
        }
        s.data = e.storage_data(index);
    }
}

/// TorchScript source files, in archive order, up to the text budget.
fn read_code(src: &dyn Source, archive: &Archive, prefix: &str, errors: &mut Vec<Problem>) -> Vec<TextMember> {
    let mut out = Vec::new();
    let mut budget = limits::MAX_TEXT_BYTES;
    for e in archive.entries.iter().filter(|e| e.name.starts_with(&format!("{prefix}code/")) && e.name.ends_with(".py")) {
        if e.size > budget {
            errors.push(Problem { message: format!("code member {} is not shown: over the text budget", e.name), path: vec![] });
            continue;
        }
        match archive.read_member(src, e, budget) {
            Ok(bytes) => {
                budget -= bytes.len() as u64;
                out.push(TextMember { name: e.name.clone(), text: String::from_utf8_lossy(&bytes).into_owned() });
            }
            Err(err) => errors.push(Problem { message: err.to_string(), path: vec![] }),
        }
    }
    out
}
