//! Pickles hidden where a loader would still run them: any zip member whatever its name, zips and
//! tars inside archives, NumPy object arrays, and records only a streaming zip reader sees. Each
//! hostile file is built by hand here; each must be `dangerous`. The fixtures must get nothing new,
//! and the scan of a torch.save file must not read its storages.

mod common;

use common::{fixture, state_dict_pickle, zip_of};
use std::cell::RefCell;
use torchpeek::container::{tar, zip::Archive};
use torchpeek::safety::{self, Safety, Verdict};
use torchpeek::{MemSource, Source};

/// `posix.system('id')`, protocol 0: dangerous under any classification.
const EVIL: &[u8] = b"cposix\nsystem\n(S'id'\ntR.";

fn check(name: &str, bytes: Vec<u8>) -> Safety {
    safety::check_one(&MemSource::new(name, bytes))
}

fn assert_dangerous(name: &str, bytes: Vec<u8>, member: &str) {
    let s = check(name, bytes);
    assert_eq!(s.verdict, Verdict::Dangerous, "{name}: {:#?}", s.findings);
    assert!(
        s.findings.iter().any(|f| f.global.contains("posix") && f.member.contains(member)),
        "{name}: no posix.system finding in a member named like {member:?}: {:#?}",
        s.findings
    );
}

fn benign_pickle() -> Vec<u8> {
    state_dict_pickle("w", "0", 4, 0, &[4], &[1])
}

/// A torch.save archive (data.pkl naming storage 0) with one more member.
fn torch_zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    zip_of(&[("archive/data.pkl", &benign_pickle()), ("archive/byteorder", b"little"), ("archive/data/0", &[0u8; 16]), (name, data)])
}

/// A v7 tar (Python's `tarfile` header layout, valid checksums).
fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[156] = b'0';
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn the_tar_reader_lists_members_and_their_ranges() {
    let t = tar_of(&[("sys_info", b"abc"), ("pickle", &[7u8; 600])]);
    assert!(tar::is_tar(&t));
    let (m, error) = tar::members(&MemSource::new("t.tar", t));
    assert!(error.is_none());
    assert_eq!(m, vec![tar::Member { name: "sys_info".into(), offset: 512, size: 3 }, tar::Member { name: "pickle".into(), offset: 1536, size: 600 }]);
}

#[test]
fn the_tar_reader_refuses_what_is_not_a_tar_and_bounds_sizes() {
    assert!(!tar::is_tar(&[0u8; 512]));
    assert!(!tar::is_tar(b"\x80\x02}q\x00."));
    let mut t = tar_of(&[("a", b"x")]);
    // A size far past the end is an error, not an allocation.
    t[124..135].copy_from_slice(b"77777777777");
    let sum: u32 = t[..512].iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u32 }).sum();
    t[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    assert!(matches!(tar::members(&MemSource::new("t", t)), (m, Some(torchpeek::Error::Truncated { .. })) if m.is_empty()));
    let mut bad = tar_of(&[("a", b"x")]);
    bad[0] = b'b';
    assert!(tar::members(&MemSource::new("t", bad)).1.is_some());
}

