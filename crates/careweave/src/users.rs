//! `careweave user …` and `careweave organisation …`: accounts and organisations from the command
//! line, so a fresh deployment can create its first organisation and administrator before anyone
//! can sign in.

use anyhow::Context;
use careweave_domain::access::{Membership, Role};
use careweave_domain::OrganisationKind;
use careweave_store::accounts::NewUser;
use careweave_store::people::NewOrganisation;
use clap::Subcommand;
use secrecy::SecretString;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account with one role in one organisation. The password is read from the
    /// CAREWEAVE_NEW_PASSWORD environment variable or, failing that, from standard input, so it
    /// never appears in the shell history or the process list.
    Add {
        /// The sign-in name (an email address).
        #[arg(long)]
        username: String,
        /// The name shown in the service.
        #[arg(long)]
        name: String,
        /// The organisation's id or exact name.
        #[arg(long)]
        organisation: String,
        /// One of: admin, worker, supervisor, referrer, analyst, commissioner.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrganisationCommand {
    /// Add an organisation (a GP practice, the PCN, a voluntary organisation, the council…).
    Add {
        /// Its name as people know it.
        #[arg(long)]
        name: String,
        /// One of: gp_practice, pcn, vcse, council, nhs_trust, icb.
        #[arg(long)]
        kind: String,
        /// Its ODS code, when it has one.
        #[arg(long)]
        ods_code: Option<String>,
    },
    /// List organisations with their ids.
    List,
}

pub async fn run_organisation(
    settings: careweave_web::Settings,
    cmd: OrganisationCommand,
) -> anyhow::Result<()> {
    let store = crate::config::open_store(&settings).await?;
    store.migrate().await?;
    match cmd {
        OrganisationCommand::Add {
            name,
            kind,
            ods_code,
        } => {
            let kind = OrganisationKind::from_code(&kind).with_context(|| {
                let known: Vec<&str> = OrganisationKind::ALL.iter().map(|k| k.code()).collect();
                format!("unknown kind {kind:?}: use one of {}", known.join(", "))
            })?;
            let ods_code = ods_code
                .map(|c| c.parse::<careweave_domain::OdsCode>())
                .transpose()
                .context("that is not an ODS code")?;
            anyhow::ensure!(!name.trim().is_empty(), "the organisation needs a name");
            let id = store
                .insert_organisation(&NewOrganisation {
                    name: name.trim().to_owned(),
                    kind,
                    ods_code,
                    place: None,
                })
                .await?;
            println!(
                "Added organisation {id}: {} ({}).",
                name.trim(),
                kind.label()
            );
        }
        OrganisationCommand::List => {
            for o in store.organisations().await? {
                println!("{}\t{}\t{}", o.id, o.kind.code(), o.name);
            }
        }
    }
    Ok(())
}

pub async fn run(settings: careweave_web::Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        username,
        name,
        organisation,
        role,
    } = cmd;
    let role = Role::from_code(&role).with_context(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
        format!("unknown role {role:?}: use one of {}", known.join(", "))
    })?;
    let store = crate::config::open_store(&settings).await?;
    store.migrate().await?;
    let org = find_organisation(&store, &organisation).await?;
    let password = match std::env::var("CAREWEAVE_NEW_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("could not read the password")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    anyhow::ensure!(
        password.chars().count() >= 12,
        "the password must be 12 characters or more"
    );
    let id = store
        .create_user(NewUser {
            username,
            display_name: name,
            password: SecretString::from(password),
            memberships: vec![Membership {
                organisation: org.id,
                role,
            }],
        })
        .await?;
    println!("Created user {id} as {} in {}.", role.label(), org.name);
    Ok(())
}

/// The organisation a command names by its id or exact name.
pub async fn find_organisation(
    store: &careweave_store::Store,
    id_or_name: &str,
) -> anyhow::Result<careweave_domain::Organisation> {
    store
        .organisations()
        .await?
        .into_iter()
        .find(|o| o.id.get().to_string() == id_or_name || o.name == id_or_name)
        .with_context(|| format!("no organisation with id or name {id_or_name:?}"))
}
