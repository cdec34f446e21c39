//! Where the engine keeps an intermediate table that later stages read more than once.
//!
//! On one machine an intermediate table is computed once and held in memory. On a cluster the
//! memory of the process that planned the run is the wrong place: every later query would carry the
//! table's rows inside its plan to the scheduler and the executors. There the session carries a
//! [`SharedScratch`] folder that every node can read, and each intermediate table is written to it
//! as Parquet by the executors and read back from it. The stages themselves do not change.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext};

use crate::PopulationError;

/// A session setting: keep intermediate tables as Parquet under this folder, which every node of
/// the cluster reads and writes at the same path, instead of in memory.
#[derive(Debug, Clone)]
pub struct SharedScratch {
    dir: PathBuf,
}

impl SharedScratch {
    /// Intermediate tables go in `dir`, one sub-folder per table.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder that holds the intermediate tables.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Computes `df` once and registers the result as `name`, replacing any table of that name.
pub(crate) async fn hold(
    ctx: &SessionContext,
    name: &str,
    df: DataFrame,
) -> Result<(), PopulationError> {
    let scratch = ctx.state().config().get_extension::<SharedScratch>();
    let provider = match scratch {
        None => df.cache().await?.into_view(),
        Some(scratch) => {
            let dir = scratch.dir.join(name);
            let io = |source: std::io::Error| PopulationError::Io {
                path: dir.clone(),
                source,
            };
            // A table held twice in one run (the ingest's per-table tables) replaces its files, so
            // that the second read does not see the first one's rows.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io)?;
            }
            std::fs::create_dir_all(&dir).map_err(io)?;
            // The schema is given when reading back because an empty result writes no file to
            // learn it from.
            let schema = df.schema().as_arrow().clone();
            let url = format!("{}/", dir.display());
            df.write_parquet(&url, DataFrameWriteOptions::new(), None)
                .await?;
            // An empty result writes no file, and a table of no files has no partitions, which
            // some of DataFusion's operators (a sort with a limit) refuse; one empty file gives
            // the table one empty partition, as in memory.
            if std::fs::read_dir(&dir).map_err(io)?.next().is_none() {
                let path = dir.join("empty.parquet");
                let file = std::fs::File::create(&path).map_err(io)?;
                ArrowWriter::try_new(file, Arc::new(schema.clone()), None)
                    .and_then(ArrowWriter::close)
                    .map_err(DataFusionError::from)?;
            }
            ctx.read_parquet(url, ParquetReadOptions::default().schema(&schema))
                .await?
                .into_view()
        }
    };
    ctx.deregister_table(name)?;
    ctx.register_table(name, provider)?;
    Ok(())
}
