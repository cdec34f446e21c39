//! Writing the dataset: Parquet, CSV and FHIR NDJSON, streamed chunk by chunk, atomically.
//!
//! A multi-place extract ([`write_places`]) is written the same way one place at a time, so memory
//! holds one place, in Parquet only: `parquet/<table>/place-NNNN.parquet`, a folder per table that
//! DataFusion reads as one table.
//!
//! Worker threads generate chunks of people and format them (CSV bytes, Arrow batches, NDJSON
//! lines); the calling thread appends the chunks to the files strictly in chunk order, so the bytes
//! do not depend on thread timing. At most a few chunks are in flight, so memory stays flat however
//! many people are generated. Everything goes to a hidden sibling directory that is renamed to the
//! requested name only after `manifest.json`, written last, is on disk.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::fhir::{self, FhirBuf, RESOURCES};
use crate::history::{self, year_ends, Context};
use crate::identifiers::{IdentifierCursor, UNISSUABLE_SCHEME};
use crate::population::{self, Labels, Population, ETHNIC_CATEGORIES};
use crate::tables::{self, TableBuf, PERSON_TABLES, PLACE_TABLES, V};
use crate::{names, PlacesConfig, SynthConfig, SynthError, GENERATOR_VERSION};

/// The version of the extract schema in `docs/extract-schema.md`; bump it on any change of columns.
pub const SCHEMA_VERSION: u32 = 1;

/// People per chunk: big enough to amortise the per-chunk work, small enough to keep memory flat.
const CHUNK: usize = 2_000;

/// How [`write_dataset`] behaves beyond the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace an existing non-empty output directory instead of refusing.
    pub overwrite: bool,
    /// Draw a progress bar on stderr (it stays hidden when stderr is not a terminal).
    pub progress: bool,
}

/// What was written: the contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub schema_version: u32,
    pub generator_version: String,
    pub seed: u64,
    pub profile: String,
    pub people: u32,
    pub extract_date: String,
    pub history_start: String,
    /// Rows per table (the same in `parquet/<table>.parquet` and `csv/<table>.csv`).
    pub table_rows: BTreeMap<String, u64>,
    /// Lines per FHIR resource type (`fhir/<Type>.ndjson`).
    pub fhir_resources: BTreeMap<String, u64>,
    /// The planted intervention's truth (effects, window, episodes), when one was planted.
    pub intervention: Option<serde_json::Value>,
    /// The identifier scheme of a multi-place extract ([`UNISSUABLE_SCHEME`]); `None` when the
    /// people have NHS numbers from the 999 test range.
    pub identifiers: Option<String>,
    /// The places of a multi-place extract, in order; empty for a single-place one.
    pub places: Vec<PlaceSummary>,
}

/// One place of a multi-place extract, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceSummary {
    /// The place's number, from 1, as in its files' names (`place-0001.parquet`).
    pub place: u32,
    /// The seed its neighbourhood was generated from.
    pub seed: u64,
    pub people: u32,
    /// Its people have `person_id` `first_person_id` to `first_person_id + people - 1`.
    pub first_person_id: i64,
    pub practices: usize,
    pub pcns: usize,
    pub lsoas: usize,
}

impl Manifest {
    fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "generator": "careweave-synth",
            "generator_version": self.generator_version,
            "schema_version": self.schema_version,
            "seed": self.seed,
            "profile": self.profile,
            "people": self.people,
            "extract_date": self.extract_date,
            "history_start": self.history_start,
            "tables": self.table_rows,
            "fhir": self.fhir_resources,
        });
        if let Some(truth) = &self.intervention {
            json["intervention"] = truth.clone();
        }
        if let Some(scheme) = &self.identifiers {
            json["identifiers"] = scheme.as_str().into();
            json["identifiers_note"] = "synthetic people: nhs_number holds identifiers whose first nine digits have no modulus-11 check digit, so none is or can ever be a real NHS number (docs/extract-schema.md)".into();
            json["formats"] = serde_json::json!(["parquet"]);
            json["layout"] = "parquet/<table>/place-NNNN.parquet".into();
            json["places"] = self
                .places
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "place": p.place,
                        "seed": p.seed,
                        "people": p.people,
                        "first_person_id": p.first_person_id,
                        "practices": p.practices,
                        "pcns": p.pcns,
                        "lsoas": p.lsoas,
                    })
                })
                .collect();
        }
        json
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses an output path that is a file, or a non-empty directory unless overwriting is allowed.
fn check_output(out: &Path, overwrite: bool) -> Result<(), SynthError> {
    match fs::metadata(out) {
        Ok(m) if !m.is_dir() => Err(SynthError::OutputIsFile(out.to_path_buf())),
        Ok(_) => {
            let mut entries = fs::read_dir(out).map_err(io(out))?;
            if entries.next().is_some() && !overwrite {
                Err(SynthError::OutputNotEmpty(out.to_path_buf()))
            } else {
                Ok(())
            }
        }
        Err(_) => Ok(()),
    }
}

