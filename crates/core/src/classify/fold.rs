//! Static evaluation of the few commands whose output is plain data: `echo`, `printf`,
//! `base64 -d`, `xxd -r -p`, `rev`, `tr`, `cat`. When a pipeline or a substitution is built
//! only from these and literals, its output is known before it runs, so
//! `$(printf '\x72\x6d') -rf ~`, `echo cm0gLXJmIH4= | base64 -d | sh` and
//! `echo / | xargs rm -rf` are graded as the commands they produce.

use base64::Engine as _;

/// Most bytes a fold may produce (the walker's own expansion budget applies on top).
const MAX_OUT: usize = 16 * 1024;

/// The output of `name args…` given `input` on stdin, when it is static.
pub(crate) fn output(name: &str, args: &[&str], input: Option<&str>) -> Option<String> {
    let out = match name {
        "echo" => echo(args),
        "printf" => printf(args)?,
        // `$(which dashclawd)`, `$(command -v rm)`: the program's path; its name is what runs.
        "which" | "whereis" if args.len() == 1 && !args[0].starts_with('-') => args[0].to_owned(),
        "command" | "type" if args.len() == 2 && matches!(args[0], "-v" | "-p" | "-P") => {
            args[1].to_owned()
        }
        "cat" | "tee" if args.iter().all(|a| a.starts_with('-')) => input?.to_owned(),
        "base64" | "base32" if args.iter().any(|a| matches!(*a, "-d" | "-D" | "--decode")) => {
            let text: String = input?.split_ascii_whitespace().collect();
            let bytes = if name == "base64" {
                base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .or_else(|_| {
                        base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.as_bytes())
                    })
                    .ok()?
            } else {
                return None;
            };
            String::from_utf8(bytes).ok()?
        }
        "xxd" if args.contains(&"-r") && args.contains(&"-p") => {
            let hex: String = input?.split_ascii_whitespace().collect();
            let bytes = hex::decode(hex).ok()?;
            String::from_utf8(bytes).ok()?
        }
        "rev" if args.is_empty() => input?
            .lines()
            .map(|l| l.chars().rev().collect::<String>())
            .collect::<Vec<_>>()
            .join("\n"),
        "tr" => tr(args, input?)?,
        // A fresh temp path: what matters is that it is under the temp directory.
        "mktemp"
            if !args.iter().any(|a| {
                a.starts_with("-p") || a.starts_with("--tmpdir=") || a.starts_with("--tmpdir")
            }) =>
        {
            "/tmp/tmp.dashclaw-mktemp".to_owned()
        }
        _ => return None,
    };
    (out.len() <= MAX_OUT).then_some(out)
}

/// PowerShell's `-EncodedCommand` text: base64 of UTF-16LE.
pub(crate) fn utf16le_base64(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim().as_bytes())
        .ok()?;
    if bytes.len() % 2 != 0 || bytes.len() > 64 * 1024 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

fn echo(args: &[&str]) -> String {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E'))
        {
            newline &= !a.contains('n');
            escapes = a.contains('e') || (escapes && !a.contains('E'));
            i += 1;
        } else {
            break;
        }
    }
    let text = args[i..].join(" ");
    let mut out = if escapes { unescape(&text) } else { text };
    if newline {
        out.push('\n');
    }
    out
}

