//! Plain-Rust building blocks for the hand-written baselines (no timely, no differential).
//!
//! Written independently of the engine on purpose: the baselines are the oracle the engine
//! is tested against, so they share no window, epoch or close code with it. Window bounds
//! come from the definitions here (an epoch `e` holds the event times
//! `[e * epoch_ms, (e + 1) * epoch_ms)`; a window is complete at the first epoch that holds
//! none of its times), never from the engine's helpers.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::hash::Hash;

use reprise_datasets::nexmark::{Auction, Bid, Event};
use reprise_engine::window::TumblingWindow;
use reprise_engine::{Clock, Epoch, EpochConfig};
use rustc_hash::FxHashMap;

use crate::nexmark::winning_bids::Valid;

/// The first epoch that starts at or after `time_ms`: from there on no event time below
/// `time_ms` arrives in order, so a window of times `< time_ms` is complete.
pub fn first_epoch_from(time_ms: u64, epoch_ms: u64) -> Epoch {
    match time_ms {
        0 => 0,
        t => (t - 1) / epoch_ms + 1,
    }
}

/// The first epoch that starts after `time_ms`: a window holding times up to and including
/// `time_ms` (a session, an auction until its expiry) is complete there.
pub fn first_epoch_after(time_ms: u64, epoch_ms: u64) -> Epoch {
    first_epoch_from(time_ms.saturating_add(1), epoch_ms)
}

/// The first epoch after the window starting at `start_ms`, `size_ms` long, accepting
/// events `lateness_ms` late: the window is complete there, and retracted.
fn window_closes_at(start_ms: u64, size_ms: u64, lateness_ms: u64, epoch_ms: u64) -> Epoch {
    first_epoch_from(
        start_ms.saturating_add(size_ms).saturating_add(lateness_ms),
        epoch_ms,
    )
}

/// The time windows see for an event of `epoch`: its own time, or under the processing
/// clock the start of the epoch it arrived in (Flink's PROCTIME).
pub fn window_time(epochs: &EpochConfig, event_time_ms: u64, epoch: Epoch) -> u64 {
    match epochs.clock {
        Clock::Event => event_time_ms,
        Clock::Processing => epoch.saturating_mul(epochs.epoch_ms),
    }
}

/// Per tumbling window and key, a running sum, emitted as a collection of
/// `(window_start, key, sum)` that changes at every epoch and is retracted at the window's
/// close (its end plus lateness, rounded up to an epoch).
#[derive(Debug)]
pub struct WindowedSums<K> {
    size_ms: u64,
    lateness_ms: u64,
    epoch_ms: u64,
    sums: BTreeMap<u64, FxHashMap<K, i64>>,
    /// The value each key had when the current epoch began, for keys changed in it.
    before: FxHashMap<(u64, K), i64>,
    epoch: Option<Epoch>,
    /// Events dropped because their window had closed.
    pub late: u64,
}

impl<K: Clone + Hash + Eq> WindowedSums<K> {
    /// Sums over windows of `size_ms`, accepting events `lateness_ms` late.
    pub fn new(size_ms: u64, lateness_ms: u64, epoch_ms: u64) -> Self {
        Self {
            size_ms,
            lateness_ms,
            epoch_ms,
            sums: BTreeMap::new(),
            before: FxHashMap::default(),
            epoch: None,
            late: 0,
        }
    }

    fn closes_at(&self, start: u64) -> Epoch {
        window_closes_at(start, self.size_ms, self.lateness_ms, self.epoch_ms)
    }

    /// Adds `value` for `key` at event time `time_ms`, in epoch `epoch` (never decreasing).
    pub fn add(
        &mut self,
        epoch: Epoch,
        key: K,
        time_ms: u64,
        value: i64,
        emit: &mut impl FnMut(Epoch, u64, &K, i64, i64),
    ) {
        self.advance(epoch, emit);
        let start = time_ms / self.size_ms * self.size_ms;
        if self.closes_at(start) <= epoch {
            self.late += 1;
            return;
        }
        let window = self.sums.entry(start).or_default();
        let sum = window.entry(key.clone()).or_insert(0);
        self.before.entry((start, key)).or_insert(*sum);
        *sum += value;
    }

