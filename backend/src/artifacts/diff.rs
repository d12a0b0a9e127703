//! Two versions of a text file, line by line: the changed lines with a little context, numbered on both sides
//! (`similar`'s Myers diff), bounded so that two large files cost a bounded answer.

use api_types::DiffLine;
use similar::{ChangeTag, TextDiff};

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// At most this many lines are returned.
pub const MAX_LINES: usize = 2000;

/// The hunks that differ between `a` and `b` (empty when they are equal), and whether lines were left out at
/// the end to stay within [`MAX_LINES`]. A gap between hunks is a line with tag `gap`.
pub fn lines(a: &str, b: &str) -> (Vec<DiffLine>, bool) {
    let diff = TextDiff::configure().timeout(std::time::Duration::from_millis(500)).diff_lines(a, b);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine { tag: "gap".into(), a: None, b: None, text: String::new() });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                if out.len() >= MAX_LINES {
                    return (out, true);
                }
                let tag = match change.tag() {
                    ChangeTag::Equal => "same",
                    ChangeTag::Delete => "removed",
                    ChangeTag::Insert => "added",
                };
                out.push(DiffLine {
                    tag: tag.into(),
                    a: change.old_index().map(|n| n as u32 + 1),
                    b: change.new_index().map(|n| n as u32 + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                });
            }
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_context_and_numbers() {
        let a: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let b = a.replace("line 5\n", "line five\n").replace("line 18\n", "") + "line 21\n";
        let (out, cut) = lines(&a, &b);
        assert!(!cut);
        let shown: Vec<(&str, Option<u32>, Option<u32>, &str)> =
            out.iter().map(|l| (l.tag.as_str(), l.a, l.b, l.text.as_str())).collect();
        assert_eq!(
            shown[..5],
            [
                ("same", Some(2), Some(2), "line 2"),
                ("same", Some(3), Some(3), "line 3"),
                ("same", Some(4), Some(4), "line 4"),
                ("removed", Some(5), None, "line 5"),
                ("added", None, Some(5), "line five"),
            ]
        );
        assert!(shown.contains(&("gap", None, None, "")));
        assert!(shown.contains(&("removed", Some(18), None, "line 18")));
        assert_eq!(shown.last(), Some(&("added", None, Some(20), "line 21")));
        assert!(lines(&a, &a).0.is_empty());
    }

    #[test]
    fn large_diffs_are_cut() {
        let a: String = (0..5000).map(|i| format!("{i}\n")).collect();
        let b: String = (0..5000).map(|i| format!("{}\n", i * 2)).collect();
        let (out, cut) = lines(&a, &b);
        assert!(cut);
        assert_eq!(out.len(), MAX_LINES);
    }
}
