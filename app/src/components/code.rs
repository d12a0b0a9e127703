//! Text with line numbers and a light highlighting (strings, numbers, comments, keys, keywords, log levels):
//! artifacts' previews. A small lexer, not a grammar: it never hides text, only colours it.

use leptos::prelude::*;

/// `(class, text)` pieces of one line; the classes are `str`, `num`, `com`, `key`, `kw`, `err`, `warn` or `""`.
pub fn tokens(language: &str, line: &str) -> Vec<(&'static str, String)> {
    let hash_comments = matches!(language, "python" | "yaml" | "toml" | "shell");
    if language == "log" {
        let class = if line.contains("ERROR") || line.contains("Traceback") {
            "err"
        } else if line.contains("WARN") {
            "warn"
        } else {
            ""
        };
        return vec![(class, line.to_string())];
    }
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let push = |out: &mut Vec<(&'static str, String)>, class: &'static str, s: &str| match out.last_mut() {
        Some((c, text)) if *c == class => text.push_str(s),
        _ => out.push((class, s.to_string())),
    };
    // A YAML or TOML key at the start of the line.
    let mut rest = line;
    if matches!(language, "yaml" | "toml") {
        let indent = line.len() - line.trim_start().len();
        let body = line[indent..].strip_prefix("- ").map_or(&line[indent..], |b| b);
        let lead = line.len() - body.len();
        if let Some(end) = body.find([':', '=']) {
            let key = &body[..end];
            if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || "_-. ".contains(c)) {
                push(&mut out, "", &line[..lead]);
                push(&mut out, "key", key);
                rest = &body[end..];
            }
        }
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if hash_comments && c == '#' {
            push(&mut out, "com", &chars[i..].iter().collect::<String>());
            break;
        }
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(chars.len());
            let s: String = chars[i..end].iter().collect();
            // A JSON key: a string followed by `:`.
            let is_key = language == "json" && chars[end..].iter().find(|c| !c.is_whitespace()) == Some(&':');
            push(&mut out, if is_key { "key" } else { "str" }, &s);
            i = end;
            continue;
        }
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c.is_ascii_digit() && starts_word {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '.' || chars[j] == '_')
            {
                j += 1;
            }
            push(&mut out, "num", &chars[i..j].iter().collect::<String>());
            i = j;
            continue;
        }
        if (c.is_alphabetic() || c == '_') && starts_word {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            push(&mut out, if is_keyword(language, &word) { "kw" } else { "" }, &word);
            i = j;
            continue;
        }
        let mut buf = [0u8; 4];
        push(&mut out, "", c.encode_utf8(&mut buf));
        i += 1;
    }
    out
}

fn is_keyword(language: &str, word: &str) -> bool {
    match language {
        "python" => matches!(
            word,
            "def"
                | "class"
                | "import"
                | "from"
                | "return"
                | "if"
                | "elif"
                | "else"
                | "for"
                | "in"
                | "while"
                | "with"
                | "as"
                | "None"
                | "True"
                | "False"
                | "and"
                | "or"
                | "not"
                | "try"
                | "except"
                | "lambda"
                | "yield"
                | "raise"
                | "pass"
        ),
        "json" | "yaml" | "toml" => matches!(word, "true" | "false" | "null"),
        "shell" => matches!(word, "if" | "then" | "fi" | "for" | "do" | "done" | "export" | "echo"),
        _ => false,
    }
}

/// `text` as numbered, highlighted lines.
#[component]
pub fn Code(language: String, text: String) -> impl IntoView {
    let lines = text
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let parts = tokens(&language, line)
                .into_iter()
                .map(|(class, s)| {
                    if class.is_empty() {
                        view! { <span>{s}</span> }.into_any()
                    } else {
                        view! { <span class=format!("tok-{class}")>{s}</span> }.into_any()
                    }
                })
                .collect_view();
            view! { <span class="line"><span class="ln">{n + 1}</span>{parts}"\n"</span> }
        })
        .collect_view();
    view! { <pre class="code" data-language=language.clone()><code>{lines}</code></pre> }
}

#[cfg(test)]
mod tests {
    use super::tokens;

    fn classes(language: &str, line: &str) -> Vec<(&'static str, String)> {
        tokens(language, line).into_iter().filter(|(c, _)| !c.is_empty()).collect()
    }

    #[test]
    fn lines_keep_their_text_and_get_classes() {
        for (lang, line) in
            [("json", r#"  "loss": 0.25, "ok": true"#), ("python", "def f(x): return 'a' # c")]
        {
            let joined: String = tokens(lang, line).into_iter().map(|(_, s)| s).collect();
            assert_eq!(joined, line);
        }
        assert_eq!(
            classes("json", r#""loss": 0.25"#),
            [("key", "\"loss\"".to_string()), ("num", "0.25".to_string())]
        );
        assert_eq!(classes("yaml", "lr: 3 # why")[0], ("key", "lr".to_string()));
        assert_eq!(classes("yaml", "lr: 3 # why").last().unwrap(), &("com", "# why".to_string()));
        assert_eq!(classes("python", "x2 = None")[0], ("kw", "None".to_string()));
        assert_eq!(classes("log", "ERROR boom")[0].0, "err");
    }
}