    /// Moves to `epoch`: emits the changes of the epoch before, and retracts every window
    /// that closes at or before `epoch`. `emit(epoch, window, key, sum, diff)`.
    pub fn advance(&mut self, epoch: Epoch, emit: &mut impl FnMut(Epoch, u64, &K, i64, i64)) {
        let Some(current) = self.epoch else {
            self.epoch = Some(epoch);
            return;
        };
        if epoch <= current {
            return;
        }
        for ((start, key), old) in self.before.drain() {
            let window = self.sums.get_mut(&start).expect("changed windows are open");
            let new = window.get(&key).copied().unwrap_or(0);
            if old != new {
                if old != 0 {
                    emit(current, start, &key, old, -1);
                }
                if new != 0 {
                    emit(current, start, &key, new, 1);
                }
            }
            if new == 0 {
                window.remove(&key);
            }
        }
        while let Some((&start, _)) = self.sums.first_key_value() {
            let close = self.closes_at(start);
            if close > epoch {
                break;
            }
            for (key, sum) in self.sums.remove(&start).unwrap_or_default() {
                emit(close, start, &key, sum, -1);
            }
        }
        self.epoch = Some(epoch);
    }

    /// Ends the input: emits the last epoch's changes and retracts every open window.
    pub fn finish(&mut self, emit: &mut impl FnMut(Epoch, u64, &K, i64, i64)) {
        self.advance(Epoch::MAX, emit);
    }

    /// The current sum of every key in window `start`, if the window is open.
    pub fn window(&self, start: u64) -> Option<&FxHashMap<K, i64>> {
        self.sums.get(&start)
    }
}

/// The baseline of a per-key count over tumbling windows: `keys(event, count)` calls
/// `count(key, time_ms)` once for every occurrence the event contributes, and
/// `record(window_start, key, count)` makes the output record.
pub fn count_per_window<E, K: Clone + Hash + Eq, R>(
    window: &TumblingWindow,
    epochs: &EpochConfig,
    events: &mut dyn Iterator<Item = (Epoch, E)>,
    mut keys: impl FnMut(&E, &mut dyn FnMut(K, u64)),
    record: impl Fn(u64, &K, i64) -> R,
    emit: &mut dyn FnMut(Epoch, &R, i64),
) {
    let mut counts = WindowedSums::new(window.size_ms, window.lateness_ms, epochs.epoch_ms);
    let mut out =
        |epoch, start, key: &K, count, diff| emit(epoch, &record(start, key, count), diff);
    for (epoch, event) in events {
        counts.advance(epoch, &mut out);
        keys(&event, &mut |key, time_ms| {
            counts.add(epoch, key, window_time(epochs, time_ms, epoch), 1, &mut out)
        });
    }
    counts.finish(&mut out);
}

/// Per-window state whose output rows are a function of the state: emits, at the end of
/// each epoch, the rows of every window the epoch changed (the old rows retracted, the new
/// ones inserted), and retracts a window's rows at its close. For baselines whose output
/// depends on a whole window (shares of a total, the window's maximum), not one key.
pub struct WindowedRows<S, R, F> {
    size_ms: u64,
    lateness_ms: u64,
    epoch_ms: u64,
    rows: F,
    windows: BTreeMap<u64, S>,
    /// Each window changed in the current epoch, with its rows before the epoch.
    before: FxHashMap<u64, Vec<(R, i64)>>,
    epoch: Option<Epoch>,
}

impl<S, R, F> std::fmt::Debug for WindowedRows<S, R, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WindowedRows({} open windows)", self.windows.len())
    }
}

impl<S: Default, R, F: Fn(u64, &S) -> Vec<(R, i64)>> WindowedRows<S, R, F> {
    /// Windows of `size_ms` (starts are multiples of the slide, given per update), closing
    /// `lateness_ms` after their end; `rows(start, state)` lists a window's output rows.
    pub fn new(size_ms: u64, lateness_ms: u64, epoch_ms: u64, rows: F) -> Self {
        Self {
            size_ms,
            lateness_ms,
            epoch_ms,
            rows,
            windows: BTreeMap::new(),
            before: FxHashMap::default(),
            epoch: None,
        }
    }

    fn closes_at(&self, start: u64) -> Epoch {
        window_closes_at(start, self.size_ms, self.lateness_ms, self.epoch_ms)
    }

