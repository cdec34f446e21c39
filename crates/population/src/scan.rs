//! Reads an extract table into memory with every row numbered and the rows shared out over the
//! session's partitions, ready for the ingest checks.
//!
//! The checks name each bad row by its line (CSV) or row number (Parquet), so every row must carry
//! its number. Numbered in SQL with `row_number() OVER ()`, a table's whole checking query runs in
//! one partition, on one core. Here each row gets its number as it is read, in the
//! [`fhir_input::LINE_COLUMN`] column that the FHIR reader fills with NDJSON lines, and the rows are
//! spread over the partitions so that the checks run on every core.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::file::metadata::PageIndexPolicy;
use datafusion::physical_plan::{collect, ExecutionPlanProperties};
use datafusion::prelude::DataFrame;

use crate::fhir_input::LINE_COLUMN;
use crate::PopulationError;

/// Rows per batch read from Parquet: DataFusion's own batch size.
const BATCH_ROWS: usize = 8192;

/// `schema` with the row-number column added at the end.
fn numbered_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(LINE_COLUMN, DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// `batch` with the numbers `first..` appended as the row-number column of `schema`.
fn numbered(
    batch: &RecordBatch,
    first: i64,
    schema: &SchemaRef,
) -> Result<RecordBatch, PopulationError> {
    let n = i64::try_from(batch.num_rows()).map_err(|_| too_many_rows())?;
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(Int64Array::from_iter_values(first..first + n)));
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

fn too_many_rows() -> PopulationError {
    PopulationError::DataFusion(DataFusionError::Execution(
        "a table has more rows than a 64-bit row number holds".into(),
    ))
}

/// One worker's share of a Parquet file: the rows `start..end` (counted from 0 over the whole
/// file), as the row groups that hold them and the selection of those rows within the groups.
#[derive(Debug)]
struct Share {
    start: usize,
    end: usize,
    row_groups: Vec<usize>,
    selection: Vec<RowSelector>,
}

/// Splits `total` rows, stored in row groups of `group_rows` rows each, into `parts` contiguous
/// shares of nearly equal size. A row group may be split between two shares: a file written with
/// one large row group would otherwise be read by one worker.
fn shares(group_rows: &[usize], parts: usize) -> Vec<Share> {
    let total: usize = group_rows.iter().sum();
    let parts = parts.clamp(1, total.max(1));
    let mut out = Vec::with_capacity(parts);
    for k in 0..parts {
        let (start, end) = (total * k / parts, total * (k + 1) / parts);
        let mut share = Share {
            start,
            end,
            row_groups: Vec::new(),
            selection: Vec::new(),
        };
        let mut group_start = 0;
        for (g, &rows) in group_rows.iter().enumerate() {
            let group_end = group_start + rows;
            let (from, to) = (start.max(group_start), end.min(group_end));
            if from < to {
                share.row_groups.push(g);
                // The selection runs over the chosen row groups as if they were one: rows of a
                // group before and after the share are skipped.
                let skip_before = from - group_start;
                let skip_after = group_end - to;
                for selector in [
                    RowSelector::skip(skip_before),
                    RowSelector::select(to - from),
                    RowSelector::skip(skip_after),
                ] {
                    if selector.row_count > 0 {
                        share.selection.push(selector);
                    }
                }
            }
            group_start = group_end;
        }
        out.push(share);
    }
    out
}

/// Reads the columns of `path` named in `columns` (those the file has; the caller reports any
/// missing) into a table of `partitions` partitions, each row numbered from 1 in file order in
/// [`LINE_COLUMN`]. The row groups are read by `partitions` blocking tasks at once.
///
/// # Errors
/// An unreadable file.
pub(crate) async fn parquet(
    path: &Path,
    columns: &[&str],
    partitions: usize,
) -> Result<MemTable, PopulationError> {
    let io = |source: std::io::Error| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    // The offset index, where the file has one, lets a share that starts inside a row group skip
    // the pages before it without decompressing them.
    let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
    let meta = ArrowReaderMetadata::load(&file, options).map_err(DataFusionError::from)?;
    let wanted: Vec<usize> = meta
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| columns.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    let read_schema = meta.schema().project(&wanted)?;
    let schema = numbered_schema(&read_schema);
    let mask = ProjectionMask::roots(meta.parquet_schema(), wanted.iter().copied());
    // A file without one of the columns is refused by the caller, naming the column; its rows
    // need not be read first.
    if !columns
        .iter()
        .all(|c| read_schema.field_with_name(c).is_ok())
    {
        return Ok(MemTable::try_new(schema, vec![vec![]])?);
    }
    let group_rows: Vec<usize> = meta
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
        .collect();
    let mut tasks = Vec::new();
    for share in shares(&group_rows, partitions) {
        let (path, meta, mask, schema) = (
            path.to_path_buf(),
            meta.clone(),
            mask.clone(),
            Arc::clone(&schema),
        );
        tasks.push(tokio::task::spawn_blocking(move || {
            read_share(&path, meta, mask, share, &schema)
        }));
    }
    let mut parts = Vec::with_capacity(tasks.len());
    for task in tasks {
        let batches = task
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
        parts.push(batches);
    }
    Ok(MemTable::try_new(schema, parts)?)
}

/// Reads one share of a Parquet file, numbering its rows from `share.start + 1`.
fn read_share(
    path: &Path,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    share: Share,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, PopulationError> {
    let file = File::open(path).map_err(|source| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    let mut next = i64::try_from(share.start).map_err(|_| too_many_rows())? + 1;
    if share.start < share.end {
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
            .with_projection(mask)
            .with_row_groups(share.row_groups)
            .with_row_selection(RowSelection::from(share.selection))
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(DataFusionError::from)?;
        for batch in reader {
            let batch = numbered(&batch?, next, schema)?;
            next += i64::try_from(batch.num_rows()).map_err(|_| too_many_rows())?;
            out.push(batch);
        }
    }
    // The numbers are the diagnostics' row numbers, so a reader that returned other rows than
    // the share asked for must stop the run rather than misname rows.
    let end = i64::try_from(share.end).map_err(|_| too_many_rows())?;
    if next - 1 != end {
        return Err(PopulationError::DataFusion(DataFusionError::Internal(
            format!(
                "{} gave rows up to {} for a share that ends at row {end}",
                path.display(),
                next - 1
            ),
        )));
    }
    Ok(out)
}

/// Runs `df`, a scan of one file, in its one partition (which keeps the file's order), numbers its
/// rows from 1 in [`LINE_COLUMN`] and shares them out over `partitions` partitions. `None` when
/// the plan reads in more than one partition, whose order could not be trusted; the caller then
/// numbers the rows in SQL.
///
/// # Errors
/// A read failure.
pub(crate) async fn numbered_scan(
    df: DataFrame,
    partitions: usize,
) -> Result<Option<MemTable>, PopulationError> {
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    if plan.output_partitioning().partition_count() != 1 {
        return Ok(None);
    }
    let schema = numbered_schema(&plan.schema());
    let mut next = 1;
    let mut batches = Vec::new();
    for batch in collect(plan, task).await? {
        let batch = numbered(&batch, next, &schema)?;
        next += i64::try_from(batch.num_rows()).map_err(|_| too_many_rows())?;
        batches.push(batch);
    }
    Ok(Some(MemTable::try_new(
        Arc::clone(&schema),
        share_out(batches, partitions),
    )?))
}

/// Rows already numbered (an NDJSON table with its lines), shared out over `partitions`
/// partitions.
///
/// # Errors
/// Only if the batches do not fit their own schema, which would be a bug.
pub(crate) fn shared(batch: RecordBatch, partitions: usize) -> Result<MemTable, PopulationError> {
    Ok(MemTable::try_new(
        batch.schema(),
        share_out(vec![batch], partitions),
    )?)
}

/// `batches` cut into `parts` contiguous runs of nearly equal rows (at least one, possibly empty).
fn share_out(batches: Vec<RecordBatch>, parts: usize) -> Vec<Vec<RecordBatch>> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let parts = parts.clamp(1, total.max(1));
    let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); parts];
    // Rows before the current part's end, counted over all batches.
    let mut k = 0;
    let mut seen = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let part_end = total * (k + 1) / parts;
            let take = (batch.num_rows() - offset).min(part_end - seen);
            if take == 0 {
                k += 1;
                continue;
            }
            out[k].push(batch.slice(offset, take));
            offset += take;
            seen += take;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(share: &Share) -> Vec<(bool, usize)> {
        share
            .selection
            .iter()
            .map(|s| (s.skip, s.row_count))
            .collect()
    }

    #[test]
    fn shares_cover_every_row_once_and_split_a_large_row_group() {
        let s = shares(&[10], 2);
        assert_eq!((s[0].start, s[0].end, s[1].start, s[1].end), (0, 5, 5, 10));
        assert_eq!(rows(&s[0]), vec![(false, 5), (true, 5)]);
        assert_eq!(rows(&s[1]), vec![(true, 5), (false, 5)]);

        let s = shares(&[4, 4, 4], 2);
        assert_eq!(s[0].row_groups, vec![0, 1]);
        assert_eq!(rows(&s[0]), vec![(false, 4), (false, 2), (true, 2)]);
        assert_eq!(s[1].row_groups, vec![1, 2]);
        assert_eq!(rows(&s[1]), vec![(true, 2), (false, 2), (false, 4)]);

        // An empty file still gives one (empty) share, and a tiny one no empty shares.
        assert_eq!(shares(&[], 2).len(), 1);
        assert_eq!(shares(&[1], 2).len(), 1);
    }

    #[test]
    fn share_out_keeps_order_and_balances_rows() {
        let schema = numbered_schema(&Schema::empty());
        let batch = |first: i64, n: usize| {
            numbered(
                &RecordBatch::try_new_with_options(
                    Arc::new(Schema::empty()),
                    vec![],
                    &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
                )
                .unwrap(),
                first,
                &schema,
            )
            .unwrap()
        };
        let parts = share_out(vec![batch(1, 3), batch(4, 4), batch(8, 1)], 2);
        let lines = |p: &Vec<RecordBatch>| -> Vec<i64> {
            p.iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect()
        };
        assert_eq!(lines(&parts[0]), vec![1, 2, 3, 4]);
        assert_eq!(lines(&parts[1]), vec![5, 6, 7, 8]);
        assert_eq!(share_out(vec![], 2).len(), 1);
    }
}
