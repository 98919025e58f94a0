//! `helpline admin backup` and `restore`: SQLite's file copied (a node's lock held while it is
//! replaced), PostgreSQL through its own pg_dump and pg_restore.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use helpline_api::Config;
use helpline_store::Store;

/// `admin backup`.
pub fn backup(config: &Config, store: &Store, file: &Path) -> anyhow::Result<()> {
    let url = config.database_url.expose();
    if helpline_store::backup::sqlite_file(url)?.is_some() {
        let to = file.to_owned();
        store.read(move |c| helpline_store::backup::sqlite_copy(c, &to))?;
    } else {
        if file.exists() {
            bail!("{} exists; a backup never overwrites", file.display());
        }
        let status = std::process::Command::new(pg_tool("pg_dump")?)
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(file)
            .arg(format!("--dbname={url}"))
            .status()
            .context("running pg_dump")?;
        if !status.success() {
            bail!("pg_dump failed ({status})");
        }
    }
    println!("backed up to {}", file.display());
    Ok(())
}

/// `admin restore`.
pub fn restore(config: &Config, file: &Path) -> anyhow::Result<()> {
    if !file.is_file() {
        bail!("{} is not a backup file", file.display());
    }
    let url = config.database_url.expose();
    match helpline_store::backup::sqlite_file(url)? {
        Some(db) => {
            // Refused while a node serves the file; held until the copy is in place.
            let _lock = helpline_store::backup::node_lock(url)?;
            let mut tmp = db.clone().into_os_string();
            tmp.push(".restoring");
            let tmp = PathBuf::from(tmp);
            std::fs::copy(file, &tmp).with_context(|| format!("copying {}", file.display()))?;
            for suffix in ["-wal", "-shm"] {
                let mut side = db.clone().into_os_string();
                side.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(side));
            }
            std::fs::rename(&tmp, &db).with_context(|| format!("replacing {}", db.display()))?;
        }
        None => {
            let status = std::process::Command::new(pg_tool("pg_restore")?)
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                ])
                .arg(format!("--dbname={url}"))
                .arg(file)
                .status()
                .context("running pg_restore")?;
            if !status.success() {
                bail!("pg_restore failed ({status})");
            }
        }
    }
    println!("restored from {}", file.display());
    Ok(())
}

/// A PostgreSQL client tool: on the PATH, or in Debian's /usr/lib/postgresql/<version>/bin
/// (the newest).
fn pg_tool(name: &str) -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|f| f.is_file());
    if let Some(f) = on_path {
        return Ok(f);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let f = e.path().join("bin").join(name);
            f.is_file().then_some((v, f))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, f)| f)
        .ok_or_else(|| anyhow::anyhow!("{name} not found (Debian: apt install postgresql-client)"))
}