/// `\x41`, `\101`, `\n`, `\t`, `\\` as echo -e and printf read them.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let e = b[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            b'a' => out.push(7),
            b'e' => out.push(27),
            b'x' => {
                let hex: Vec<u8> = b[i..]
                    .iter()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .copied()
                    .collect();
                if hex.is_empty() {
                    out.extend_from_slice(b"\\x");
                } else {
                    i += hex.len();
                    out.push(
                        u8::from_str_radix(std::str::from_utf8(&hex).unwrap_or("0"), 16)
                            .unwrap_or(0),
                    );
                }
            }
            b'0'..=b'7' => {
                // `\0NNN` (echo) or `\NNN` (printf).
                let start = if e == b'0' { i } else { i - 1 };
                let digits: Vec<u8> = b[start..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .copied()
                    .collect();
                i = start + digits.len();
                let v = u32::from_str_radix(std::str::from_utf8(&digits).unwrap_or("0"), 8)
                    .unwrap_or(0);
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `printf FORMAT ARGS…` with `%s`, `%b`, `%c`, `%d` and escapes; the format repeats while
/// arguments remain, as in bash.
fn printf(args: &[&str]) -> Option<String> {
    let mut args = args;
    if args.first() == Some(&"--") {
        args = &args[1..];
    }
    let (fmt, rest) = args.split_first()?;
    if fmt.starts_with("-v") {
        return None;
    }
    let fmt = unescape(fmt);
    let mut out = String::new();
    let mut next = 0usize;
    loop {
        let mut chars = fmt.chars().peekable();
        let mut used = false;
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            // Skip flags and width.
            let mut spec = chars.next()?;
            while spec.is_ascii_digit() || matches!(spec, '-' | '.' | ' ' | '+' | '#') {
                spec = chars.next()?;
            }
            match spec {
                '%' => out.push('%'),
                's' | 'd' | 'i' | 'c' | 'b' | 'q' => {
                    let a = rest.get(next).copied().unwrap_or("");
                    next += 1;
                    used = true;
                    match spec {
                        'b' => out.push_str(&unescape(a)),
                        'c' => out.extend(a.chars().next()),
                        _ => out.push_str(a),
                    }
                }
                _ => return None,
            }
            if out.len() > MAX_OUT {
                return None;
            }
        }
        if !used || next >= rest.len() {
            break;
        }
    }
    Some(out)
}

/// `tr SET1 SET2` with ranges (`a-z`, `n-za-m` for rot13) and `-d SET`.
fn tr(args: &[&str], input: &str) -> Option<String> {
    let expand = |set: &str| -> Vec<char> {
        let c: Vec<char> = unescape(set).chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            if i + 2 < c.len() && c[i + 1] == '-' && c[i] <= c[i + 2] {
                out.extend(c[i]..=c[i + 2]);
                i += 3;
            } else {
                out.push(c[i]);
                i += 1;
            }
        }
        out
    };
    match args {
        ["-d", set] => {
            let del = expand(set);
            Some(input.chars().filter(|c| !del.contains(c)).collect())
        }
        [from, to] if !from.starts_with('-') && !to.starts_with('-') => {
            let (f, t) = (expand(from), expand(to));
            let last = *t.last()?;
            Some(
                input
                    .chars()
                    .map(|c| match f.iter().position(|x| *x == c) {
                        Some(i) => t.get(i).copied().unwrap_or(last),
                        None => c,
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::output;

    #[test]
    fn folds_the_data_commands() {
        assert_eq!(
            output("printf", &["\\x72\\x6d"], None).as_deref(),
            Some("rm")
        );
        assert_eq!(
            output("printf", &["%s -rf %s", "rm", "/"], None).as_deref(),
            Some("rm -rf /")
        );
        assert_eq!(output("echo", &["-n", "rm"], None).as_deref(), Some("rm"));
        assert_eq!(
            output("echo", &["-e", "\\0162m"], None).as_deref(),
            Some("rm\n")
        );
        assert_eq!(
            output("base64", &["-d"], Some("cm0gLXJmIH4=")).as_deref(),
            Some("rm -rf ~")
        );
        assert_eq!(
            output("rev", &[], Some("~ fr- mr")).as_deref(),
            Some("rm -rf ~")
        );
        assert_eq!(
            output("tr", &["a-z", "n-za-m"], Some("ez -es /")).as_deref(),
            Some("rm -rf /")
        );
        assert_eq!(
            output("xxd", &["-r", "-p"], Some("726d")).as_deref(),
            Some("rm")
        );
        assert_eq!(output("curl", &["x"], None), None);
    }
}
