//! The command line as a deployment uses it on a fresh database: add the first organisation and
//! administrator, load a postcode table and a directory spreadsheet with deliberately bad rows,
//! re-import without duplicating, and export. Runs the real binary on a temporary SQLite file.

use std::path::Path;
use std::process::{Command, Output};

fn careweave(db: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_careweave"));
    cmd.args(args)
        .env(
            "CAREWEAVE_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("RUST_LOG", "warn")
        .env_remove("CAREWEAVE_NEW_PASSWORD");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        return child.wait_with_output().expect("the binary runs");
    }
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

const POSTCODES: &str = "pcds,lat,long,lsoa21\n\
QX1 1AA,53.8001,-1.5501,E01900001\n\
QX1 1AB,53.8012,-1.5522,E01900001\n\
NOT A POSTCODE,53.8,-1.5,E01900001\n\
QX1 1AD,99.999999,0.000000,E01900001\n";

fn spreadsheet(second_name: &str) -> String {
    format!(
        "id,organization_id,organization_name,name,description,needs,opening_times,postcode\n\
         svc-1,org-1,Kelderby Food Bank,Food parcels,Emergency food,food,\"TU,TH 10:00-13:00\",QX1 1AA\n\
         svc-2,org-1,Kelderby Food Bank,{second_name},Debt and benefits advice,debt-advice,WE 09:00-17:00,QX1 1AB\n\
         svc-3,org-2,Nowhere Group,Lost,Has a postcode not in the table,food,,QX9 9ZZ\n\
         svc-4,org-2,Nowhere Group,Backwards,Closes before it opens,befriending,MO 17:00-09:00,QX1 1AA\n"
    )
}

#[test]
fn a_fresh_deployment_is_set_up_and_its_directory_loaded_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("careweave.db");

    // An unknown kind is refused with the list of known ones.
    let bad = careweave(
        &db,
        &[
            "organisation",
            "add",
            "--name",
            "Kelderby PCN",
            "--kind",
            "club",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("gp_practice"),
        "{}",
        text(&bad.stderr)
    );

    let added = ok(&careweave(
        &db,
        &[
            "organisation",
            "add",
            "--name",
            "Kelderby PCN",
            "--kind",
            "pcn",
        ],
        None,
    ));
    assert!(added.contains("Kelderby PCN"), "{added}");
    let listed = ok(&careweave(&db, &["organisation", "list"], None));
    assert!(listed.contains("pcn\tKelderby PCN"), "{listed}");

    // The first administrator, with the password on standard input (never on the command line).
    let user = ok(&careweave(
        &db,
        &[
            "user",
            "add",
            "--username",
            "admin@kelderby.example",
            "--name",
            "First Admin",
            "--organisation",
            "Kelderby PCN",
            "--role",
            "admin",
        ],
        Some("a long enough password\n"),
    ));
    assert!(user.contains("Kelderby PCN"), "{user}");

    // Postcodes: two good rows, two reported with their line, and the counts reconcile.
    let postcodes = dir.path().join("onspd.csv");
    std::fs::write(&postcodes, POSTCODES).unwrap();
    let loaded = careweave(
        &db,
        &["directory", "postcodes", postcodes.to_str().unwrap()],
        None,
    );
    let out = ok(&loaded);
    assert!(
        out.contains("Read 4 rows: 2 accepted, 2 rejected."),
        "{out}"
    );
    let err = text(&loaded.stderr);
    assert!(err.contains("onspd.csv: line 4"), "{err}");
    assert!(err.contains("onspd.csv: line 5"), "{err}");

    // A spreadsheet with a postcode outside the table and impossible opening times: the good
    // services are kept and each bad one is reported with its line.
    let sheet = dir.path().join("directory.csv");
    std::fs::write(&sheet, spreadsheet("Money advice")).unwrap();
    let args = [
        "directory",
        "import",
        sheet.to_str().unwrap(),
        "--owner",
        "Kelderby PCN",
    ];
    let imported = careweave(&db, &args, None);
    let out = ok(&imported);
    assert!(
        out.contains("Read 4 records: 2 accepted (2 added, 0 updated), 2 rejected."),
        "{out}"
    );
    let err = text(&imported.stderr);
    assert!(err.contains("directory.csv: line 4"), "{err}");
    assert!(err.contains("directory.csv: line 5"), "{err}");

    // Importing again with a change updates by stable id rather than duplicating.
    std::fs::write(&sheet, spreadsheet("Money and benefits advice")).unwrap();
    let again = ok(&careweave(&db, &args, None));
    assert!(again.contains("(0 added, 2 updated)"), "{again}");

    // Another organisation may not overwrite the entries Kelderby PCN keeps: each is refused with
    // the name of its keeper, and the counts still reconcile.
    ok(&careweave(
        &db,
        &[
            "organisation",
            "add",
            "--name",
            "Other Trust",
            "--kind",
            "vcse",
        ],
        None,
    ));
    std::fs::write(&sheet, spreadsheet("Taken over")).unwrap();
    let other = careweave(
        &db,
        &[
            "directory",
            "import",
            sheet.to_str().unwrap(),
            "--owner",
            "Other Trust",
        ],
        None,
    );
    let out = ok(&other);
    assert!(
        out.contains("Read 4 records: 0 accepted (0 added, 0 updated), 4 rejected."),
        "{out}"
    );
    let err = text(&other.stderr);
    assert!(
        err.contains("directory.csv: line 3 (svc-2), id: this service is kept by Kelderby PCN"),
        "{err}"
    );

    let feed = ok(&careweave(&db, &["directory", "export"], None));
    let json: serde_json::Value = serde_json::from_str(&feed).expect("the export is JSON");
    let names: Vec<&str> = json
        .as_array()
        .expect("an array of services")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["Food parcels", "Money and benefits advice"]);

    // A file whose format cannot be told from its name is refused before anything is read.
    let odd = dir.path().join("directory.txt");
    std::fs::write(&odd, "whatever").unwrap();
    let refused = careweave(
        &db,
        &[
            "directory",
            "import",
            odd.to_str().unwrap(),
            "--owner",
            "Kelderby PCN",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--format"));
}

/// Runs the binary against the database at `url` (a `sqlite://` URL).
fn careweave_at(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careweave"))
        .args(args)
        .env("CAREWEAVE_DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// An information governance officer exports Ada's records for a subject access request: the
/// folder holds a readable summary that flags what to review and one JSON file per record type,
/// and the audit log records the export. The retention dry run lists every type and purges
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_subject_access_bundle_is_written_and_retention_is_listed() {
    use careweave_store::testing::{cross_employer_case, TestDatabase};
    let db = TestDatabase::new(careweave_store::Backend::Sqlite).await;
    cross_employer_case(&db.store, "correct horse battery staple").await;
    let url = db.url.redacted();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("sar");
    let out_arg = out.display().to_string();
    let export = |extra: &[&str]| {
        let mut args = vec![
            "person",
            "export",
            "--nhs-number",
            "943 476 5919",
            "--out",
            &out_arg,
            "--reason",
            "SAR 2026/001",
        ];
        args.extend_from_slice(extra);
        careweave_at(&url, &args)
    };
    let printed = ok(&export(&["--by", "lead@test"]));
    assert!(printed.contains("sections to"), "{printed}");
    let summary = std::fs::read_to_string(out.join("README.md")).expect("the summary");
    assert!(
        summary.starts_with("# Information held about Ada Example"),
        "{summary}"
    );
    assert!(summary.contains("- NHS number: 943 476 5919"), "{summary}");
    assert!(summary.contains("- Exported by: Test lead"), "{summary}");
    assert!(summary.contains("## Safeguarding concerns"), "{summary}");
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cases.json")).expect("cases.json"))
            .expect("JSON");
    assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
    assert_eq!(cases[0]["status"], "open");
    let log: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("access_log.json")).expect("access_log.json"),
    )
    .expect("JSON");
    let last = log.as_array().and_then(|l| l.last()).expect("an entry");
    assert_eq!(last["action"], "export");
    assert_eq!(last["who"], "Test lead");
    assert_eq!(last["reason"], "subject access request: SAR 2026/001");

    // The same folder again is refused rather than mixed; so is an unknown account or number.
    let again = export(&[]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("is not empty"),
        "{}",
        text(&again.stderr)
    );
    std::fs::remove_dir_all(&out).expect("clear the folder");
    let nobody = export(&["--by", "nobody@test"]);
    assert!(
        text(&nobody.stderr).contains("no account"),
        "{}",
        text(&nobody.stderr)
    );
    let unknown = careweave_at(
        &url,
        &[
            "person",
            "export",
            "--nhs-number",
            "999 000 0018",
            "--out",
            &out_arg,
            "--reason",
            "x",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no person"),
        "{}",
        text(&unknown.stderr)
    );

    let dry = ok(&careweave_at(&url, &["retention", "purge", "--dry-run"]));
    assert!(dry.contains("closed_cases\twould purge 0"), "{dry}");
    assert!(dry.contains("nothing was changed"), "{dry}");
}

#[test]
fn access_is_taken_away_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("careweave.db");
    ok(&careweave(
        &db,
        &[
            "organisation",
            "add",
            "--name",
            "Kelderby PCN",
            "--kind",
            "pcn",
        ],
        None,
    ));
    let add = |username: &str, role: &str, password: &str| {
        careweave(
            &db,
            &[
                "user",
                "add",
                "--username",
                username,
                "--name",
                "Ada Example",
                "--organisation",
                "Kelderby PCN",
                "--role",
                role,
            ],
            Some(password),
        )
    };
    // The web form's rules: an email address, and a password that is not easy to guess.
    let no_at = add("ada", "worker", "copper kettle marching north\n");
    assert!(!no_at.status.success());
    assert!(text(&no_at.stderr).contains("email address"));
    let weak = add("ada@kelderby.example", "worker", "password1234\n");
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("too easy to guess"));
    let spaces = add("ada@kelderby.example", "worker", "            \n");
    assert!(text(&spaces.stderr).contains("not only spaces"));
    ok(&add(
        "ada@kelderby.example",
        "worker",
        "copper kettle marching north\n",
    ));
    ok(&add(
        "boss@kelderby.example",
        "admin",
        "copper kettle marching north\n",
    ));
    let user = |args: &[&str]| {
        let mut all = vec!["user"];
        all.extend_from_slice(args);
        careweave(&db, &all, None)
    };
    let ada = ["--username", "ada@kelderby.example"];
    assert!(ok(&user(&[&["sessions"][..], &ada].concat())).contains("no live sessions"));
    assert!(ok(&user(&[&["disable"][..], &ada].concat())).contains("Disabled"));
    assert!(ok(&user(&[&["enable"][..], &ada].concat())).contains("Enabled"));
    let reset = ok(&user(&[&["reset-password"][..], &ada].concat()));
    let password = reset.lines().last().unwrap();
    assert_eq!(password.len(), 24, "{reset}");
    assert!(ok(&user(&[&["end-sessions"][..], &ada].concat())).contains("Ended 0 sessions"));
    let removed = user(
        &[
            &["remove-role"][..],
            &ada,
            &["--organisation", "Kelderby PCN", "--role", "worker"],
        ]
        .concat(),
    );
    // Ada's only role is not removed: disabling the account is how all access is taken away.
    assert!(!removed.status.success());
    assert!(text(&removed.stderr).contains("only role"));
    // The only admin of the organisation is not disabled, and an unknown account is named.
    let last = user(&["disable", "--username", "boss@kelderby.example"]);
    assert!(!last.status.success());
    assert!(text(&last.stderr).contains("no active administrator"));
    let unknown = user(&["disable", "--username", "nobody@kelderby.example"]);
    assert!(text(&unknown.stderr).contains("no account"));
}