    /// Changes window `start` at `epoch` (epochs never decrease), unless it has closed.
    pub fn update(
        &mut self,
        epoch: Epoch,
        start: u64,
        change: impl FnOnce(&mut S),
        emit: &mut dyn FnMut(Epoch, &R, i64),
    ) {
        self.advance(epoch, emit);
        if self.closes_at(start) <= epoch {
            return;
        }
        let state = self.windows.entry(start).or_default();
        self.before
            .entry(start)
            .or_insert_with(|| (self.rows)(start, state));
        change(state);
    }

    /// Moves to `epoch`: emits the changes of the epoch before, and retracts every window
    /// that closes at or before `epoch`.
    pub fn advance(&mut self, epoch: Epoch, emit: &mut dyn FnMut(Epoch, &R, i64)) {
        let Some(now) = self.epoch.filter(|now| epoch > *now) else {
            self.epoch = self.epoch.or(Some(epoch));
            return;
        };
        for (start, old) in self.before.drain() {
            old.iter().for_each(|(row, n)| emit(now, row, -n));
            (self.rows)(start, &self.windows[&start])
                .iter()
                .for_each(|(row, n)| emit(now, row, *n));
        }
        while let Some((&start, _)) = self.windows.first_key_value() {
            let close = self.closes_at(start);
            if close > epoch {
                break;
            }
            let state = self
                .windows
                .remove(&start)
                .expect("the first window exists");
            (self.rows)(start, &state)
                .iter()
                .for_each(|(row, n)| emit(close, row, -n));
        }
        self.epoch = Some(epoch);
    }

    /// Ends the input: emits the last epoch's changes and retracts every open window.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Epoch, &R, i64)) {
        self.advance(Epoch::MAX, emit);
    }
}

/// What an [`AuctionBook`] reports.
#[derive(Debug)]
pub enum BookChange<'a> {
    /// An auction's best bid changed at `epoch` (`old` is `None` for its first one).
    Best {
        /// The epoch.
        epoch: Epoch,
        /// The auction.
        auction: &'a Auction,
        /// Its best bid before.
        old: Option<&'a Bid>,
        /// Its best bid now.
        new: &'a Bid,
    },
    /// An auction closed at `epoch` with this best bid.
    Closed {
        /// The closing epoch.
        epoch: Epoch,
        /// The auction.
        auction: &'a Auction,
        /// Its winning bid.
        best: &'a Bid,
    },
}

/// Nexmark auctions and their best bids, in plain Rust, by the rules of
/// [`crate::nexmark::winning_bids`]: each epoch's closes and expiries first, then its
/// auctions in order, then its bids.
#[derive(Debug)]
pub struct AuctionBook {
    epochs: EpochConfig,
    valid: Valid,
    /// Open auctions by id: the auction, its closing epoch, its best bid.
    open: FxHashMap<u64, (Auction, Epoch, Option<Bid>)>,
    /// Bids whose auction has not arrived, with the epoch they expire at.
    waiting: Vec<(Epoch, Bid)>,
    /// The current epoch's events.
    current: Option<(Epoch, Vec<Auction>, Vec<Bid>)>,
}

impl AuctionBook {
    /// An empty book; `valid` filters bids beyond the id and time range.
    pub fn new(epochs: EpochConfig, valid: Valid) -> Self {
        Self {
            epochs,
            valid,
            open: FxHashMap::default(),
            waiting: Vec::new(),
            current: None,
        }
    }

    /// Runs a whole input through a new book, reporting every change.
    pub fn run(
        epochs: EpochConfig,
        valid: Valid,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        report: &mut dyn FnMut(BookChange),
    ) {
        let mut book = Self::new(epochs, valid);
        for (epoch, event) in events {
            book.push(epoch, event, report);
        }
        book.finish(report);
    }

    /// Adds an event of `epoch` (epochs never decrease).
    pub fn push(&mut self, epoch: Epoch, event: Event, report: &mut dyn FnMut(BookChange)) {
        if self.current.as_ref().is_some_and(|(e, _, _)| *e != epoch) {
            self.process(report);
        }
        let (_, auctions, bids) = self
            .current
            .get_or_insert_with(|| (epoch, Vec::new(), Vec::new()));
        match event {
            Event::Auction(auction) => auctions.push(*auction),
            Event::Bid(bid) => bids.push(bid),
            Event::Person(_) => {}
        }
    }

