//! The pool's modules form a one-way stack: `src/rayon.rs` and every
//! `src/rayon/*.rs` name their dependencies as `super::x` / `crate::rayon::x`
//! paths (and the root its children as `x::…`); this test reads those paths
//! from the source, fails on any import cycle (naming it), and checks that
//! the drawing in `src/rayon.rs`'s module doc is true: every module is in it
//! once, and every module uses only modules on rows below its own.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = "rayon";

/// The crate's src/, or `MODULE_GRAPH_SRC` (another tree's src/, to read
/// its graph: `MODULE_GRAPH_SRC=<dir> cargo test --test module_graph`).
fn src() -> PathBuf {
    match std::env::var_os("MODULE_GRAPH_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

/// The module files: `rayon` (src/rayon.rs) and each src/rayon/<name>.rs.
fn module_sources() -> BTreeMap<String, String> {
    let mut modules = BTreeMap::new();
    modules.insert(
        ROOT.to_string(),
        fs::read_to_string(src().join("rayon.rs")).expect("src/rayon.rs"),
    );
    for entry in fs::read_dir(src().join("rayon")).expect("src/rayon/") {
        let path = entry.expect("a directory entry").path();
        if path.extension().map_or(false, |e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            modules.insert(name, fs::read_to_string(&path).expect("a module file"));
        }
    }
    modules
}

/// The code without comments, string and character literals (each replaced
/// by a space), so that only real paths remain.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars[..i]
                .last()
                .map_or(false, |p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
            } else {
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Other(char),
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token::PathSep);
            i += 2;
        } else if c == '{' {
            out.push(Token::Open);
            i += 1;
        } else if c == '}' {
            out.push(Token::Close);
            i += 1;
        } else {
            if !c.is_whitespace() {
                out.push(Token::Other(c));
            }
            i += 1;
        }
    }
    out
}

fn ident(tokens: &[Token], at: usize) -> Option<&str> {
    match tokens.get(at) {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

/// The first path segments a `{ … }` group at `open` names (for
/// `super::{a, b::c, self}`: a, b, self), and the index after the group.
fn group_heads(tokens: &[Token], open: usize) -> (Vec<String>, usize) {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    let mut i = open;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open => {
                depth += 1;
                expect_head = depth == 1;
            }
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    return (heads, i + 1);
                }
            }
            Token::Other(',') if depth == 1 => expect_head = true,
            Token::Ident(name) if expect_head && depth == 1 => {
                heads.push(name.clone());
                expect_head = false;
            }
            _ => {}
        }
        i += 1;
    }
    (heads, i)
}