/// A version-1 .npy of a 1-element object array: header, then the pickle.
fn npy_object(pickle: &[u8]) -> Vec<u8> {
    let mut h = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".to_vec();
    h.resize((h.len() + 11).div_ceil(64) * 64 - 10, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(pickle);
    out
}

/// One record of a hand-made zip: what its local header says, and what the central directory
/// says of it (None: not listed).
struct Record<'a> {
    local_name: &'a str,
    data: &'a [u8],
    /// The compressed size the local header states (None: the data's length).
    local_size: Option<u32>,
    central: Option<(&'a str, u32)>,
}

/// A stored zip written record by record, local headers and central directory as given.
fn raw_zip(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    let mut listed = 0u16;
    for r in records {
        let offset = out.len() as u32;
        let local_size = r.local_size.unwrap_or(r.data.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date, crc
        out.extend_from_slice(&local_size.to_le_bytes());
        out.extend_from_slice(&local_size.to_le_bytes());
        out.extend_from_slice(&(r.local_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(r.local_name.as_bytes());
        out.extend_from_slice(r.data);
        if let Some((name, size)) = r.central {
            listed += 1;
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // versions, flags, method, time, date, crc
            cd.extend_from_slice(&size.to_le_bytes());
            cd.extend_from_slice(&size.to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
            cd.extend_from_slice(&offset.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&listed.to_le_bytes());
    out.extend_from_slice(&listed.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn a_pickle_in_any_zip_member_is_scanned_whatever_its_name() {
    for name in ["archive/data.txt", "archive/extra", "archive/code/__torch__.py.debug_pkl", "archive/data/7", "archive/.format_version"] {
        assert_dangerous(name, torch_zip_with(name, EVIL), name);
    }
    // Not a torch.save file at all: a zip of one member with no suffix.
    assert_dangerous("plain.zip", zip_of(&[("payload", EVIL)]), "payload");
}

#[test]
fn a_pickle_without_stop_still_counts() {
    // It imports and calls before it fails: a loader has run it.
    assert_dangerous("nostop.pt", torch_zip_with("archive/notes", &EVIL[..EVIL.len() - 1]), "archive/notes");
}

#[test]
fn a_legacy_tar_and_tars_in_zips_are_scanned() {
    let tar = tar_of(&[("sys_info", b"N."), ("pickle", EVIL), ("storages", b"N.")]);
    assert_dangerous("legacy.tar", tar.clone(), "legacy.tar/pickle");
    assert_dangerous("in_zip.pt", torch_zip_with("archive/extra.tar", &tar), "extra.tar/pickle");
    // A tar in a tar in a zip.
    let outer = tar_of(&[("readme", b"hello"), ("inner.tar", &tar)]);
    assert_dangerous("deep.pt", torch_zip_with("archive/x", &outer), "inner.tar/pickle");
}

#[test]
fn numpy_object_arrays_and_npz_members_are_scanned() {
    let npy = npy_object(EVIL);
    assert_dangerous("evil.npy", npy.clone(), "object array pickle");
    assert_dangerous("evil.npz", zip_of(&[("arr_0.npy", &npy)]), "arr_0.npy");
    // A plain array holds nothing to run, and its data is not read as a pickle.
    let mut plain = npy_object(b"");
    let h = String::from_utf8_lossy(&plain).replace("'|O'", "'<f4'");
    plain = h.into_bytes();
    plain.extend_from_slice(&1.5f32.to_le_bytes());
    // (torch.load refuses both, so they are not `safe`: what matters is that nothing is found.)
    assert!(check("plain.npy", plain.clone()).findings.is_empty());
    assert!(check("plain.npz", zip_of(&[("a.npy", &plain)])).findings.is_empty());
}

#[test]
fn a_zip_nested_in_a_zip_is_scanned() {
    let inner = zip_of(&[("inner/data.pkl", EVIL)]);
    assert_dangerous("nested.pt", torch_zip_with("archive/inner.zip", &inner), "inner.zip/inner/data.pkl");
    // Deeper than the scan follows: said, not silently dropped.
    let mut z = zip_of(&[("p", EVIL)]);
    for i in 0..torchpeek::limits::MAX_NESTED_PICKLES + 1 {
        z = zip_of(&[(&format!("level{i}"), &z)]);
    }
    let s = check("deep.zip", z);
    assert_eq!(s.verdict, Verdict::Dangerous);
    assert!(s.findings.iter().any(|f| f.reason.contains("nested deeper")), "{:#?}", s.findings);
}

#[test]
fn a_record_only_the_local_headers_show_is_scanned_and_reported() {
    let benign = benign_pickle();
    // The central directory lists data.pkl only; a streaming reader also reads the record after it.
    let z = raw_zip(&[
        Record { local_name: "archive/data.pkl", data: &benign, local_size: None, central: Some(("archive/data.pkl", benign.len() as u32)) },
        Record { local_name: "archive/hidden", data: EVIL, local_size: None, central: None },
    ]);
    let s = check("hidden.pt", z.clone());
    assert_eq!(s.verdict, Verdict::Dangerous, "{:#?}", s.findings);
    assert!(s.findings.iter().any(|f| f.global.contains("posix") && f.member.contains("archive/hidden (local header at byte")), "{:#?}", s.findings);
    assert!(
        s.findings.iter().any(|f| f.severity == Verdict::Safe && f.reason.contains("\"archive/hidden\"") && f.reason.contains("local headers only")),
        "{:#?}",
        s.findings
    );
    // The document path (open) scans the same way.
    let doc = common::open_bytes("hidden.pt", z).unwrap();
    assert_eq!(doc.document.safety.verdict, Verdict::Dangerous);
}

#[test]
fn local_headers_that_disagree_with_the_central_directory_are_both_read() {
    let benign = benign_pickle();
    // The central directory says "readme" is 1 byte ("c"); its local header names it "evil" and
    // gives all of the pickle: a streaming reader reads posix.system.
    let z = raw_zip(&[
        Record { local_name: "archive/data.pkl", data: &benign, local_size: None, central: Some(("archive/data.pkl", benign.len() as u32)) },
        Record { local_name: "evil", data: EVIL, local_size: None, central: Some(("readme", 1)) },
    ]);
    let s = check("disagree.pt", z);
    assert_eq!(s.verdict, Verdict::Dangerous, "{:#?}", s.findings);
    assert!(s.findings.iter().any(|f| f.global.contains("posix") && f.member.contains("evil (local header at byte")), "{:#?}", s.findings);
    // Disagreements are notes: both views are scanned, so they hide nothing (the verdict is the
    // pickles'; torch itself reads such a file).
    let note = |needle: &str| s.findings.iter().any(|f| f.severity == Verdict::Safe && f.reason.contains(needle));
    assert!(note("its local header names it \"evil\""), "{:#?}", s.findings);
    assert!(note(&format!("says {0} bytes ({0} inflated), the central directory 1 (1)", EVIL.len())), "{:#?}", s.findings);
}

#[test]
fn a_central_entry_the_local_walk_never_reaches_is_reported() {
    let benign = benign_pickle();
    // The first local header claims to run over the second record: a streaming reader skips it.
    let z = raw_zip(&[
        Record {
            local_name: "archive/data.pkl",
            data: &benign,
            local_size: Some(benign.len() as u32 + 30 + 4 + 6),
            central: Some(("archive/data.pkl", benign.len() as u32)),
        },
        Record { local_name: "x/yz", data: b"little", local_size: None, central: Some(("x/yz", 6)) },
    ]);
    let s = check("skipped.pt", z);
    assert!(s.findings.iter().any(|f| f.reason.contains("\"x/yz\"") && f.reason.contains("central directory only")), "{:#?}", s.findings);
}

#[test]
fn hostile_sizes_and_truncations_are_findings_not_panics() {
    let benign = benign_pickle();
    for cut in [10, 40, 100, 200] {
        let z = torch_zip_with("archive/extra", EVIL);
        let _ = check("cut.pt", z[..z.len() - cut].to_vec());
        let t = tar_of(&[("pickle", EVIL)]);
        let _ = check("cut.tar", t[..t.len().min(cut + 512)].to_vec());
    }
    // A local-only record whose local header claims 4 GiB.
    let z = raw_zip(&[
        Record { local_name: "archive/data.pkl", data: &benign, local_size: None, central: Some(("archive/data.pkl", benign.len() as u32)) },
        Record { local_name: "huge", data: EVIL, local_size: Some(u32::MAX), central: None },
    ]);
    assert_eq!(check("huge.pt", z).verdict, Verdict::Dangerous);
    // An .npy whose header length runs past the file.
    let mut npy = npy_object(EVIL);
    npy[8] = 0xff;
    npy[9] = 0xff;
    npy.truncate(200);
    assert_eq!(check("bad.npy", npy).verdict, Verdict::Dangerous);
}

/// A source that records every read.
struct Counting {
    inner: MemSource,
    reads: RefCell<Vec<(u64, u64)>>,
}

impl Source for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> torchpeek::Result<()> {
        self.reads.borrow_mut().push((offset, buf.len() as u64));
        self.inner.read_at(offset, buf)
    }
}

/// The two reads any scan of a zip makes whatever it holds: the first 512 bytes (what the file
/// is) and the last 64 KiB (the zip's end records), which span small files whole.
fn is_probe((offset, len): (u64, u64), file_len: u64) -> bool {
    (offset == 0 && len <= 512) || (offset + len == file_len && len <= 22 + 65535)
}

#[test]
fn fixtures_get_nothing_new_and_their_storages_are_not_read() {
    for name in ["mlp_state_dict.pth", "mlp_checkpoint.pt", "mlp_scripted.pt"] {
        let bytes = fixture(name);
        let archive = Archive::read(&MemSource::new(name, bytes.clone())).unwrap();
        assert!(archive.local_only.is_empty() && archive.quirks.is_empty() && archive.notes.is_empty(), "{name}: {:?}", archive.quirks);
        let src = Counting { inner: MemSource::new(name, bytes), reads: RefCell::new(Vec::new()) };
        let findings = safety::scan::scan_source(&src);
        // Before this scan only .pkl members were read: nothing else may add a finding, but for
        // notes on TorchScript's debug pickles, which name torch.jit's own data builders.
        for f in &findings {
            let debug_builder = f.member.ends_with(".debug_pkl") && f.global.starts_with("torch.jit._pickle.") && f.severity == Verdict::Safe;
            assert!(f.member.is_empty() || f.member.ends_with(".pkl") || debug_builder, "{name}: a new finding: {f:#?}");
        }
        let storages: Vec<_> = archive.entries.iter().filter(|e| e.name.rsplit_once("/data/").is_some_and(|(_, k)| k.parse::<u64>().is_ok())).collect();
        assert!(!storages.is_empty());
        let reads = src.reads.borrow();
        for &(offset, len) in reads.iter().filter(|&&r| !is_probe(r, src.len())) {
            for e in &storages {
                let overlaps = offset < e.data_offset + e.size && e.data_offset < offset + len;
                assert!(!overlaps || e.size == 0, "{name}: the scan read storage {} ({offset}+{len})", e.name);
            }
        }
        let total: u64 = reads.iter().map(|r| r.1).sum();
        eprintln!("{name}: {} members, {} reads, {total} bytes of {}", archive.entries.len(), reads.len(), src.len());
        if std::env::var("SHOW_READS").is_ok() { eprintln!("{reads:?}"); }
    }
}

#[test]
fn a_big_storage_is_never_read() {
    let storage = vec![0x58u8; 1 << 20]; // 'X' (BINUNICODE) everywhere: would look like a pickle cut off
    let bytes = zip_of(&[
        ("archive/data.pkl", &state_dict_pickle("w", "0", 1 << 18, 0, &[1 << 18], &[1])),
        ("archive/data/0", &storage),
        ("archive/byteorder", b"little"),
        ("archive/version", b"3\n"),
        ("archive/.data/serialization_id", b"1234567890123456789"),
    ]);
    let archive = Archive::read(&MemSource::new("big.pt", bytes.clone())).unwrap();
    let e = archive.find("archive/data/0").unwrap().clone();
    let src = Counting { inner: MemSource::new("big.pt", bytes), reads: RefCell::new(Vec::new()) };
    let findings = safety::scan::scan_source(&src);
    assert!(findings.is_empty(), "{findings:#?}");
    let reads = src.reads.borrow();
    for &(offset, len) in reads.iter().filter(|&&r| !is_probe(r, src.len())) {
        assert!(offset + len <= e.data_offset || offset >= e.data_offset + e.size, "read {offset}+{len} of the storage");
    }
    let total: u64 = reads.iter().map(|r| r.1).sum();
    eprintln!("big.pt: {} reads, {total} bytes of {}", reads.len(), src.len());
}
