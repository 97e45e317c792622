//! Random access to the bytes of a file: `len()` and `read_at()`, never the whole file.
//! Memory and native-file sources live here; the browser's sources (`Blob`, a JS reader) live in
//! the `torchpeek-js` crate.

use crate::error::{Error, Result};

/// A file opened for random reads. Implementations must not read more than asked.
pub trait Source {
    /// A name for messages (usually the file name).
    fn name(&self) -> &str;
    /// The size in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` with the bytes at `offset`; an error if they are not all there.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Says that the bytes at `ranges` (offset, length) are about to be read, each on its own. A
    /// source whose reads cost the same however small (a browser `Blob`) may fetch them together:
    /// it then fails with `Error::Pending`, and the caller opens again once they are in. Sources
    /// that read cheaply ignore it.
    fn prefetch(&self, ranges: &[(u64, u64)]) -> Result<()> {
        let _ = ranges;
        Ok(())
    }

    /// Read `len` bytes at `offset` into a new vector, checking the range first.
    fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        check_range(self, offset, len)?;
        let mut v = vec![0u8; len as usize];
        self.read_at(offset, &mut v)?;
        Ok(v)
    }

    /// The whole file, when it is in memory already: a caller that needs all of it may borrow it
    /// instead of reading a copy (the engine decodes a model from it).
    fn bytes(&self) -> Option<&[u8]> {
        None
    }
}

/// A shared source reads as the one it shares (a caller keeps a handle to count or reuse it).
impl<S: Source + ?Sized> Source for std::sync::Arc<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }
    fn prefetch(&self, ranges: &[(u64, u64)]) -> Result<()> {
        (**self).prefetch(ranges)
    }
    fn read_vec(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        (**self).read_vec(offset, len)
    }
    fn bytes(&self) -> Option<&[u8]> {
        (**self).bytes()
    }
}

/// A byte range of another source seen as a file of its own (a torch.save file stored inside a
/// `.pt2` archive).
pub struct Window<'a> {
    pub inner: &'a dyn Source,
    pub name: String,
    pub offset: u64,
    pub len: u64,
}

impl Source for Window<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(self, offset, buf.len() as u64)?;
        self.inner.read_at(self.offset + offset, buf)
    }
}

/// Fails unless `offset..offset+len` lies inside the source.
pub fn check_range<S: Source + ?Sized>(s: &S, offset: u64, len: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= s.len() => Ok(()),
        _ => Err(Error::Truncated {
            at: crate::error::Location::new(s.name(), offset),
            needed: len,
            available: s.len().saturating_sub(offset),
        }),
    }
}

/// Bytes held in memory: owned (`Vec<u8>`: tests, the npm package's `Uint8Array` input) or
/// borrowed (`&[u8]`: a model the engine was handed), read the same way.
pub struct MemSource<B = Vec<u8>> {
    name: String,
    data: B,
}

impl<B: AsRef<[u8]>> MemSource<B> {
    pub fn new(name: impl Into<String>, data: B) -> Self {
        MemSource { name: name.into(), data }
    }
}

impl<B: AsRef<[u8]>> Source for MemSource<B> {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.data.as_ref().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(self, offset, buf.len() as u64)?;
        let start = offset as usize;
        buf.copy_from_slice(&self.data.as_ref()[start..start + buf.len()]);
        Ok(())
    }
    fn bytes(&self) -> Option<&[u8]> {
        Some(self.data.as_ref())
    }
}

/// A native file, read with positioned reads (no shared cursor).
#[cfg(not(target_arch = "wasm32"))]
pub struct FileSource {
    name: String,
    file: std::fs::File,
    len: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl FileSource {
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let io = |e: std::io::Error| Error::Read { source_name: name.clone(), offset: 0, message: e.to_string() };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        Ok(FileSource { name, file, len })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(self, offset, buf.len() as u64)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, offset).map_err(|e| Error::Read {
                source_name: self.name.clone(),
                offset,
                message: e.to_string(),
            })
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset))
                .and_then(|_| f.read_exact(buf))
                .map_err(|e| Error::Read { source_name: self.name.clone(), offset, message: e.to_string() })
        }
    }
}
