//! Parquet previews: the schema and the first rows, from range reads — the footer, then the first row group only
//! when it is small enough — so a file of any size previews for the cost of a few megabytes.

use api_types::Preview;
use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, FileReader, Length, SerializedFileReader};
use parquet::schema::types::Type;

/// Footers (the schema and row-group index) larger than this are not read for a preview.
pub const MAX_FOOTER: u64 = 8 * 1024 * 1024;
/// The first row group is read for rows only when its column chunks take at most this.
pub const MAX_ROW_GROUP: u64 = 32 * 1024 * 1024;
pub const ROWS: usize = 100;
const MAX_CELL: usize = 200;

/// Where a Parquet file's footer (metadata) lies, from its last 8 bytes; `Err` when it is not a Parquet file.
pub fn footer_range(size: u64, tail: &[u8]) -> Result<std::ops::Range<u64>, String> {
    if size < 12 || tail.len() != 8 || &tail[4..] != b"PAR1" {
        return Err("not a Parquet file".into());
    }
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len + 12 > size {
        return Err("a damaged Parquet file (its footer is longer than the file)".into());
    }
    if len > MAX_FOOTER {
        return Err(format!("its metadata takes {len} bytes, more than a preview reads"));
    }
    Ok(size - 8 - len..size)
}

/// The byte range of the first row group's column chunks, from the footer (the file's last bytes).
pub fn first_row_group(size: u64, footer: Bytes) -> Result<Option<std::ops::Range<u64>>, String> {
    let reader =
        SerializedFileReader::new(Sparse { len: size, windows: vec![(size - footer.len() as u64, footer)] })
            .map_err(|e| format!("a damaged Parquet file: {e}"))?;
    let Some(rg) = reader.metadata().row_groups().first() else { return Ok(None) };
    let ranges = rg.columns().iter().map(|c| c.byte_range());
    let start = ranges.clone().map(|(s, _)| s).min().unwrap_or(0);
    let end = ranges.map(|(s, l)| s + l).max().unwrap_or(0);
    Ok(Some(start..end))
}

/// The schema as the table's header (`name: type`) and the first rows, from the footer and (when read) the first
/// row group's bytes.
pub fn table(size: u64, footer: Bytes, rows: Option<(u64, Bytes)>) -> Preview {
    let mut windows = vec![(size - footer.len() as u64, footer)];
    let read_rows = rows.is_some();
    windows.extend(rows);
    let reader = match SerializedFileReader::new(Sparse { len: size, windows }) {
        Ok(r) => r,
        Err(e) => return Preview::Download { reason: format!("a damaged Parquet file: {e}") },
    };
    let meta = reader.metadata();
    let total = meta.file_metadata().num_rows().max(0) as u64;
    let header: Vec<String> =
        meta.file_metadata().schema_descr().root_schema().get_fields().iter().map(|f| column(f)).collect();
    let groups = meta.num_row_groups();
    let mut out = Vec::new();
    let mut note =
        format!("Parquet: {total} rows in {groups} row group{}", if groups == 1 { "" } else { "s" });
    if read_rows {
        // The first row group only: the others were not read.
        let group = reader.get_row_group(0);
        let iter = match &group {
            Ok(g) => g.get_row_iter(None),
            Err(e) => Err(ParquetError::General(e.to_string())),
        };
        match iter {
            Ok(iter) => {
                for row in iter.take(ROWS) {
                    match row {
                        Ok(row) => {
                            out.push(row.get_column_iter().map(|(_, v)| cell(&v.to_string())).collect())
                        }
                        Err(e) => {
                            note.push_str(&format!("; rows stop at {}: {e}", out.len()));
                            break;
                        }
                    }
                }
            }
            Err(e) => note.push_str(&format!("; rows not read: {e}")),
        }
    } else if groups > 0 {
        note.push_str(
            "; the first row group is too large to read for a preview: download the file for its rows",
        );
    }
    Preview::Table { truncated: (out.len() as u64) < total, header, rows: out, note: Some(note) }
}

/// `name: TYPE` (with its logical type when it has one), `name: struct`/`list`/`map` for groups.
fn column(t: &Type) -> String {
    let info = t.get_basic_info();
    let kind = if t.is_primitive() {
        match info.logical_type_ref() {
            Some(l) => format!("{} ({l:?})", t.get_physical_type()),
            None if info.converted_type() != parquet::basic::ConvertedType::NONE => {
                format!("{} ({})", t.get_physical_type(), info.converted_type())
            }
            None => t.get_physical_type().to_string(),
        }
    } else {
        match info.converted_type() {
            parquet::basic::ConvertedType::LIST => "list".to_string(),
            parquet::basic::ConvertedType::MAP | parquet::basic::ConvertedType::MAP_KEY_VALUE => {
                "map".to_string()
            }
            _ => "struct".to_string(),
        }
    };
    format!("{}: {kind}", info.name())
}

