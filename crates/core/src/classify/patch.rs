//! The Codex `apply_patch` envelope: which files a patch adds, updates, moves or deletes, and
//! the lines it adds (for the secret scan). Hunks are not applied, only read.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Add,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileOp {
    pub kind: OpKind,
    pub path: String,
    pub move_to: Option<String>,
    /// Added lines (without the `+`), joined by newlines.
    pub added: String,
}

/// Most files one patch may name before we stop reading (the rest is unparseable).
const MAX_OPS: usize = 512;

pub(crate) fn parse(text: &str) -> Result<Vec<FileOp>, &'static str> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    // Codex also accepts the patch wrapped in a heredoc invocation; skip to the envelope.
    if !lines.by_ref().any(|l| l.trim() == "*** Begin Patch") {
        return Err("no `*** Begin Patch` line");
    }
    let mut ops: Vec<FileOp> = Vec::new();
    for line in lines {
        let header = |p: &str| line.strip_prefix(p).map(|r| r.trim().to_owned());
        if line.trim() == "*** End Patch" {
            return Ok(ops);
        }
        let (kind, path) = if let Some(p) = header("*** Add File:") {
            (OpKind::Add, p)
        } else if let Some(p) = header("*** Update File:") {
            (OpKind::Update, p)
        } else if let Some(p) = header("*** Delete File:") {
            (OpKind::Delete, p)
        } else if let Some(p) = header("*** Move to:") {
            let op = ops.last_mut().ok_or("`*** Move to:` before any file")?;
            if op.kind != OpKind::Update || p.is_empty() {
                return Err("`*** Move to:` outside an update");
            }
            op.move_to = Some(p);
            continue;
        } else if line.starts_with("*** ") && line.trim() != "*** End of File" {
            return Err("unknown `***` line");
        } else {
            if let (Some(op), Some(added)) = (ops.last_mut(), line.strip_prefix('+')) {
                if op.added.len() < 1 << 20 {
                    op.added.push_str(added);
                    op.added.push('\n');
                }
            } else if ops.is_empty() && !line.trim().is_empty() {
                return Err("text before the first file");
            }
            continue;
        };
        if path.is_empty() {
            return Err("a file header without a path");
        }
        if ops.len() >= MAX_OPS {
            return Err("too many files");
        }
        ops.push(FileOp {
            kind,
            path,
            move_to: None,
            added: String::new(),
        });
    }
    Err("no `*** End Patch` line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_operations() {
        let p = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** Update File: src/b.rs\n*** Move to: src/c.rs\n@@ fn x\n-old\n+new\n*** Delete File: d.txt\n*** End Patch\n";
        let ops = parse(p).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(
            (ops[0].kind, ops[0].added.as_str()),
            (OpKind::Add, "hello\n")
        );
        assert_eq!(ops[1].move_to.as_deref(), Some("src/c.rs"));
        assert_eq!(ops[2].kind, OpKind::Delete);
        for bad in [
            "",
            "*** Begin Patch\n*** Add File: a\n",
            "*** Begin Patch\n*** Frob File: a\n*** End Patch",
            "*** Begin Patch\n*** Move to: x\n*** End Patch",
            "*** Begin Patch\n*** Add File:\n*** End Patch",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
