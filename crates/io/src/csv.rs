//! A small CSV / whitespace-separated text reader for small data sets.
//!
//! Rules: lines end with `\n`, `\r\n` or a lone `\r`; blank lines and lines starting with `#` are
//! skipped; the separator is a comma if
//! the first non-comment line contains one, otherwise runs of spaces and tabs; the first
//! non-comment line is a header (and skipped) when any of its fields is not a number; every
//! row must have the same number of fields; fields may be wrapped in double quotes.

use std::path::Path;

use crate::error::LoadError;

/// Parsed text data: row-major values and the shape, plus whether a header row was skipped.
pub(crate) struct CsvData {
    pub(crate) values: Vec<f64>,
    pub(crate) n_samples: usize,
    pub(crate) n_features: usize,
    pub(crate) header: bool,
}

fn unquote(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .map_or(f, str::trim)
}

fn parse_number(field: &str) -> Option<f64> {
    let f = unquote(field);
    if f.is_empty() {
        return None;
    }
    f.parse::<f64>().ok()
}

/// The lines of `text`, ended by `\n`, `\r\n` or a lone `\r` (old Mac spreadsheets), without
/// their ends.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\n', '\r']) {
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<CsvData, LoadError> {
    let p = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(LoadError::Empty { path: p() });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or(&[]);
            let line = lines(std::str::from_utf8(good).unwrap_or("")).count();
            return Err(LoadError::Csv {
                path: p(),
                line,
                column: 0,
                message: format!("not valid UTF-8 text (byte {})", e.valid_up_to()),
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let mut comma: Option<bool> = None;
    let mut n_features = 0usize;
    let mut header = false;
    let mut values = Vec::new();
    let mut n_samples = 0usize;
    for (idx, line) in lines(text).enumerate() {
        let line_no = idx + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let is_comma = *comma.get_or_insert_with(|| trimmed.contains(','));
        let fields: Vec<&str> = if is_comma {
            trimmed.split(',').collect()
        } else {
            trimmed.split_whitespace().collect()
        };
        let first_content_line = n_features == 0;
        if first_content_line {
            n_features = fields.len();
            if fields
                .iter()
                .any(|f| !unquote(f).is_empty() && parse_number(f).is_none())
            {
                // A header row: its fields name the columns.
                header = true;
                if let Some(col) = fields.iter().position(|f| unquote(f).is_empty()) {
                    return Err(LoadError::Csv {
                        path: p(),
                        line: line_no,
                        column: col + 1,
                        message: "empty column name in the header row".into(),
                    });
                }
                continue;
            }
        } else if fields.len() != n_features {
            return Err(LoadError::Csv {
                path: p(),
                line: line_no,
                column: fields.len().min(n_features) + 1,
                message: format!(
                    "row has {} fields, expected {n_features} like the first {}",
                    fields.len(),
                    if header { "(header) row" } else { "row" }
                ),
            });
        }
        for (col, field) in fields.iter().enumerate() {
            let Some(v) = parse_number(field) else {
                let shown: String = unquote(field).chars().take(40).collect();
                let message = if shown.is_empty() {
                    "empty field".to_string()
                } else {
                    format!("could not parse {shown:?} as a number")
                };
                return Err(LoadError::Csv {
                    path: p(),
                    line: line_no,
                    column: col + 1,
                    message,
                });
            };
            values.push(v);
        }
        n_samples += 1;
    }
    if n_samples == 0 {
        return Err(LoadError::ZeroRows { path: p() });
    }
    Ok(CsvData {
        values,
        n_samples,
        n_features,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> CsvData {
        parse(s.as_bytes(), Path::new("t.csv")).unwrap()
    }

    fn err(s: &str) -> (usize, usize, String) {
        match parse(s.as_bytes(), Path::new("t.csv")) {
            Err(LoadError::Csv {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn comma_with_header() {
        let d = ok("x,y\n1,2\n3.5,-4e1\n");
        assert!(d.header);
        assert_eq!((d.n_samples, d.n_features), (2, 2));
        assert_eq!(d.values, [1.0, 2.0, 3.5, -40.0]);
    }

    #[test]
    fn whitespace_comments_crlf_quotes() {
        let d = ok("# comment\r\n1 2\t3\r\n\r\n  4   5 6  \r\n");
        assert!(!d.header);
        assert_eq!((d.n_samples, d.n_features), (2, 3));
        assert_eq!(d.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let d = ok("\u{feff}\"a\",\"b\"\n\"1\", 2\n");
        assert!(d.header);
        assert_eq!(d.values, [1.0, 2.0]);
    }

    #[test]
    fn every_line_ending() {
        for text in [
            "x,y\n1,2\n3,4\n5,6\n",
            "x,y\r\n1,2\r\n3,4\r\n5,6\r\n",
            "x,y\r1,2\r3,4\r5,6\r",
            "x,y\r1,2\n3,4\r\n5,6",
        ] {
            let d = ok(text);
            assert!(d.header, "{text:?}");
            assert_eq!((d.n_samples, d.n_features), (3, 2), "{text:?}");
            assert_eq!(d.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "{text:?}");
        }
        // Line numbers count each ending once, whichever it is.
        assert_eq!(err("1,2\r3,4\r\n5,x\n").0, 3);
        assert_eq!(err("1,2\r\r3,x\r").0, 3);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        assert_eq!(err("1,2\n3,x\n").0, 2);
        assert_eq!(err("1,2\n3,x\n").1, 2);
        let (line, col, msg) = err("a,b\n1,2\n3\n");
        assert_eq!((line, col), (3, 2));
        assert!(msg.contains("1 fields"), "{msg}");
        assert_eq!(err("1,,3\n").2, "empty field");
        assert!(matches!(
            parse(b"1,2\n\xff", Path::new("t.csv")),
            Err(LoadError::Csv { line: 2, .. })
        ));
        assert!(matches!(
            parse(b"a,b\n# only a header\n", Path::new("t.csv")),
            Err(LoadError::ZeroRows { .. })
        ));
        assert!(matches!(
            parse(b"", Path::new("t.csv")),
            Err(LoadError::Empty { .. })
        ));
    }
}