/// One table's files: CSV and Parquet, or Parquet alone for a place of a multi-place extract.
struct TableFiles {
    csv: Option<BufWriter<File>>,
    parquet: ArrowWriter<BufWriter<File>>,
    rows: u64,
}

/// A formatted chunk, ready to append.
struct Chunk {
    csv: Vec<Vec<u8>>,
    batches: Vec<arrow_array::RecordBatch>,
    fhir: FhirBuf,
    /// `exposures.csv` rows of the planted episodes (empty without an intervention).
    exposures: String,
    episodes: u64,
    people: usize,
}

/// Writes the dataset for `config` into `out_dir` and returns its manifest.
///
/// Nothing is written when the arguments are refused (`out_dir` is a file, or a non-empty directory
/// without `options.overwrite`); on any later failure the temporary directory is removed, so a
/// directory named `out_dir` with a `manifest.json` is always complete.
pub fn write_dataset(
    config: &SynthConfig,
    out_dir: &Path,
    options: &WriteOptions,
) -> Result<Manifest, SynthError> {
    atomically(out_dir, options, |tmp| write_into(config, tmp, options))
}

/// Writes the multi-place extract for `config` into `out_dir` and returns its manifest: one place
/// at a time, each a neighbourhood of its own with codes no other place uses, in Parquet only
/// (`parquet/<table>/place-NNNN.parquet`), its people identified by the synthetic unissuable
/// scheme and the manifest saying so. CSV and FHIR are not written: at this size they would be
/// several times the Parquet's size and no reader needs them.
///
/// Refusals and clean-up are as for [`write_dataset`].
pub fn write_places(
    config: &PlacesConfig,
    out_dir: &Path,
    options: &WriteOptions,
) -> Result<Manifest, SynthError> {
    atomically(out_dir, options, |tmp| {
        write_places_into(config, tmp, options)
    })
}

