//! Architecture rules checked as ordinary tests: every module opens with a `//!` doc, and
//! the domain modules stay free of HTTP, database drivers and tokio I/O.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_has_a_doc_comment() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    assert!(files.len() > 10);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            !fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .collect();
    assert!(missing.is_empty(), "modules without a //! doc: {missing:?}");
}

#[test]
fn domain_modules_know_nothing_of_http_or_storage_engines() {
    let forbidden = [
        "axum",
        "hyper",
        "reqwest",
        "rusqlite",
        "tokio::net",
        "tokio::fs",
        "tower",
        "crate::http",
        "crate::store::embedded",
    ];
    let mut files = Vec::new();
    for domain in ["challenge", "risk", "imaging", "cycle"] {
        rust_files(&src().join(domain), &mut files);
    }
    for file in ["token.rs", "model.rs", "codes.rs", "acs3.rs", "crypto.rs"] {
        files.push(src().join(file));
    }
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for word in forbidden {
            let used = text.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//")
                    && (l.contains(&format!("use {word}")) || l.contains(&format!("{word}::")))
            });
            assert!(!used, "{} uses {word}", f.display());
        }
    }
}

#[test]
fn every_verdict_code_is_documented() {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/integration.md"))
        .unwrap();
    for code in stile::codes::VerifyCode::ALL {
        assert!(
            doc.contains(&format!("| {} |", code.as_str())),
            "docs/integration.md lacks {code}"
        );
    }
}