    /// Ends the input: processes the last epoch and closes every open auction.
    pub fn finish(&mut self, report: &mut dyn FnMut(BookChange)) {
        self.process(report);
        self.close_until(Epoch::MAX, report);
    }

    fn close_until(&mut self, epoch: Epoch, report: &mut dyn FnMut(BookChange)) {
        let mut due: Vec<(Epoch, u64)> = self
            .open
            .iter()
            .filter(|(_, (_, close, _))| *close <= epoch)
            .map(|(id, (_, close, _))| (*close, *id))
            .collect();
        due.sort_unstable();
        for (close, id) in due {
            let (auction, _, best) = self.open.remove(&id).expect("listed above");
            if let Some(best) = &best {
                report(BookChange::Closed {
                    epoch: close,
                    auction: &auction,
                    best,
                });
            }
        }
        self.waiting.retain(|(expiry, _)| *expiry > epoch);
    }

    fn process(&mut self, report: &mut dyn FnMut(BookChange)) {
        let Some((epoch, mut auctions, bids)) = self.current.take() else {
            return;
        };
        self.close_until(epoch, report);
        let valid = self.valid;
        // The definition: a bid counts for its auction from the auction's time to its
        // expiry, both included; the highest price wins, then the earliest, then the
        // lowest bidder, then the whole bid.
        let counts = |auction: &Auction, bid: &Bid| {
            bid.auction == auction.id
                && (auction.date_time..=auction.expires).contains(&bid.date_time)
                && valid(auction, bid)
        };
        fn rank(bid: &Bid) -> (Reverse<u64>, u64, u64, &Bid) {
            (Reverse(bid.price), bid.date_time, bid.bidder, bid)
        }
        let beats =
            |bid: &Bid, best: &Option<Bid>| best.as_ref().is_none_or(|b| rank(bid) < rank(b));
        let epoch_ms = self.epochs.epoch_ms;
        let mut before: BTreeMap<u64, Option<Bid>> = BTreeMap::new();
        auctions.sort_unstable();
        for auction in auctions {
            // Closed once no epoch can hold a time up to its expiry.
            let close = first_epoch_after(auction.expires, epoch_ms);
            if close <= epoch {
                continue; // late: closed on arrival
            }
            if self.open.contains_key(&auction.id) {
                continue;
            }
            let mut best: Option<Bid> = None;
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|(_, bid)| bid.auction == auction.id);
            self.waiting = rest;
            for (_, bid) in mine {
                if counts(&auction, &bid) && beats(&bid, &best) {
                    best = Some(bid);
                }
            }
            if best.is_some() {
                before.insert(auction.id, None);
            }
            self.open.insert(auction.id, (auction, close, best));
        }
        for bid in bids {
            match self.open.get_mut(&bid.auction) {
                Some((auction, _, best)) => {
                    if counts(auction, &bid) && beats(&bid, best) {
                        before.entry(auction.id).or_insert_with(|| best.clone());
                        *best = Some(bid);
                    }
                }
                None => {
                    // Its auction can no longer arrive in time once its own time has passed.
                    let expiry = first_epoch_after(bid.date_time, epoch_ms);
                    // A bid past its own expiry can no longer meet its auction: late.
                    if expiry > epoch {
                        self.waiting.push((expiry, bid));
                    }
                }
            }
        }
        for (id, old) in &before {
            let (auction, _, best) = &self.open[id];
            report(BookChange::Best {
                epoch,
                auction,
                old: old.as_ref(),
                new: best.as_ref().expect("a changed auction has a best bid"),
            });
        }
    }
}

/// A key's output row from its window's start, the key and its state.
type RowOf<K, S, R> = Box<dyn Fn(u64, &K, &S) -> R>;