/// Runs `write` into a hidden sibling of `out_dir` and renames it to `out_dir` when it succeeds.
fn atomically(
    out_dir: &Path,
    options: &WriteOptions,
    write: impl FnOnce(&Path) -> Result<Manifest, SynthError>,
) -> Result<Manifest, SynthError> {
    check_output(out_dir, options.overwrite)?;
    let name = out_dir
        .file_name()
        .map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    let result = write(&tmp);
    match result {
        Ok(manifest) => {
            if out_dir.exists() {
                fs::remove_dir_all(out_dir).map_err(io(out_dir))?;
            }
            fs::rename(&tmp, out_dir).map_err(io(out_dir))?;
            Ok(manifest)
        }
        Err(e) => {
            // Best effort: the error that stopped the run matters more than a failed clean-up.
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

fn create(path: PathBuf) -> Result<BufWriter<File>, SynthError> {
    let f = File::create(&path).map_err(io(&path))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

/// Opens a table's files: `csv/<table>.csv` and `parquet/<table>.parquet` for a single place, or
/// only `parquet/<table>/place-NNNN.parquet` for place `NNNN` (from 1) of a multi-place extract.
fn open_table(
    dir: &Path,
    spec: &'static tables::TableSpec,
    place: Option<u32>,
) -> Result<TableFiles, SynthError> {
    let csv = match place {
        None => {
            let mut csv = create(dir.join("csv").join(format!("{}.csv", spec.name)))?;
            let header = tables::csv_header(spec)?;
            csv.write_all(&header).map_err(io(dir))?;
            Some(csv)
        }
        Some(_) => None,
    };
    let pq_path = match place {
        None => dir.join("parquet").join(format!("{}.parquet", spec.name)),
        Some(p) => dir
            .join("parquet")
            .join(spec.name)
            .join(format!("place-{p:04}.parquet")),
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("careweave-synth {GENERATOR_VERSION}"))
        .build();
    let pq = create(pq_path)?;
    let parquet = ArrowWriter::try_new(pq, TableBuf::schema(spec), Some(props))?;
    Ok(TableFiles {
        csv,
        parquet,
        rows: 0,
    })
}

fn append(
    files: &mut TableFiles,
    csv: &[u8],
    batch: &arrow_array::RecordBatch,
    dir: &Path,
) -> Result<(), SynthError> {
    if let Some(f) = files.csv.as_mut() {
        f.write_all(csv).map_err(io(dir))?;
    }
    if batch.num_rows() > 0 {
        files.parquet.write(batch)?;
    }
    files.rows += batch.num_rows() as u64;
    Ok(())
}

fn close(files: TableFiles, dir: &Path) -> Result<u64, SynthError> {
    if let Some(mut csv) = files.csv {
        csv.flush().map_err(io(dir))?;
    }
    files.parquet.close()?;
    Ok(files.rows)
}

/// Where one place's people and households sit in the extract, and what is written for them.
#[derive(Debug, Default)]
struct PlaceIds {
    /// People of earlier places: a person's `person_id` is this plus their index plus 1.
    person_offset: i64,
    /// Households of earlier places, likewise.
    household_offset: i64,
    /// Each person's identifier of the synthetic unissuable scheme, in person order; `None` for a
    /// single-place extract, whose people keep their test-range NHS numbers.
    identifiers: Option<Vec<String>>,
    /// Whether CSV and FHIR are made too (single-place extracts only).
    all_formats: bool,
}

fn place_tables(pop: &Population, household_offset: i64) -> Vec<TableBuf<'_>> {
    let mut out: Vec<TableBuf<'_>> = PLACE_TABLES.iter().map(|s| TableBuf::new(s)).collect();
    for p in &pop.pcns {
        out[0].push(&[V::S(p.code.as_str()), V::S(&p.name)]);
    }
    for p in &pop.practices {
        out[1].push(&[
            V::S(p.ods_code.as_str()),
            V::S(&p.name),
            V::S(pop.pcns[p.pcn].code.as_str()),
            V::S(p.postcode.as_str()),
            V::F(p.latitude),
            V::F(p.longitude),
        ]);
    }
    for l in &pop.lsoas {
        out[2].push(&[
            V::S(l.code.as_str()),
            V::S(&l.name),
            V::I(i64::from(l.imd_decile.get())),
            V::I(i64::from(l.imd_decile.quintile().get())),
            V::F(l.latitude),
            V::F(l.longitude),
        ]);
    }
    for p in &pop.postcodes {
        out[3].push(&[
            V::S(p.postcode.as_str()),
            V::S(pop.lsoas[p.lsoa].code.as_str()),
            V::F(p.latitude),
            V::F(p.longitude),
        ]);
    }
    for (i, h) in pop.households.iter().enumerate() {
        out[4].push(&[
            V::I(household_offset + i as i64 + 1),
            V::S(h.kind.name()),
            V::S(pop.postcodes[h.postcode as usize].postcode.as_str()),
            V::S(pop.lsoas[h.lsoa as usize].code.as_str()),
            V::I(i64::from(h.size)),
        ]);
    }
    out
}

/// Generates and formats the people `range` of the population.
fn make_chunk(
    config: &SynthConfig,
    pop: &Population,
    ids: &PlaceIds,
    range: std::ops::Range<usize>,
) -> Result<Chunk, SynthError> {
    let mut t: Vec<TableBuf<'_>> = PERSON_TABLES.iter().map(|s| TableBuf::new(s)).collect();
    let mut fhir = FhirBuf::default();
    let mut exposures = careweave_csv::Writer::new();
    let mut episodes = 0;
    let ends = year_ends(config);
    let mut nhs_digits: Vec<String> = Vec::with_capacity(range.len());
    for i in range.clone() {
        nhs_digits.push(match &ids.identifiers {
            Some(list) => list[i].clone(),
            None => pop.people[i].nhs_number.as_digits(),
        });
    }
    for i in range.clone() {
        let ctx = Context::of(pop, i as u32);
        let h = history::history(config, &ctx);
        let p = &pop.people[i];
        let hh = &pop.households[p.household as usize];
        let id = ids.person_offset + i as i64 + 1;
        t[0].push(&[
            V::I(id),
            V::S(&nhs_digits[i - range.start]),
            V::S(names::given(p.name_group, p.sex, p.given)),
            V::S(names::family(p.name_group, p.family)),
            V::D(p.date_of_birth),
            V::S(p.sex.code()),
            V::S(ETHNIC_CATEGORIES[usize::from(p.ethnicity)].0),
            V::S(pop.postcodes[hh.postcode as usize].postcode.as_str()),
            V::S(pop.lsoas[hh.lsoa as usize].code.as_str()),
            V::S(pop.practices[usize::from(p.practice)].ods_code.as_str()),
            V::I(ids.household_offset + i64::from(p.household) + 1),
            V::D(p.registration),
            V::ND(h.clinical.date_of_death),
        ]);
        let c = &h.clinical;
        for r in &c.conditions {
            t[1].push(&[
                V::I(id),
                V::S(r.condition.name()),
                V::S(r.snomed().0),
                V::D(r.onset),
            ]);
        }
        for r in &c.social_needs {
            t[2].push(&[
                V::I(id),
                V::S(r.need.name()),
                V::S(r.need.snomed().0),
                V::D(r.recorded),
            ]);
        }
        for r in &c.frailty_deficits {
            t[3].push(&[
                V::I(id),
                V::S(r.deficit.name()),
                V::NS(r.deficit.snomed().map(|s| s.0)),
                V::D(r.recorded),
            ]);
        }
        let mut medications = Vec::with_capacity(ends.len());
        for (end, n) in ends.iter().zip(c.repeat_medications) {
            let alive = c.date_of_death.is_none_or(|d| d >= *end);
            if *end >= p.date_of_birth && *end >= p.registration && alive {
                t[4].push(&[V::I(id), V::D(*end), V::I(i64::from(n))]);
                medications.push((*end, n));
            }
        }
        let e = &h.events;
        for a in &e.gp_appointments {
            t[5].push(&[V::I(id), V::D(a.date), V::S(a.staff), V::B(a.attended)]);
        }
        for a in &e.ae_attendances {
            t[6].push(&[V::I(id), V::D(a.date), V::B(a.admitted)]);
        }
        for (k, a) in e.admissions.iter().enumerate() {
            // Admission ids are unique and stable: the person's id and the admission's ordinal.
            let adm = id * 1_000 + k as i64;
            t[7].push(&[
                V::I(adm),
                V::I(id),
                V::D(a.admitted),
                V::D(a.discharged),
                V::S(if a.emergency { "emergency" } else { "elective" }),
                V::I(a.bed_days()),
                V::S(a.diagnoses[0]),
            ]);
            for (pos, code) in a.diagnoses.iter().enumerate() {
                t[8].push(&[V::I(adm), V::I(pos as i64 + 1), V::S(code)]);
            }
        }
        for o in &e.outpatients {
            t[9].push(&[
                V::I(id),
                V::D(o.date),
                V::S(o.treatment_function),
                V::B(o.attended),
            ]);
        }
        for x in &e.community_contacts {
            t[10].push(&[V::I(id), V::D(x.date), V::S(x.service)]);
        }
        for x in &e.mental_health_contacts {
            t[11].push(&[V::I(id), V::D(x.date), V::S(x.service)]);
        }
        if let Some(episode) = &h.episode {
            exposures.record(crate::intervention::exposure_row(
                &nhs_digits[i - range.start],
                episode,
            ));
            episodes += 1;
        }
        if ids.all_formats {
            fhir::person(pop, &ctx, &h, &medications, &mut fhir).map_err(|source| {
                SynthError::Io {
                    path: "<fhir buffer>".into(),
                    source,
                }
            })?;
        }
    }
    let csv = if ids.all_formats {
        t.iter()
            .map(TableBuf::to_csv)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let batches = t
        .iter()
        .map(TableBuf::to_batch)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Chunk {
        csv,
        batches,
        fhir,
        exposures: exposures.finish(),
        episodes,
        people: range.len(),
    })
}

/// Where the people of one place go: their tables' files, and for a single place the FHIR files
/// and the planted episodes.
struct PersonSinks {
    tables: Vec<TableFiles>,
    /// One file per FHIR resource type; empty for a place of a multi-place extract.
    fhir: Vec<BufWriter<File>>,
    fhir_counts: [u64; 6],
    exposures: Option<BufWriter<File>>,
    episodes: u64,
}

/// A progress bar over `n` people, hidden unless asked for.
fn progress_bar(n: u64, options: &WriteOptions) -> indicatif::ProgressBar {
    let bar = if options.progress {
        indicatif::ProgressBar::with_draw_target(Some(n), indicatif::ProgressDrawTarget::stderr())
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} people ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Generates every person of `pop` on worker threads and appends them to `sinks` in order.
fn stream_people(
    config: &SynthConfig,
    pop: &Population,
    ids: &PlaceIds,
    sinks: &mut PersonSinks,
    dir: &Path,
    bar: &indicatif::ProgressBar,
) -> Result<(), SynthError> {
    let n = pop.people.len();
    let chunks = n.div_ceil(CHUNK);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    std::thread::scope(|s| {
        // A bounded channel keeps at most a few formatted chunks waiting for the writer.
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<Chunk, SynthError>)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let range = c * CHUNK..((c + 1) * CHUNK).min(n);
                if tx.send((c, make_chunk(config, pop, ids, range))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Chunk> = BTreeMap::new();
        let mut want = 0;
        let mut outcome = Ok(());
        for (c, chunk) in rx {
            match chunk {
                Ok(chunk) => {
                    pending.insert(c, chunk);
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
            while let Some(chunk) = pending.remove(&want) {
                let mut step = || -> Result<(), SynthError> {
                    for (k, files) in sinks.tables.iter_mut().enumerate() {
                        let csv = chunk.csv.get(k).map_or(&[][..], Vec::as_slice);
                        append(files, csv, &chunk.batches[k], dir)?;
                    }
                    for (k, f) in sinks.fhir.iter_mut().enumerate() {
                        f.write_all(&chunk.fhir.lines[k]).map_err(io(dir))?;
                        sinks.fhir_counts[k] += chunk.fhir.counts[k];
                    }
                    if let Some(f) = sinks.exposures.as_mut() {
                        f.write_all(chunk.exposures.as_bytes()).map_err(io(dir))?;
                    }
                    sinks.episodes += chunk.episodes;
                    Ok(())
                };
                if let Err(e) = step() {
                    outcome = Err(e);
                    break;
                }
                bar.inc(chunk.people as u64);
                want += 1;
            }
            if outcome.is_err() {
                break;
            }
        }
        // Tell the workers to stop early if the writer failed: dropping the receiver ends their sends.
        next.store(chunks, Ordering::Relaxed);
        outcome
    })
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), SynthError> {
    let path = dir.join("manifest.json");
    let mut f = create(path.clone())?;
    serde_json::to_writer_pretty(&mut f, &manifest.to_json())?;
    f.write_all(b"\n").map_err(io(&path))?;
    f.flush().map_err(io(&path))?;
    Ok(())
}

fn write_into(
    config: &SynthConfig,
    dir: &Path,
    options: &WriteOptions,
) -> Result<Manifest, SynthError> {
    for sub in ["csv", "parquet", "fhir"] {
        let p = dir.join(sub);
        fs::create_dir_all(&p).map_err(io(&p))?;
    }
    let pop = population::build(config)?;
    let n = pop.people.len();
    let mut table_rows = BTreeMap::new();

    for buf in place_tables(&pop, 0) {
        let mut files = open_table(dir, buf.spec, None)?;
        append(&mut files, &buf.to_csv()?, &buf.to_batch()?, dir)?;
        table_rows.insert(buf.spec.name.to_owned(), close(files, dir)?);
    }
    let tables = PERSON_TABLES
        .iter()
        .map(|s| open_table(dir, s, None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fhir_files = RESOURCES
        .iter()
        .map(|r| create(dir.join("fhir").join(format!("{r}.ndjson"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fhir_counts = [0u64; 6];
    let mut orgs = FhirBuf::default();
    fhir::organisations(&pop, &mut orgs).map_err(io(dir))?;
    fhir_files[0].write_all(&orgs.lines[0]).map_err(io(dir))?;
    fhir_counts[0] = orgs.counts[0];
    // Planted episodes go to `exposures.csv` beside the manifest, in the layout a deployment supplies.
    let exposures = match config.intervention() {
        Some(_) => {
            let mut f = create(dir.join("exposures.csv"))?;
            let header = careweave_csv::Writer::with_header(crate::EXPOSURE_COLUMNS).finish();
            f.write_all(header.as_bytes()).map_err(io(dir))?;
            Some(f)
        }
        None => None,
    };
    let mut sinks = PersonSinks {
        tables,
        fhir: fhir_files,
        fhir_counts,
        exposures,
        episodes: 0,
    };
    let bar = progress_bar(n as u64, options);
    let ids = PlaceIds {
        all_formats: true,
        ..PlaceIds::default()
    };
    stream_people(config, &pop, &ids, &mut sinks, dir, &bar)?;
    bar.finish_and_clear();

    for (spec, files) in PERSON_TABLES.iter().zip(sinks.tables) {
        table_rows.insert(spec.name.to_owned(), close(files, dir)?);
    }
    for mut f in sinks.fhir.into_iter().chain(sinks.exposures) {
        f.flush().map_err(io(dir))?;
    }
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        generator_version: GENERATOR_VERSION.to_owned(),
        seed: config.seed(),
        profile: config.profile().name().to_owned(),
        people: config.people(),
        extract_date: config.extract_date().to_string(),
        history_start: config.history_start().to_string(),
        table_rows,
        fhir_resources: RESOURCES
            .iter()
            .zip(sinks.fhir_counts)
            .map(|(r, c)| ((*r).to_owned(), c))
            .collect(),
        intervention: config
            .intervention()
            .map(|plan| crate::intervention::truth_json(&plan, sinks.episodes)),
        identifiers: None,
        places: Vec::new(),
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

fn write_places_into(
    config: &PlacesConfig,
    dir: &Path,
    options: &WriteOptions,
) -> Result<Manifest, SynthError> {
    for spec in PLACE_TABLES.iter().chain(PERSON_TABLES.iter()) {
        let p = dir.join("parquet").join(spec.name);
        fs::create_dir_all(&p).map_err(io(&p))?;
    }
    let mut table_rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut add_rows =
        |name: &str, rows: u64| *table_rows.entry(name.to_owned()).or_default() += rows;
    let mut cursor = IdentifierCursor::new();
    let mut places = Vec::new();
    let (mut person_offset, mut household_offset) = (0i64, 0i64);
    let (mut lsoa_offset, mut district_offset) = (0u32, 0u32);
    let bar = progress_bar(config.people(), options);
    let mut first_config = None;
    for p in 0..config.places() {
        let place_config = config.place_config(p)?;
        let labels = Labels {
            place: Some(p + 1),
            lsoa_offset,
            district_offset,
        };
        // Only this place's people are in memory; the previous place's were dropped with its files.
        let pop = population::build_labelled(&place_config, &labels)?;
        let file_no = p + 1;
        for buf in place_tables(&pop, household_offset) {
            let mut files = open_table(dir, buf.spec, Some(file_no))?;
            append(&mut files, &[], &buf.to_batch()?, dir)?;
            add_rows(buf.spec.name, close(files, dir)?);
        }
        let identifiers = (0..pop.people.len())
            .map(|_| cursor.next_identifier())
            .collect::<Option<Vec<_>>>()
            .ok_or(SynthError::TooManyForExtract {
                requested: i64::try_from(config.people()).unwrap_or(i64::MAX),
                max: crate::MAX_EXTRACT_PEOPLE,
            })?;
        let ids = PlaceIds {
            person_offset,
            household_offset,
            identifiers: Some(identifiers),
            all_formats: false,
        };
        let tables = PERSON_TABLES
            .iter()
            .map(|s| open_table(dir, s, Some(file_no)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sinks = PersonSinks {
            tables,
            fhir: Vec::new(),
            fhir_counts: [0; 6],
            exposures: None,
            episodes: 0,
        };
        stream_people(&place_config, &pop, &ids, &mut sinks, dir, &bar)?;
        for (spec, files) in PERSON_TABLES.iter().zip(sinks.tables) {
            add_rows(spec.name, close(files, dir)?);
        }
        places.push(PlaceSummary {
            place: file_no,
            seed: place_config.seed(),
            people: place_config.people(),
            first_person_id: person_offset + 1,
            practices: pop.practices.len(),
            pcns: pop.pcns.len(),
            lsoas: pop.lsoas.len(),
        });
        person_offset += pop.people.len() as i64;
        household_offset += pop.households.len() as i64;
        lsoa_offset += pop.lsoas.len() as u32;
        district_offset += population::district_count(place_config.people()) as u32;
        first_config.get_or_insert(place_config);
    }
    bar.finish_and_clear();
    let history_start = first_config
        .map(|c| c.history_start().to_string())
        .unwrap_or_default();
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        generator_version: GENERATOR_VERSION.to_owned(),
        seed: config.seed(),
        profile: config.profile().name().to_owned(),
        people: u32::try_from(config.people()).unwrap_or(u32::MAX),
        extract_date: config.extract_date().to_string(),
        history_start,
        table_rows,
        fhir_resources: BTreeMap::new(),
        intervention: None,
        identifiers: Some(UNISSUABLE_SCHEME.to_owned()),
        places,
    };
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}
