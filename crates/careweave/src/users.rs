//! `careweave user …` and `careweave organisation …`: accounts and organisations from the command
//! line, so a fresh deployment can create its first organisation and administrator before anyone
//! can sign in.

use anyhow::Context;
use careweave_domain::access::{Membership, Role};
use careweave_domain::{OrganisationKind, UserId};
use careweave_store::account_admin::AccountActor;
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
    /// Disable an account: it cannot sign in and all its sessions end at once.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Remove one role in one organisation from an account (not its only role: disable instead).
    RemoveRole {
        #[arg(long)]
        username: String,
        /// The organisation's id or exact name.
        #[arg(long)]
        organisation: String,
        #[arg(long)]
        role: String,
    },
    /// Set a new generated password, printed once, and end the account's sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// List the account's live sessions (reference, when it began and ends; never the token).
    Sessions {
        #[arg(long)]
        username: String,
    },
    /// End one session of the account (by the reference `sessions` lists) or all of them.
    EndSessions {
        #[arg(long)]
        username: String,
        /// The session's reference; without it every session ends.
        #[arg(long)]
        session: Option<String>,
    },
    /// Turn the account's multi-factor sign-in off (lost phone and recovery codes) and end its
    /// sessions; it is set up again at the next sign-in if an organisation requires it.
    ResetMfa {
        #[arg(long)]
        username: String,
    },
    /// Link the account to an identity at a configured OpenID Connect provider, by the email
    /// address the provider sends or by its subject identifier.
    LinkOidc {
        #[arg(long)]
        username: String,
        /// The provider's `key` in the settings.
        #[arg(long)]
        provider: String,
        #[arg(long, conflicts_with = "subject", required_unless_present = "subject")]
        email: Option<String>,
        #[arg(long)]
        subject: Option<String>,
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
    let store = crate::config::open_store(&settings).await?;
    store.migrate().await?;
    let by = AccountActor::CommandLine;
    match cmd {
        UserCommand::Add {
            username,
            name,
            organisation,
            role,
        } => add(&store, username, name, &organisation, &role).await,
        UserCommand::Disable { username } => {
            let id = account_id(&store, &username).await?;
            let ended = store.set_account_active(by, id, false).await?;
            println!("Disabled {username}; {ended} sessions ended.");
            Ok(())
        }
        UserCommand::Enable { username } => {
            let id = account_id(&store, &username).await?;
            store.set_account_active(by, id, true).await?;
            println!("Enabled {username}.");
            Ok(())
        }
        UserCommand::RemoveRole {
            username,
            organisation,
            role,
        } => {
            let id = account_id(&store, &username).await?;
            let role = parse_role(&role)?;
            let org = find_organisation(&store, &organisation).await?;
            store
                .remove_membership(
                    by,
                    id,
                    Membership {
                        organisation: org.id,
                        role,
                    },
                )
                .await?;
            println!("Removed {} in {} from {username}.", role.label(), org.name);
            Ok(())
        }
        UserCommand::ResetPassword { username } => {
            let id = account_id(&store, &username).await?;
            let password = careweave_store::accounts::generated_password();
            let ended = store
                .reset_password(by, id, &SecretString::from(password.clone()))
                .await?;
            println!("New password for {username} (shown once; {ended} sessions ended):");
            println!("{password}");
            Ok(())
        }
        UserCommand::Sessions { username } => {
            let id = account_id(&store, &username).await?;
            let sessions = store.account_sessions(by, id, chrono::Utc::now()).await?;
            if sessions.is_empty() {
                println!("{username} has no live sessions.");
            }
            for s in sessions {
                println!(
                    "{}\tsigned in {}\tends {}",
                    s.reference,
                    s.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    s.expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
            Ok(())
        }
        UserCommand::EndSessions { username, session } => {
            let id = account_id(&store, &username).await?;
            let ended = store.end_sessions(by, id, session.as_deref()).await?;
            println!("Ended {ended} sessions of {username}.");
            Ok(())
        }
        UserCommand::ResetMfa { username } => {
            let id = account_id(&store, &username).await?;
            store.reset_mfa(by, id).await?;
            println!("Multi-factor sign-in of {username} reset; its sessions ended.");
            Ok(())
        }
        UserCommand::LinkOidc {
            username,
            provider,
            email,
            subject,
        } => {
            anyhow::ensure!(
                settings.oidc_providers.iter().any(|p| p.key == provider),
                "no provider with key {provider:?} is configured (oidc_providers)"
            );
            let id = account_id(&store, &username).await?;
            let (claim, value) = match (email, subject) {
                (Some(email), _) => (careweave_store::oidc::LinkClaim::Email, email),
                (None, Some(subject)) => (careweave_store::oidc::LinkClaim::Subject, subject),
                (None, None) => anyhow::bail!("give --email or --subject"),
            };
            store.link_oidc(by, id, &provider, claim, &value).await?;
            println!("Linked {username} to provider {provider}.");
            Ok(())
        }
    }
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    Role::from_code(role).with_context(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
        format!("unknown role {role:?}: use one of {}", known.join(", "))
    })
}

async fn account_id(store: &careweave_store::Store, username: &str) -> anyhow::Result<UserId> {
    store
        .user_by_username(username)
        .await?
        .with_context(|| format!("no account with username {username:?}"))
}

async fn add(
    store: &careweave_store::Store,
    username: String,
    name: String,
    organisation: &str,
    role: &str,
) -> anyhow::Result<()> {
    let role = parse_role(role)?;
    // The same rules as the web form's.
    let username = careweave_domain::account::username(&username)
        .map_err(|message| anyhow::anyhow!("{message}"))?;
    anyhow::ensure!(!name.trim().is_empty(), "the account needs a name");
    let org = find_organisation(store, organisation).await?;
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
    careweave_domain::account::password(&password, &[&username, &name])
        .map_err(|message| anyhow::anyhow!("{message}"))?;
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
