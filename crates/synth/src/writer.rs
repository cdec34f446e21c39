//! Writing the dataset: Parquet, CSV and FHIR NDJSON, streamed chunk by chunk, atomically.
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
use crate::population::{self, Population, ETHNIC_CATEGORIES};
use crate::tables::{self, TableBuf, PERSON_TABLES, PLACE_TABLES, V};
use crate::{names, SynthConfig, SynthError, GENERATOR_VERSION};

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

/// One table's two files.
struct TableFiles {
    csv: BufWriter<File>,
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
    let result = write_into(config, &tmp, options);
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

fn open_table(dir: &Path, spec: &'static tables::TableSpec) -> Result<TableFiles, SynthError> {
    let mut csv = create(dir.join("csv").join(format!("{}.csv", spec.name)))?;
    let header = tables::csv_header(spec)?;
    csv.write_all(&header).map_err(io(dir))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("careweave-synth {GENERATOR_VERSION}"))
        .build();
    let pq = create(dir.join("parquet").join(format!("{}.parquet", spec.name)))?;
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
    files.csv.write_all(csv).map_err(io(dir))?;
    if batch.num_rows() > 0 {
        files.parquet.write(batch)?;
    }
    files.rows += batch.num_rows() as u64;
    Ok(())
}

fn close(files: TableFiles, dir: &Path) -> Result<u64, SynthError> {
    let mut csv = files.csv;
    csv.flush().map_err(io(dir))?;
    files.parquet.close()?;
    Ok(files.rows)
}

fn place_tables(pop: &Population) -> Vec<TableBuf<'_>> {
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
            V::I(i as i64 + 1),
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
    range: std::ops::Range<usize>,
) -> Result<Chunk, SynthError> {
    let mut t: Vec<TableBuf<'_>> = PERSON_TABLES.iter().map(|s| TableBuf::new(s)).collect();
    let mut fhir = FhirBuf::default();
    let mut exposures = careweave_csv::Writer::new();
    let mut episodes = 0;
    let ends = year_ends(config);
    let mut nhs_digits: Vec<String> = Vec::with_capacity(range.len());
    for i in range.clone() {
        nhs_digits.push(pop.people[i].nhs_number.as_digits());
    }
    for i in range.clone() {
        let ctx = Context::of(pop, i as u32);
        let h = history::history(config, &ctx);
        let p = &pop.people[i];
        let hh = &pop.households[p.household as usize];
        let id = i as i64 + 1;
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
            V::I(i64::from(p.household) + 1),
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
        fhir::person(pop, &ctx, &h, &medications, &mut fhir).map_err(|source| SynthError::Io {
            path: "<fhir buffer>".into(),
            source,
        })?;
    }
    let csv = t
        .iter()
        .map(TableBuf::to_csv)
        .collect::<Result<Vec<_>, _>>()?;
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

    for buf in place_tables(&pop) {
        let mut files = open_table(dir, buf.spec)?;
        append(&mut files, &buf.to_csv()?, &buf.to_batch()?, dir)?;
        table_rows.insert(buf.spec.name.to_owned(), close(files, dir)?);
    }
    let mut person_files = PERSON_TABLES
        .iter()
        .map(|s| open_table(dir, s))
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
    let mut exposures = match config.intervention() {
        Some(_) => {
            let mut f = create(dir.join("exposures.csv"))?;
            let header = careweave_csv::Writer::with_header(crate::EXPOSURE_COLUMNS).finish();
            f.write_all(header.as_bytes()).map_err(io(dir))?;
            Some(f)
        }
        None => None,
    };
    let mut episodes = 0u64;

    let bar = if options.progress {
        indicatif::ProgressBar::with_draw_target(
            Some(n as u64),
            indicatif::ProgressDrawTarget::stderr(),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} people ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );

    let chunks = n.div_ceil(CHUNK);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    let written: Result<(), SynthError> = std::thread::scope(|s| {
        // A bounded channel keeps at most a few formatted chunks waiting for the writer.
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<Chunk, SynthError>)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let (pop, next) = (&pop, &next);
            s.spawn(move || loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let range = c * CHUNK..((c + 1) * CHUNK).min(n);
                if tx.send((c, make_chunk(config, pop, range))).is_err() {
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
                    for (k, files) in person_files.iter_mut().enumerate() {
                        append(files, &chunk.csv[k], &chunk.batches[k], dir)?;
                    }
                    for (k, f) in fhir_files.iter_mut().enumerate() {
                        f.write_all(&chunk.fhir.lines[k]).map_err(io(dir))?;
                        fhir_counts[k] += chunk.fhir.counts[k];
                    }
                    if let Some(f) = exposures.as_mut() {
                        f.write_all(chunk.exposures.as_bytes()).map_err(io(dir))?;
                    }
                    episodes += chunk.episodes;
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
    });
    written?;
    bar.finish_and_clear();

    for (spec, files) in PERSON_TABLES.iter().zip(person_files) {
        table_rows.insert(spec.name.to_owned(), close(files, dir)?);
    }
    for mut f in fhir_files.into_iter().chain(exposures) {
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
            .zip(fhir_counts)
            .map(|(r, c)| ((*r).to_owned(), c))
            .collect(),
        intervention: config
            .intervention()
            .map(|plan| crate::intervention::truth_json(&plan, episodes)),
    };
    let path = dir.join("manifest.json");
    let mut f = create(path.clone())?;
    serde_json::to_writer_pretty(&mut f, &manifest.to_json())?;
    f.write_all(b"\n").map_err(io(&path))?;
    f.flush().map_err(io(&path))?;
    Ok(manifest)
}
