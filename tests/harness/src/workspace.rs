//! Locates the workspace root and the binaries cargo built in it.

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// Finds the workspace root: the nearest directory whose `Cargo.toml` has a
/// `[workspace]` table.
///
/// The search starts from `CARGO_MANIFEST_DIR` as set at run time (cargo sets
/// it for `cargo run` and `cargo test`), then from this crate's manifest
/// directory as recorded at compile time, then from the current directory.
pub fn workspace_root() -> Result<PathBuf, HarnessError> {
    let mut starts = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }

    for start in &starts {
        if let Some(root) = find_workspace_above(start) {
            return Ok(root);
        }
    }
    Err(HarnessError::WorkspaceNotFound { searched: starts })
}

fn find_workspace_above(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let has_workspace_table = manifest.lines().any(|line| line.trim() == "[workspace]");
        has_workspace_table.then(|| dir.to_path_buf())
    })
}

/// Finds a binary that cargo built into the same profile directory as the
/// running executable, such as `target/debug/linker-events` or
/// `target/debug/examples/echo-function`.
///
/// Integration tests run from `target/<profile>/deps/`, so the profile
/// directory is the parent of the executable's directory. Binaries of other
/// packages are not built by `cargo test -p <package>`, so the error names the
/// build command to run first.
pub fn built_binary(name: &str) -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe().map_err(|source| HarnessError::Read {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;

    let mut profile_dirs = Vec::new();
    if let Some(exe_dir) = exe.parent() {
        if exe_dir
            .file_name()
            .is_some_and(|n| n == "deps" || n == "examples")
        {
            profile_dirs.extend(exe_dir.parent().map(Path::to_path_buf));
        } else {
            profile_dirs.push(exe_dir.to_path_buf());
        }
    }

    let mut searched = Vec::new();
    for dir in profile_dirs {
        for candidate in [dir.join(name), dir.join("examples").join(name)] {
            if candidate.is_file() {
                return Ok(candidate);
            }
            searched.push(candidate);
        }
    }
    Err(HarnessError::BinaryNotFound {
        name: name.to_owned(),
        searched,
        hint: format!(
            "cargo build --bin {name} (or --example {name}) in the package that defines it"
        ),
    })
}