/// The modules `module` uses: every path that leads to the `rayon` module
/// (`super::…` from the right depth, `crate::rayon::…`, `$crate::rayon::…`)
/// names a sibling module, or the root when it names one of the root's own
/// items. In the root, a path that starts with a child's name uses it.
fn uses(module: &str, source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let tokens = tokens(&strip(source));
    let mut used = BTreeSet::new();
    // Where each token is: the file's module, plus the inline `mod x { … }`
    // blocks around it (counted by the brace depth they opened at).
    let file_depth = if module == ROOT { 1 } else { 2 };
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut braces = 0usize;
    let named = |name: &str, used: &mut BTreeSet<String>| {
        if name == module {
            return;
        }
        if modules.contains(name) {
            used.insert(name.to_string());
        } else if name != "self" && module != ROOT {
            used.insert(ROOT.to_string());
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open => {
                braces += 1;
                if i >= 2 && ident(&tokens, i - 2) == Some("mod") && ident(&tokens, i - 1).is_some()
                {
                    inline_mods.push(braces);
                }
            }
            Token::Close => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            _ => {}
        }
        let previous_is_sep = i > 0 && tokens[i - 1] == Token::PathSep;
        // How deep the path resolves, in modules below the crate root: 1 is `rayon`.
        let (resolved, next) = match ident(&tokens, i) {
            Some("super") if !previous_is_sep => {
                let mut depth = file_depth + inline_mods.len();
                let mut j = i;
                while ident(&tokens, j) == Some("super")
                    && tokens.get(j + 1) == Some(&Token::PathSep)
                {
                    depth -= 1;
                    j += 2;
                }
                (Some(depth), j)
            }
            Some("crate")
                if tokens.get(i + 1) == Some(&Token::PathSep)
                    && ident(&tokens, i + 2) == Some(ROOT)
                    && tokens.get(i + 3) == Some(&Token::PathSep) =>
            {
                (Some(1), i + 4)
            }
            Some(name)
                if module == ROOT
                    && name != ROOT
                    && !previous_is_sep
                    && modules.contains(name)
                    && tokens.get(i + 1) == Some(&Token::PathSep) =>
            {
                // In the root, outside `super::` paths: `child::item`.
                used.insert(name.to_string());
                (None, i + 1)
            }
            _ => (None, i + 1),
        };
        if resolved == Some(1) {
            match tokens.get(next) {
                Some(Token::Ident(name)) => named(name, &mut used),
                Some(Token::Open) => {
                    let (heads, _) = group_heads(&tokens, next);
                    for head in heads {
                        named(&head, &mut used);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    used
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let sources = module_sources();
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, source)| (module.clone(), uses(module, source, &names)))
        .collect()
}

/// Every cycle's modules, as a path that returns to its start (one per
/// strongly connected component).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn reaches(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in &graph[from] {
            if next == to {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if reaches(graph, next, to, seen, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut covered = BTreeSet::new();
    for module in graph.keys() {
        if covered.contains(module) {
            continue;
        }
        let mut path = vec![module.clone()];
        if reaches(graph, module, module, &mut BTreeSet::new(), &mut path) {
            covered.extend(path.iter().cloned());
            found.push(path);
        }
    }
    found
}

/// The rows of the drawing in src/rayon.rs's module doc, top first: the
/// module names in each row's first cell (`│ a · b │ …`; a row may span
/// lines, up to the next `├` line).
fn drawing_rows() -> Vec<Vec<String>> {
    let source = fs::read_to_string(src().join("rayon.rs")).unwrap();
    let doc: Vec<&str> = source
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| line.trim_start_matches("//!").trim())
        .collect();
    let start = doc
        .iter()
        .position(|line| line.contains("one-way stack"))
        .expect("src/rayon.rs's module doc has the drawing of the one-way stack");
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    for line in doc[start..]
        .iter()
        .skip_while(|line| !line.starts_with('┌'))
        .skip(1)
    {
        if line.starts_with('├') || line.starts_with('└') {
            rows.push(std::mem::take(&mut row));
            if line.starts_with('└') {
                break;
            }
            continue;
        }
        let cell = line.split('│').nth(1).unwrap_or("");
        row.extend(
            cell.split('·')
                .map(|name| name.trim().trim_end_matches(".rs").to_string())
                .filter(|name| !name.is_empty()),
        );
    }
    rows
}

#[test]
fn the_pool_modules_have_no_import_cycle() {
    let graph = graph();
    for (module, used) in &graph {
        println!(
            "{} -> {}",
            module,
            used.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles among plonk-wasm/src/rayon modules: {}",
        found
            .iter()
            .map(|cycle| cycle.join(" -> "))
            .collect::<Vec<_>>()
            .join("; ")
    );
}

#[test]
fn every_module_uses_only_modules_below_it_in_the_drawing() {
    let graph = graph();
    let rows = drawing_rows();
    let mut row_of = BTreeMap::new();
    for (row, names) in rows.iter().enumerate() {
        for name in names {
            assert!(
                row_of.insert(name.clone(), row).is_none(),
                "{} appears twice in the drawing",
                name
            );
        }
    }
    let drawn: BTreeSet<String> = row_of.keys().cloned().collect();
    let files: BTreeSet<String> = graph.keys().cloned().collect();
    assert_eq!(drawn, files, "the drawing names exactly the module files");
    let mut upward = Vec::new();
    for (module, used) in &graph {
        for dependency in used {
            if row_of[dependency] <= row_of[module] {
                upward.push(format!(
                    "{} (row {}) uses {} (row {})",
                    module, row_of[module], dependency, row_of[dependency]
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "the drawing in src/rayon.rs is not a one-way stack: {}",
        upward.join("; ")
    );
}

/// The reader itself: it finds the edges a cycle would be made of.
#[test]
fn the_reader_sees_every_kind_of_path() {
    let modules: BTreeSet<String> = ["rayon", "a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let source = r#"
        //! Doc: super::f is not code.
        use super::a;
        use super::{b, c::Thing};
        fn g() -> &'static str { let _ = crate::rayon::d::x(); "super::f" }
        impl $crate::rayon::e::T for X {}
        mod inner { use super::*; use super::super::run_in_pool; }
        #[cfg(test)]
        mod tests { fn t() { let c = 'x'; } }
    "#;
    let used: Vec<String> = uses("z", source, &modules).into_iter().collect();
    assert_eq!(used, vec!["a", "b", "c", "d", "e", "rayon"]);
    let root = "mod a; pub use b::X; fn f() { c::g(); } mod testing { pub use super::d::Y; }";
    let used: Vec<String> = uses(ROOT, root, &modules).into_iter().collect();
    assert_eq!(used, vec!["b", "c", "d"]);
}