/// Per tumbling window and key, a state whose output row is a function of it: emits, at
/// the end of each epoch, the row of every `(window, key)` the epoch changed (the old row
/// retracted, the new one inserted), and retracts a window's rows at its close (its end
/// plus lateness, rounded up to an epoch). For per-key statistics (Nexmark q15-q17).
pub struct KeyedWindows<K, S, R> {
    size_ms: u64,
    lateness_ms: u64,
    epoch_ms: u64,
    row: RowOf<K, S, R>,
    windows: BTreeMap<u64, FxHashMap<K, S>>,
    /// Each `(window, key)` changed in the current epoch, with its row before it.
    before: FxHashMap<(u64, K), Option<R>>,
    epoch: Option<Epoch>,
}

impl<K, S, R> std::fmt::Debug for KeyedWindows<K, S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyedWindows({} open windows)", self.windows.len())
    }
}

impl<K: Clone + Hash + Eq, S: Default, R: PartialEq> KeyedWindows<K, S, R> {
    /// Windows of `size_ms` closing `lateness_ms` after their end; `row(start, key, state)`
    /// is a key's output row.
    pub fn new(
        size_ms: u64,
        lateness_ms: u64,
        epoch_ms: u64,
        row: impl Fn(u64, &K, &S) -> R + 'static,
    ) -> Self {
        Self {
            size_ms,
            lateness_ms,
            epoch_ms,
            row: Box::new(row),
            windows: BTreeMap::new(),
            before: FxHashMap::default(),
            epoch: None,
        }
    }

    fn closes_at(&self, start: u64) -> Epoch {
        window_closes_at(start, self.size_ms, self.lateness_ms, self.epoch_ms)
    }

    /// Changes the state of `key` in the window holding `time_ms`, at `epoch` (epochs never
    /// decrease), unless that window has closed.
    pub fn update(
        &mut self,
        epoch: Epoch,
        time_ms: u64,
        key: K,
        change: impl FnOnce(&mut S),
        emit: &mut dyn FnMut(Epoch, &R, i64),
    ) {
        self.advance(epoch, emit);
        let start = time_ms - time_ms % self.size_ms;
        if self.closes_at(start) <= epoch {
            return;
        }
        let keys = self.windows.entry(start).or_default();
        let row = &self.row;
        self.before
            .entry((start, key.clone()))
            .or_insert_with(|| keys.get(&key).map(|state| row(start, &key, state)));
        change(keys.entry(key).or_default());
    }

    /// Moves to `epoch`: emits the changes of the epoch before, and retracts every window
    /// that closes at or before `epoch`.
    pub fn advance(&mut self, epoch: Epoch, emit: &mut dyn FnMut(Epoch, &R, i64)) {
        let Some(now) = self.epoch.filter(|now| epoch > *now) else {
            self.epoch = self.epoch.or(Some(epoch));
            return;
        };
        for ((start, key), old) in self.before.drain() {
            let new = (self.row)(start, &key, &self.windows[&start][&key]);
            if old.as_ref() != Some(&new) {
                if let Some(old) = old {
                    emit(now, &old, -1);
                }
                emit(now, &new, 1);
            }
        }
        while let Some((&start, _)) = self.windows.first_key_value() {
            let close = self.closes_at(start);
            if close > epoch {
                break;
            }
            for (key, state) in self.windows.remove(&start).unwrap_or_default() {
                emit(close, &(self.row)(start, &key, &state), -1);
            }
        }
        self.epoch = Some(epoch);
    }

    /// Ends the input: emits the last epoch's changes and retracts every open window.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Epoch, &R, i64)) {
        self.advance(Epoch::MAX, emit);
    }
}

/// `yyyy-MM-dd` of `time_ms` (UTC) by the Gregorian calendar's rules, counted out: whole
/// 400-year cycles (each 146,097 days), then years, then months. Independent of the
/// queries' closed-form calendar (`nexmark::date`).
pub fn calendar_day(time_ms: u64) -> String {
    let is_leap = |year: u64| {
        (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
    };
    let mut days = time_ms / (24 * 60 * 60 * 1000);
    let mut year = 1970 + days / 146_097 * 400;
    days %= 146_097;
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let february = if is_leap(year) { 29 } else { 28 };
    let mut month = 1;
    for length in [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    format!("{year:04}-{month:02}-{:02}", days + 1)
}

/// `HH:mm` of `time_ms` (UTC).
pub fn calendar_time(time_ms: u64) -> String {
    let minutes = time_ms / 60_000;
    format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
}
