//! All checklist versions known to the application, keyed by (key, version).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::{ChecklistError, Problem};
use super::load::parse;
use super::model::Checklist;

/// Old versions stay loaded: past inspections are shown against the version they were made with.
#[derive(Debug, Clone, Default)]
pub struct ChecklistRegistry {
    by_key: BTreeMap<String, BTreeMap<u32, Checklist>>,
}

/// Guards against symlink loops without needing to track visited directories.
const MAX_DEPTH: usize = 16;

impl ChecklistRegistry {
    /// Reads every `*.toml` under `dir`, recursively, in path order so errors are reproducible.
    /// File names in errors are `dir` joined with the relative path, as the admin typed it.
    pub fn load_dir(dir: &Path) -> Result<ChecklistRegistry, ChecklistError> {
        let mut files = Vec::new();
        collect_toml(dir, 0, &mut files)?;
        files.sort();
        let mut checklists = Vec::with_capacity(files.len());
        for path in files {
            let name = path.display().to_string();
            let bytes = fs::read(&path).map_err(|e| io_error(&name, &e))?;
            let text = String::from_utf8(bytes).map_err(|_| ChecklistError {
                file: name.clone(),
                line: None,
                problem: Problem::Io("文件不是有效的 UTF-8 编码".into()),
            })?;
            checklists.push(parse(&name, &text)?);
        }
        ChecklistRegistry::from_checklists(checklists)
    }

    /// Refuses two checklists with the same key and version: the version number is what an
    /// inspection records, so it must name exactly one set of rules.
    pub fn from_checklists(
        checklists: Vec<Checklist>,
    ) -> Result<ChecklistRegistry, ChecklistError> {
        let mut by_key: BTreeMap<String, BTreeMap<u32, Checklist>> = BTreeMap::new();
        for c in checklists {
            let versions = by_key.entry(c.key.clone()).or_default();
            if let Some(first) = versions.get(&c.version) {
                return Err(ChecklistError {
                    file: c.source_file.clone(),
                    line: Some(c.version_line),
                    problem: Problem::DuplicateVersion {
                        key: c.key.clone(),
                        version: c.version,
                        first_file: first.source_file.clone(),
                    },
                });
            }
            versions.insert(c.version, c);
        }
        Ok(ChecklistRegistry { by_key })
    }

    /// The highest version of `key`: what new inspections use.
    pub fn current(&self, key: &str) -> Option<&Checklist> {
        self.by_key.get(key)?.values().next_back()
    }

    pub fn get(&self, key: &str, version: u32) -> Option<&Checklist> {
        self.by_key.get(key)?.get(&version)
    }

    /// Checklist keys in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    /// Every loaded version of `key`, oldest first.
    pub fn versions(&self, key: &str) -> impl Iterator<Item = &Checklist> {
        self.by_key.get(key).into_iter().flat_map(|v| v.values())
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

fn io_error(file: &str, e: &std::io::Error) -> ChecklistError {
    ChecklistError {
        file: file.to_string(),
        line: None,
        problem: Problem::Io(e.to_string()),
    }
}

fn collect_toml(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), ChecklistError> {
    let name = dir.display().to_string();
    if depth > MAX_DEPTH {
        return Err(ChecklistError {
            file: name,
            line: None,
            problem: Problem::Io("目录层级过深（可能存在循环链接）".into()),
        });
    }
    for entry in fs::read_dir(dir).map_err(|e| io_error(&name, &e))? {
        let path = entry.map_err(|e| io_error(&name, &e))?.path();
        if path.is_dir() {
            collect_toml(&path, depth + 1, out)?;
        } else if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
