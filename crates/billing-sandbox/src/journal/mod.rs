//! A sandbox kept in a data folder: an append-only journal of the records each call changed.
//!
//! - **Written before the call answers**: the records a call changed, in their new version, as
//!   one JSON line (one `write` of the whole line), so a call's changes are kept whole or not
//!   at all. A killed process cannot undo a write that returned; a power cut can lose the last
//!   ones unless [`SandboxConfig::sync_writes`](crate::SandboxConfig::sync_writes) is on.
//! - **Replayed at open**: lines are applied in order, so the last version of each record
//!   wins. A last line without its newline is a write the process was killed in the middle of:
//!   its call never answered, and the line is ignored. Any other unreadable line refuses to
//!   open, rather than forget payments.
//! - **Compacted at open**: the records alive (idempotency keys past Stripe's 24 hours and
//!   events past its 30 days dropped) are written to a new file, flushed to the disk and
//!   renamed over the old one, so the journal grows with what is kept, not with every call.
//!
//! One process uses a data folder at a time, as with the store's own database.

mod stored;

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::mem;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::state::{Account, Change, State, expired};
use stored::{Invalid, Record, VERSION};

/// The journal's file in the data folder.
pub const JOURNAL_FILE: &str = "sandbox-journal.jsonl";

/// How long events are kept, as Stripe keeps them.
const EVENT_LIFETIME_DAYS: i64 = 30;

/// Why a sandbox's data folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The folder or its journal could not be read or written.
    #[error("cannot use the sandbox's journal {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A line of the journal is not one this build can read (other than a last line cut off
    /// by a killed process, which is ignored).
    #[error("the sandbox's journal {path} is unreadable at line {line}: {message}")]
    Unreadable {
        /// The journal.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A record could not be written as JSON (an amount out of range).
    #[error("a sandbox record could not be written: {0}")]
    Unwritable(String),
}

/// The open journal, appended to by every call that changes a record.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    sync: bool,
}

impl Journal {
    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn append(&mut self, line: &[u8]) -> Result<(), JournalError> {
        self.file.write_all(line).map_err(|e| self.io(e))?;
        if self.sync {
            self.file.sync_data().map_err(|e| self.io(e))?;
        }
        Ok(())
    }
}

impl State {
    /// Writes the records changed since the last call to the journal (for a sandbox kept in a
    /// data folder), and starts noting changes afresh.
    pub(crate) fn flush(&mut self) -> Result<(), JournalError> {
        let touched = mem::take(&mut self.touched);
        let loose = mem::take(&mut self.loose_changes);
        let mut changes = Vec::new();
        for account in &touched {
            if let Some(found) = self.accounts.get_mut(account) {
                let mut changed = mem::take(&mut found.changes);
                if !changed.is_empty() {
                    changed.sort();
                    changed.dedup();
                    changes.push((account, changed));
                }
            }
        }
        let Some(journal) = self.journal.as_mut() else {
            return Ok(());
        };
        let mut records = Vec::new();
        for id in loose {
            records.push(match self.loose_methods.get(&id) {
                Some(method) => Record::LooseMethod {
                    method: stored::method(method),
                },
                None => Record::LooseMethodTaken { id },
            });
        }
        for (account, changed) in changes {
            if let Some(found) = self.accounts.get(account) {
                for change in changed {
                    if let Some(record) = record_of(account, found, &change)? {
                        records.push(record);
                    }
                }
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut line =
            serde_json::to_vec(&records).map_err(|e| JournalError::Unwritable(e.to_string()))?;
        line.push(b'\n');
        journal.append(&line)
    }
}

/// The record of one change, in its current version (`None` when it is gone, as a pruned key).
fn record_of(
    account: &Option<String>,
    found: &Account,
    change: &Change,
) -> Result<Option<Record>, JournalError> {
    let account = account.clone();
    let unwritable = |e: Invalid| JournalError::Unwritable(e);
    Ok(match change {
        Change::Customer(id) => found.customers.get(id).map(|c| Record::Customer {
            account,
            customer: stored::customer(c),
        }),
        Change::Method(id) => found.methods.get(id).map(|m| Record::Method {
            account,
            method: stored::method(m),
        }),
        Change::Intent(id) => match found.intents.get(id) {
            Some(intent) => Some(Record::Intent {
                account,
                intent: Box::new(stored::intent(intent).map_err(unwritable)?),
            }),
            None => None,
        },
        Change::Setup(id) => found.setups.get(id).map(|s| Record::Setup {
            account,
            setup: stored::setup(s),
        }),
        Change::Key(key) => match found.keys.get(key) {
            Some(saved) => Some(Record::Key {
                account,
                key: key.clone(),
                saved: stored::key(saved).map_err(unwritable)?,
            }),
            None => None,
        },
        Change::Event(id) => found
            .events
            .iter()
            .find(|e| &e.id == id)
            .map(|e| Record::Event {
                account,
                event: stored::event(e),
            }),
    })
}

/// Reads the journal of `dir` (made if missing) into a state, compacts it, and opens it for
/// the calls to come. `now` (the core's clock) decides which keys and events are past keeping.
pub(crate) fn open(dir: &Path, now: DateTime<Utc>, sync: bool) -> Result<State, JournalError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| JournalError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(JOURNAL_FILE);
    let mut state = State::default();
    match File::open(&path) {
        Ok(file) => replay(&path, file, &mut state)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&path)(e)),
    }
    index(&mut state);
    prune(&mut state, now);
    compact(dir, &path, &state)?;
    let file = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    state.journal = Some(Journal { file, path, sync });
    Ok(state)
}