fn cell(s: &str) -> String {
    match s.char_indices().nth(MAX_CELL) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// A file of which only some ranges were read: all the reader may ask for.
struct Sparse {
    len: u64,
    windows: Vec<(u64, Bytes)>,
}

impl Sparse {
    fn slice(&self, start: u64, len: Option<usize>) -> parquet::errors::Result<Bytes> {
        for (at, b) in &self.windows {
            if start < *at || start > at + b.len() as u64 {
                continue;
            }
            let from = (start - at) as usize;
            let to = len.map_or(b.len(), |l| from + l);
            if to <= b.len() {
                return Ok(b.slice(from..to));
            }
        }
        Err(ParquetError::General(format!("bytes from {start} were not read for the preview")))
    }
}

impl Length for Sparse {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Sparse {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, Some(length))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;

    use super::*;

    /// `rows` rows of (step, label) in row groups of `group` rows, Snappy-compressed.
    fn sample(rows: i64, group: i64) -> Bytes {
        let schema = parquet::schema::parser::parse_message_type(
            "message m { required int64 step; required binary label (UTF8); }",
        )
        .unwrap();
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let mut buf = Vec::new();
        let mut w = SerializedFileWriter::new(&mut buf, Arc::new(schema), Arc::new(props)).unwrap();
        for g in 0..rows / group {
            let steps: Vec<i64> = (g * group..(g + 1) * group).collect();
            let labels: Vec<ByteArray> =
                steps.iter().map(|s| ByteArray::from(format!("class-{}", s % 3).as_str())).collect();
            let mut rg = w.next_row_group().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<Int64Type>().write_batch(&steps, None, None).unwrap();
            c.close().unwrap();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>().write_batch(&labels, None, None).unwrap();
            c.close().unwrap();
            rg.close().unwrap();
        }
        w.close().unwrap();
        Bytes::from(buf)
    }

    /// What the store serves: the tail, the footer, the first row group (only those ranges).
    fn preview_of(file: &Bytes, read_rows: bool) -> Preview {
        let size = file.len() as u64;
        let footer = footer_range(size, &file[file.len() - 8..]).unwrap();
        let footer = file.slice(footer.start as usize..footer.end as usize);
        let rows = first_row_group(size, footer.clone()).unwrap().filter(|_| read_rows);
        table(size, footer, rows.map(|r| (r.start, file.slice(r.start as usize..r.end as usize))))
    }

    #[test]
    fn schema_and_first_rows_from_ranges() {
        let file = sample(1000, 250);
        let Preview::Table { header, rows, truncated, note } = preview_of(&file, true) else {
            panic!("a table")
        };
        assert_eq!(header, vec!["step: INT64", "label: BYTE_ARRAY (UTF8)"]);
        assert_eq!(rows.len(), ROWS);
        assert_eq!(rows[0], vec!["0", "\"class-0\""]);
        assert_eq!(rows[99], vec!["99", "\"class-0\""]);
        assert!(truncated);
        assert_eq!(note.as_deref(), Some("Parquet: 1000 rows in 4 row groups"));
        // The first row group too large: the schema alone, and why.
        let Preview::Table { header, rows, note, .. } = preview_of(&file, false) else { panic!("a table") };
        assert_eq!(header.len(), 2);
        assert!(rows.is_empty());
        assert!(note.unwrap().contains("too large"));
    }

    #[test]
    fn other_files_are_refused_plainly() {
        assert_eq!(footer_range(100, b"12345678").unwrap_err(), "not a Parquet file");
        let mut tail = (1_000_000u32).to_le_bytes().to_vec();
        tail.extend(b"PAR1");
        assert!(footer_range(100, &tail).unwrap_err().contains("damaged"));
        let mut tail = (MAX_FOOTER as u32 + 1).to_le_bytes().to_vec();
        tail.extend(b"PAR1");
        assert!(footer_range(1 << 30, &tail).unwrap_err().contains("more than a preview reads"));
        // A footer of garbage is a damaged file, not a panic.
        let p = table(1000, Bytes::from(vec![0u8; 100]), None);
        assert!(matches!(p, Preview::Download { reason } if reason.contains("damaged")));
    }
}
