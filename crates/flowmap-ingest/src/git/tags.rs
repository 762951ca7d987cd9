//! The repository's tag names, and their common shapes, for telling a user whose
//! `--deploy-tags` glob matched nothing what the tags look like.

use std::collections::BTreeMap;
use std::path::Path;

use gix::bstr::ByteSlice;

use super::GitError;

/// Every tag name in the repository at `path` (without `refs/tags/`), sorted.
pub fn tag_names(path: &Path) -> Result<Vec<String>, GitError> {
    let repo = super::open(path)?;
    let platform = repo
        .references()
        .map_err(|err| GitError::read("references", err))?;
    let iter = platform
        .prefixed("refs/tags/")
        .map_err(|err| GitError::read("refs/tags/*", err))?;
    let mut names = Vec::new();
    for reference in iter {
        let reference = reference.map_err(|err| GitError::read("refs/tags/*", err))?;
        let name = reference.name().as_bstr().to_str_lossy();
        if let Some(short) = name.strip_prefix("refs/tags/") {
            names.push(short.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether tag `name` (without `refs/tags/`) matches the `--deploy-tags` glob; `*`
/// matches any characters, including `/`.
pub(crate) fn matches(glob: &str, name: &str) -> bool {
    gix::glob::wildmatch(
        glob.as_bytes().as_bstr(),
        name.as_bytes().as_bstr(),
        gix::glob::wildmatch::Mode::empty(),
    )
}

/// The glob a tag name is an instance of, for summarising many tags: the text before the
/// first digit followed by `*` (`v1.2.0` → `v*`, `release-7` → `release-*`), or for a
/// name that starts with a number, that number and the character after it (`14.1.0` →
/// `14.*`). A name without digits is its own pattern.
pub fn tag_pattern(name: &str) -> String {
    match name.find(|c: char| c.is_ascii_digit()) {
        Some(0) => {
            let digits = name
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(name.len());
            match name[digits..].chars().next() {
                Some(separator) => format!("{}{separator}*", &name[..digits]),
                None => name.to_owned(),
            }
        }
        Some(start) => format!("{}*", &name[..start]),
        None => name.to_owned(),
    }
}

/// The patterns of `names` ([`tag_pattern`]) with how many names each covers, most
/// common first (ties by pattern).
pub fn tag_patterns(names: &[String]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(tag_pattern(name)).or_default() += 1;
    }
    let mut patterns: Vec<(String, usize)> = counts.into_iter().collect();
    patterns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    patterns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_keep_the_prefix_or_the_leading_number() {
        assert_eq!(tag_pattern("v1.2.0"), "v*");
        assert_eq!(tag_pattern("release-7"), "release-*");
        assert_eq!(tag_pattern("14.1.0"), "14.*");
        assert_eq!(tag_pattern("2024"), "2024");
        assert_eq!(tag_pattern("stable"), "stable");
        assert_eq!(tag_pattern(""), "");
    }

    #[test]
    fn patterns_are_counted_most_common_first() {
        let names: Vec<String> = ["14.1.0", "14.0.1", "13.0.0", "v0.1", "14.1.1"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            tag_patterns(&names),
            [
                ("14.*".to_owned(), 3),
                ("13.*".to_owned(), 1),
                ("v*".to_owned(), 1)
            ]
        );
    }
}
