//! Loading a list of image files with their labels (the loaders of datasets that come with
//! label files: RAF-DB, AffectNet), decoded in parallel.

use std::path::PathBuf;

use rayon::prelude::*;

use super::decode::{decode_file, decode_file_cropped};
use super::{SampleTruth, Split};
use crate::compute::Error;
use crate::contract::config::{BadImagePolicy, DataConfig};

/// One image of a label file.
pub struct ListedImage {
    pub path: PathBuf,
    pub label: u8,
    pub truth: Option<SampleTruth>,
    /// Face box `(x, y, width, height)` to crop before resizing.
    pub crop: Option<(u32, u32, u32, u32)>,
    /// Where the entry came from (file and line), for messages.
    pub source: String,
}

/// Decodes every listed image; unreadable ones are skipped or fail the load, per
/// `data.on_bad_image`.
pub fn load_listed(
    entries: Vec<ListedImage>,
    d: &DataConfig,
    skipped: &mut Vec<String>,
) -> Result<Split, Error> {
    let decoded: Vec<Result<Vec<u8>, Error>> = entries
        .par_iter()
        .map(|e| match e.crop {
            Some(c) => decode_file_cropped(&e.path, c, d.image_size, d.channels),
            None => decode_file(&e.path, d.image_size, d.channels),
        })
        .collect();
    let mut split = Split::new(d.image_size, d.channels);
    split
        .images
        .reserve(entries.len() * split.pixels_per_image());
    for (e, result) in entries.into_iter().zip(decoded) {
        match result {
            Ok(pixels) => split.push(&pixels, e.label, e.truth, e.path.display().to_string()),
            Err(error) => match d.on_bad_image {
                BadImagePolicy::Fail => {
                    return Err(Error::File {
                        path: e.path,
                        message: format!(
                            "unreadable image listed at {} ({}); set data.on_bad_image = \"skip\" to skip such files",
                            e.source,
                            error.reason()
                        ),
                    });
                }
                BadImagePolicy::Skip => skipped.push(format!(
                    "{} ({}): {}",
                    e.path.display(),
                    e.source,
                    error.reason()
                )),
            },
        }
    }
    Ok(split)
}

/// Splits one csv line into fields, honouring double quotes (`"a,b"` is one field, `""`
/// inside quotes is a quote).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_honour_quotes() {
        assert_eq!(csv_fields("a,b,,c"), vec!["a", "b", "", "c"]);
        assert_eq!(csv_fields(r#"x,"1;2,3",y"#), vec!["x", "1;2,3", "y"]);
        assert_eq!(csv_fields(r#""say ""hi""",2"#), vec![r#"say "hi""#, "2"]);
    }
}
