//! How a plan that reads careweave's in-memory tables travels to the scheduler and executors.
//!
//! The engine keeps its small tables (the codelists, the score tables, the empty typed tables
//! of a missing extract file) in memory, and Ballista's own codec cannot send an in-memory
//! table. This codec sends such a table's rows inside the plan as Arrow IPC and hands every other
//! table and node to Ballista's codec unchanged. The large intermediate tables never go this way:
//! on a cluster the engine writes them to the shared scratch folder as Parquet
//! (`careweave_population::SharedScratch`).

use std::sync::Arc;

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

/// The first byte of an encoded table says which codec wrote the rest.
const BALLISTA: u8 = 0;
const MEMORY: u8 = 1;

/// The logical codec of every careweave node: in-memory tables as Arrow IPC, the rest through
/// Ballista's codec.
#[derive(Debug, Default)]
pub struct CareweaveLogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

fn memory_to_ipc(table: &MemTable, buf: &mut Vec<u8>) -> Result<()> {
    let schema = table.schema();
    let mut writer = StreamWriter::try_new(&mut *buf, &schema)?;
    for partition in &table.batches {
        // The engine never writes into these tables once a run has started, so the lock is free;
        // a held lock would be a bug worth a clear error rather than a wait.
        let batches = partition.try_read().map_err(|_| {
            DataFusionError::Internal("an in-memory table was being written while sent".into())
        })?;
        for batch in batches.iter() {
            writer.write(batch)?;
        }
    }
    writer.finish()?;
    Ok(())
}

fn memory_from_ipc(buf: &[u8], schema: SchemaRef) -> Result<MemTable> {
    let reader = StreamReader::try_new(buf, None)?;
    let batches = reader.collect::<std::result::Result<Vec<RecordBatch>, _>>()?;
    // The rows travel as one partition: these tables are small, and the scheduler spreads the
    // joins that read them across the executors.
    MemTable::try_new(schema, vec![batches])
}

impl LogicalExtensionCodec for CareweaveLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.split_first() {
            Some((&MEMORY, rest)) => Ok(Arc::new(memory_from_ipc(rest, schema)?)),
            Some((&BALLISTA, rest)) => self
                .ballista
                .try_decode_table_provider(rest, table_ref, schema, ctx),
            _ => Err(DataFusionError::Internal(format!(
                "table {table_ref} arrived without careweave's codec marker"
            ))),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if let Some(memory) = node.downcast_ref::<MemTable>() {
            buf.push(MEMORY);
            return memory_to_ipc(memory, buf);
        }
        buf.push(BALLISTA);
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn an_in_memory_table_arrives_with_every_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["E11", "I10"])),
                Arc::new(Int64Array::from(vec![Some(1), None])),
            ],
        )
        .unwrap();
        let table = Arc::new(MemTable::try_new(schema.clone(), vec![vec![batch.clone()]]).unwrap());
        let codec = CareweaveLogicalCodec::default();
        let mut buf = Vec::new();
        codec
            .try_encode_table_provider(&TableReference::bare("t"), table, &mut buf)
            .unwrap();
        let back = codec
            .try_decode_table_provider(
                &buf,
                &TableReference::bare("t"),
                schema,
                &TaskContext::default(),
            )
            .unwrap();
        let back = back.downcast_ref::<MemTable>().unwrap();
        let rows = back.batches[0].try_read().unwrap().clone();
        assert_eq!(rows, vec![batch]);
    }
}
