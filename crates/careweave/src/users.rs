//! `careweave user …`: account maintenance from the command line, for the first administrator.

use anyhow::Context;
use careweave_domain::access::{Membership, Role};
use careweave_store::accounts::NewUser;
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
    let org = store
        .organisations()
        .await?
        .into_iter()
        .find(|o| o.id.get().to_string() == organisation || o.name == organisation)
        .with_context(|| format!("no organisation with id or name {organisation:?}"))?;
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
