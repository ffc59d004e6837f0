//! The shape of the code (issue 16): no function in the workspace reaches 120 lines. Long work
//! reads as a list of named phases instead; this test finds every function, method and nested
//! function with syn and measures it from its `fn` to its closing brace.

use std::path::{Path, PathBuf};

use syn::visit::Visit;

const MAX_LINES: usize = 119;

struct Lengths<'a> {
    file: &'a Path,
    out: Vec<(usize, String)>,
}

impl Lengths<'_> {
    fn record(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        let start = sig.fn_token.span.start().line;
        let end = block.brace_token.span.close().end().line;
        self.out.push((end + 1 - start, format!("{}:{start} {name}", self.file.display())));
    }
}

impl<'ast> Visit<'ast> for Lengths<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(&f.sig.ident, &f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(&f.sig.ident, &f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(b) = &f.default {
            self.record(&f.sig.ident, &f.sig, b);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() && !name.starts_with('.') && name != "target" {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn function_lengths() -> Vec<(usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = vec![];
    rust_files(root, &mut files);
    let mut all = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut v = Lengths { file: f.strip_prefix(root).unwrap(), out: vec![] };
        v.visit_file(&ast);
        all.extend(v.out);
    }
    all.sort_by(|a, b| b.cmp(a));
    all
}

#[test]
fn no_function_in_the_workspace_reaches_120_lines() {
    let all = function_lengths();
    assert!(all.len() > 1000, "the walk found only {} functions", all.len());
    let long: Vec<String> =
        all.iter().take_while(|(n, _)| *n > MAX_LINES).map(|(n, at)| format!("{n:>4} lines  {at}")).collect();
    eprintln!("the longest: {:?}", &all[..5]);
    assert!(long.is_empty(), "functions of {} lines or more:\n{}", MAX_LINES + 1, long.join("\n"));
}

#[test]
fn the_measure_counts_from_fn_to_the_closing_brace() {
    let ast = syn::parse_file(
        "fn a() {\n    let x = \"}\";\n}\n\nimpl S {\n    fn b(&self) {\n        fn c() {}\n    }\n}\n",
    )
    .unwrap();
    let mut v = Lengths { file: Path::new("t.rs"), out: vec![] };
    v.visit_file(&ast);
    assert_eq!(
        v.out,
        [(3, "t.rs:1 a".to_string()), (3, "t.rs:6 b".to_string()), (1, "t.rs:7 c".to_string())]
    );
}
