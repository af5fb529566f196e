//! Sizes of the zipped arm64 Lambda packages that `make package` builds, and of the host
//! binaries this run measured.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::report::{MIB, Row, Status, mebibytes};
use crate::setup::Binaries;

/// The functions that `make package` zips.
const FUNCTIONS: [&str; 2] = ["linker-events", "linker-reconcile"];

/// Target for each zipped package.
const MAX_ZIP_MIB: f64 = 4.0;

/// Returns one row per function for `<packages>/<name>/bootstrap.zip`, or "not built".
///
/// `packages` defaults to `<target>/lambda`, where `<target>` is `CARGO_TARGET_DIR` (relative to
/// the workspace root when it is relative, as in the Makefile) or `<workspace>/target`.
pub fn zip_rows(packages: Option<&Path>) -> Result<Vec<Row>, String> {
    let packages = match packages {
        Some(dir) => dir.to_path_buf(),
        None => {
            let root = harness::workspace::workspace_root().map_err(|e| e.to_string())?;
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), |dir| root.join(PathBuf::from(dir)));
            target.join("lambda")
        }
    };
    Ok(FUNCTIONS
        .iter()
        .map(|name| zip_row(name, &packages.join(name).join("bootstrap.zip")))
        .collect())
}

fn zip_row(name: &str, zip: &Path) -> Row {
    let figure = format!("{name} bootstrap.zip");
    let target = format!("<= {MAX_ZIP_MIB} MiB");
    let Ok(metadata) = zip.metadata() else {
        return Row {
            target,
            status: Status::NotMeasured,
            ..Row::context(figure, "not built")
        }
        .with_detail(format!(
            "{} does not exist; `make package` builds it",
            zip.display()
        ));
    };
    let bytes = metadata.len();
    let age = metadata
        .modified()
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .map_or_else(
            || "modification time unknown".to_owned(),
            |age| format!("built {} min ago", age.as_secs() / 60),
        );
    Row::at_most(
        figure,
        mebibytes(bytes),
        bytes as f64 / MIB,
        MAX_ZIP_MIB,
        target,
    )
    .with_detail(format!("{}, {age}", zip.display()))
}

/// Returns the sizes of the host binaries this run measured, with hello-lambda as the floor.
/// They are built for the host, not for arm64, so they have no target.
pub fn binary_rows(binaries: &Binaries) -> Result<Vec<Row>, String> {
    let size = |path: &Path| {
        path.metadata()
            .map(|m| m.len())
            .map_err(|e| format!("failed to read the size of {}: {e}", path.display()))
    };
    let floor = size(&binaries.hello)?;
    let mut rows = vec![Row::context("hello-lambda binary", mebibytes(floor))];
    for (name, path) in [
        ("linker-events", &binaries.events),
        ("linker-reconcile", &binaries.reconcile),
    ] {
        let bytes = size(path)?;
        rows.push(
            Row::context(format!("{name} binary"), mebibytes(bytes))
                .with_floor(mebibytes(floor), bytes as f64 / floor as f64),
        );
    }
    Ok(rows)
}