/// Applies every complete line of the journal, in order.
fn replay(path: &Path, file: File, state: &mut State) -> Result<(), JournalError> {
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| JournalError::Io {
                path: path.to_owned(),
                source,
            })?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            // Cut off by a killed process: its call never answered.
            return Ok(());
        }
        let unreadable = |message: String| JournalError::Unreadable {
            path: path.to_owned(),
            line: number,
            message,
        };
        let records: Vec<Record> =
            serde_json::from_slice(&line).map_err(|e| unreadable(e.to_string()))?;
        for record in records {
            apply(state, record).map_err(unreadable)?;
        }
    }
}

/// Puts one record's version in place of the one before.
fn apply(state: &mut State, record: Record) -> Result<(), Invalid> {
    fn account(state: &mut State, id: Option<String>) -> &mut Account {
        state.accounts.entry(id).or_default()
    }
    match record {
        Record::Journal { version } if version == VERSION => {}
        Record::Journal { version } => {
            return Err(format!(
                "journal format {version}, this build reads {VERSION}"
            ));
        }
        Record::Customer {
            account: a,
            customer,
        } => {
            let customer = stored::from_customer(customer)?;
            account(state, a)
                .customers
                .insert(customer.id.clone(), customer);
        }
        Record::Method { account: a, method } => {
            let method = stored::from_method(method)?;
            account(state, a).methods.insert(method.id.clone(), method);
        }
        Record::Intent { account: a, intent } => {
            let intent = stored::from_intent(*intent)?;
            account(state, a).intents.insert(intent.id.clone(), intent);
        }
        Record::Setup { account: a, setup } => {
            let setup = stored::from_setup(setup);
            account(state, a).setups.insert(setup.id.clone(), setup);
        }
        Record::Key {
            account: a,
            key,
            saved,
        } => {
            account(state, a).keys.insert(key, stored::from_key(saved)?);
        }
        Record::Event { account: a, event } => {
            let event = stored::from_event(event)?;
            let events = &mut account(state, a).events;
            match events.iter_mut().find(|e| e.id == event.id) {
                Some(known) => *known = event,
                None => events.push(event),
            }
        }
        Record::LooseMethod { method } => {
            let method = stored::from_method(method)?;
            state.loose_methods.insert(method.id.clone(), method);
        }
        Record::LooseMethodTaken { id } => {
            state.loose_methods.remove(&id);
        }
    }
    Ok(())
}

