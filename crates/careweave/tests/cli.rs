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