/// The number an id or sequence was made from (`pi_sbx00000000000042` → 42).
fn counter_of(id: &str) -> u64 {
    id.rsplit_once("_sbx")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// Rebuilds what is derived from the records: the lookups by our ids, and the counter new ids
/// continue from.
fn index(state: &mut State) {
    let mut next = state
        .loose_methods
        .values()
        .map(|m| m.seq.max(counter_of(&m.id)))
        .max()
        .unwrap_or(0);
    for account in state.accounts.values_mut() {
        account.by_our_customer = account
            .customers
            .values()
            .map(|c| (c.ours.clone(), c.id.clone()))
            .collect();
        let mut intents: Vec<_> = account.intents.values().collect();
        intents.sort_by_key(|i| i.seq);
        account.by_our_payment.clear();
        for intent in intents {
            account
                .by_our_payment
                .entry(intent.payment.clone())
                .or_default()
                .push(intent.id.clone());
        }
        let counters = account
            .customers
            .keys()
            .chain(account.setups.keys())
            .map(|id| counter_of(id))
            .chain(
                account
                    .methods
                    .values()
                    .map(|m| m.seq.max(counter_of(&m.id))),
            )
            .chain(account.intents.values().flat_map(|i| {
                std::iter::once(i.seq.max(counter_of(&i.id)))
                    .chain(i.refunds.iter().map(|r| counter_of(&r.reference)))
            }));
        next = counters.fold(next, u64::max);
        account
            .events
            .sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    }
    state.next = next;
}

/// Drops what Stripe would have forgotten by `now`.
fn prune(state: &mut State, now: DateTime<Utc>) {
    let oldest_event = now - chrono::Duration::days(EVENT_LIFETIME_DAYS);
    for account in state.accounts.values_mut() {
        account.keys.retain(|_, saved| !expired(saved, now));
        account.events.retain(|e| e.at >= oldest_event);
    }
}

/// Writes every record alive to a new journal, flushed to the disk, and renames it over the
/// old one: a crash leaves either the old journal or the new one, never a mix.
fn compact(dir: &Path, path: &Path, state: &State) -> Result<(), JournalError> {
    let fresh = dir.join(format!("{JOURNAL_FILE}.compacting"));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| JournalError::Io { path, source }
    };
    let file = File::create(&fresh).map_err(io(&fresh))?;
    let mut out = std::io::BufWriter::new(file);
    let mut write = |record: Record| -> Result<(), JournalError> {
        let mut line =
            serde_json::to_vec(&[record]).map_err(|e| JournalError::Unwritable(e.to_string()))?;
        line.push(b'\n');
        out.write_all(&line).map_err(io(&fresh))
    };
    write(Record::Journal { version: VERSION })?;
    for method in state.loose_methods.values() {
        write(Record::LooseMethod {
            method: stored::method(method),
        })?;
    }
    for (id, account) in &state.accounts {
        let changes = account
            .customers
            .keys()
            .map(|k| Change::Customer(k.clone()))
            .chain(account.methods.keys().map(|k| Change::Method(k.clone())))
            .chain(account.intents.keys().map(|k| Change::Intent(k.clone())))
            .chain(account.setups.keys().map(|k| Change::Setup(k.clone())))
            .chain(account.keys.keys().map(|k| Change::Key(k.clone())))
            .chain(account.events.iter().map(|e| Change::Event(e.id.clone())));
        for change in changes {
            if let Some(record) = record_of(id, account, &change)? {
                write(record)?;
            }
        }
    }
    let file = out.into_inner().map_err(|e| io(&fresh)(e.into_error()))?;
    file.sync_all().map_err(io(&fresh))?;
    drop(file);
    fs::rename(&fresh, path).map_err(io(path))?;
    // The rename itself is made durable by flushing the folder; systems that cannot open a
    // folder as a file (Windows) make renames durable on their own.
    if let Ok(folder) = File::open(dir) {
        folder.sync_all().map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_from_ids() {
        assert_eq!(counter_of("pi_sbx00000000000042"), 42);
        assert_eq!(counter_of("cus_sbx00000000000007"), 7);
        assert_eq!(counter_of("pm_card_visa"), 0);
        assert_eq!(counter_of("evt_sbx00000000000003_expired"), 0);
    }
}
