//! The best bid of each auction: the join of auctions and bids on the auction's id, bids
//! during the auction (`auction.date_time <= bid.date_time <= auction.expires`), and the
//! highest price, then the earliest bid, then the lowest bidder (then the whole bid) wins.
//! Shared by q4, q6 and q9.
//!
//! Flink's SQL keeps every auction and every bid in join state forever. Here an auction is
//! held until its expiry has passed (its close: the epoch after `expires`) and an unmatched
//! bid until its own time has passed: with in-order input no valid pair is missed (an
//! auction arrives before its bids, a valid bid before its auction closes), so the answer
//! is the SQL's, and state holds only open auctions. With out-of-order input, a bid that
//! arrives after its auction closed, or after its own time with its auction still unknown,
//! is dropped and counted as late.
//!
//! Each epoch is processed as a whole on the auction's owner: its auctions first (sorted; a
//! repeated id keeps the auction already open, or the smallest of the epoch), then its bids,
//! so the result does not depend on arrival order or the number of workers.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::collections::hash_map::Entry;

use differential_dataflow::{AsCollection, VecCollection};
use reprise_datasets::nexmark::{Auction, Bid};
use reprise_engine::{Epoch, EpochConfig, JobContext};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::operator::Operator;

/// Which bids count for an auction (beyond its id and time range). It must hold for every
/// bid that [precedes](precedence) a bid it holds for at the same time (a reserve price
/// does): bids are pre-filtered on that assumption.
pub type Valid = fn(&Auction, &Bid) -> bool;

/// What the output collection holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Winners {
    /// Every auction's best bid so far, updated as better bids arrive (Flink's q4 and q9:
    /// open auctions included, rows never retracted).
    Updating,
    /// Each auction's best bid once, when the auction closes (Beam's winning bids).
    AtClose,
}

/// The order of bids: the best bid is the smallest.
pub fn precedence(bid: &Bid) -> (Reverse<u64>, u64, u64, &Bid) {
    (Reverse(bid.price), bid.date_time, bid.bidder, bid)
}

/// Whether a bid falls within the auction's time range.
pub fn during(auction: &Auction, bid: &Bid) -> bool {
    auction.date_time <= bid.date_time && bid.date_time <= auction.expires
}

/// The epoch at which an auction closes: no valid bid can arrive from then on.
pub fn auction_close(auction: &Auction, epochs: &EpochConfig) -> Epoch {
    epochs.first_epoch_after(auction.expires)
}

/// The epoch from which an unmatched bid can no longer meet its auction.
pub fn bid_expiry(bid: &Bid, epochs: &EpochConfig) -> Epoch {
    epochs.first_epoch_after(bid.date_time)
}

/// An open auction and its best bid so far.
struct Open {
    auction: Auction,
    close: Epoch,
    best: Option<Bid>,
}

impl Open {
    /// Takes `bid` if it counts and beats the best so far; returns whether it did.
    fn offer(&mut self, bid: Bid, valid: Valid) -> bool {
        let counts = bid.auction == self.auction.id
            && during(&self.auction, &bid)
            && valid(&self.auction, &bid);
        let better = self
            .best
            .as_ref()
            .is_none_or(|best| precedence(&bid) < precedence(best));
        if counts && better {
            self.best = Some(bid);
        }
        counts && better
    }
}

/// An epoch's input on the auction's owner: its auctions, and its bids, each standing for
/// `diff` bids of the same auction and time that it precedes.
type EpochInput = (Capability<Epoch>, Vec<Auction>, Vec<(Bid, isize)>);

/// Of an epoch's bids with the same auction and time, the one that precedes the others,
/// with the number of bids it stands for as its diff. For every auction the others count
/// only if it does ([`Valid`]), and it beats them, so they can never win: this worker drops
/// them before they cross to the auction's owner, where a hot auction's bids would
/// otherwise pile up. The diff keeps the count of late bids exact.
fn best_bid_per_time<'s>(bids: VecCollection<'s, Epoch, Bid>) -> VecCollection<'s, Epoch, Bid> {
    type Best = FxHashMap<(u64, u64), (Bid, isize)>;
    bids.inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(Bid, Epoch, isize)>>, _, _, _>(
            Pipeline,
            "BestBidPerTime",
            |_, _| {
                let mut pending: BTreeMap<Epoch, (Capability<Epoch>, Best)> = BTreeMap::new();
                // Emptied maps keep their capacity for the next epoch.
                let mut spare: Vec<Best> = Vec::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, batch| {
                        for (bid, time, diff) in batch.drain(..) {
                            assert!(diff > 0, "bids must be insert-only");
                            let (_, best) = pending.entry(time).or_insert_with(|| {
                                (cap.delayed(&time, 0), spare.pop().unwrap_or_default())
                            });
                            match best.entry((bid.auction, bid.date_time)) {
                                Entry::Occupied(mut slot) => {
                                    let (kept, count) = slot.get_mut();
                                    if precedence(&bid) < precedence(kept) {
                                        *kept = bid;
                                    }
                                    *count += diff;
                                }
                                Entry::Vacant(slot) => {
                                    slot.insert((bid, diff));
                                }
                            }
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (time, (cap, mut best)) = entry.remove_entry();
                        let mut session = output.session(&cap);
                        for (_, (bid, count)) in best.drain() {
                            session.give((bid, time, count));
                        }
                        spare.push(best);
                    }
                }
            },
        )
        .as_collection()
}

/// The best bid per auction, as a collection of `(auction, bid)`.
pub fn winning_bids<'s>(
    auctions: VecCollection<'s, Epoch, Auction>,
    bids: VecCollection<'s, Epoch, Bid>,
    ctx: &JobContext,
    valid: Valid,
    winners: Winners,
) -> VecCollection<'s, Epoch, (Auction, Bid)> {
    let epochs = ctx.epochs;
    let late_counter = ctx.clone();
    let by_auction = Exchange::new(|(auction, _, _): &(Auction, Epoch, isize)| auction.id);
    let by_bid_auction = Exchange::new(|(bid, _, _): &(Bid, Epoch, isize)| bid.auction);
    auctions
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<((Auction, Bid), Epoch, isize)>>, _, _, _, _>(
            best_bid_per_time(bids).inner,
            by_auction,
            by_bid_auction,
            "WinningBids",
            move |_, _| {
                let mut pending: BTreeMap<Epoch, EpochInput> = BTreeMap::new();
                let mut open: FxHashMap<u64, Open> = FxHashMap::default();
                let mut closes: BTreeMap<Epoch, Vec<u64>> = BTreeMap::new();
                // Unmatched bids by the epoch they expire at, then by auction id.
                let mut unmatched: BTreeMap<Epoch, FxHashMap<u64, Vec<Bid>>> = BTreeMap::new();
                let mut close_cap: Option<Capability<Epoch>> = None;
                move |(auctions_in, auctions_frontier), (bids_in, bids_frontier), output| {
                    auctions_in.for_each(|cap, batch| {
                        for (auction, time, diff) in batch.drain(..) {
                            assert!(diff > 0, "auctions must be insert-only");
                            let entry = pending.entry(time).or_insert_with(|| (cap.delayed(&time, 0), Vec::new(), Vec::new()));
                            entry.1.push(auction);
                        }
                    });
                    bids_in.for_each(|cap, batch| {
                        for (bid, time, diff) in batch.drain(..) {
                            let entry = pending.entry(time).or_insert_with(|| (cap.delayed(&time, 0), Vec::new(), Vec::new()));
                            entry.2.push((bid, diff));
                        }
                    });
                    let done = |time: &Epoch| !auctions_frontier.less_equal(time) && !bids_frontier.less_equal(time);
                    loop {
                        let next_data = pending.first_key_value().map(|(t, _)| *t);
                        let next_close = closes.first_key_value().map(|(t, _)| *t);
                        let next_expiry = unmatched.first_key_value().map(|(t, _)| *t);
                        let Some(next) = [next_data, next_close, next_expiry].into_iter().flatten().min() else {
                            break;
                        };
                        if !done(&next) {
                            break;
                        }
                        // Closes and expiries first: this epoch's input is too late for them.
                        if next_expiry == Some(next) {
                            unmatched.pop_first();
                            continue;
                        }
                        if next_close == Some(next) {
                            let ids = closes.pop_first().map(|(_, ids)| ids).unwrap_or_default();
                            let mut session = (winners == Winners::AtClose).then(|| {
                                output.session(close_cap.as_ref().expect("a capability is held for every open auction"))
                            });
                            for id in ids {
                                if open.get(&id).is_some_and(|o| o.close == next) {
                                    let closed = open.remove(&id).expect("checked above");
                                    if let (Some(session), Some(best)) = (session.as_mut(), closed.best) {
                                        session.give(((closed.auction, best), next, 1));
                                    }
                                }
                            }
                            drop(session);
                            if let Some(cap) = close_cap.as_mut() {
                                match closes.first_key_value() {
                                    Some((following, _)) => cap.downgrade(following),
                                    None => close_cap = None,
                                }
                            }
                            continue;
                        }
                        let (cap, mut new_auctions, new_bids) = pending.pop_first().map(|(_, v)| v).unwrap();
                        // The best bid before this epoch of every auction it changes.
                        let mut before: FxHashMap<u64, Option<Bid>> = FxHashMap::default();
                        let mut late = 0;
                        new_auctions.sort_unstable();
                        for auction in new_auctions {
                            let close = auction_close(&auction, &epochs);
                            if close <= next {
                                late += 1;
                                continue;
                            }
                            if open.contains_key(&auction.id) {
                                continue;
                            }
                            let id = auction.id;
                            let mut entry = Open { auction, close, best: None };
                            let waiting = unmatched.values_mut().filter_map(|by_id| by_id.remove(&id)).flatten();
                            for bid in waiting {
                                entry.offer(bid, valid);
                            }
                            if entry.best.is_some() {
                                before.insert(id, None);
                            }
                            open.insert(id, entry);
                            closes.entry(close).or_default().push(id);
                            if winners == Winners::AtClose && close_cap.as_ref().is_none_or(|c| *c.time() > close) {
                                close_cap = Some(cap.delayed(&close));
                            }
                        }
                        for (bid, stands_for) in new_bids {
                            match open.get_mut(&bid.auction) {
                                Some(entry) => {
                                    let old = entry.best.clone();
                                    if entry.offer(bid, valid) {
                                        before.entry(entry.auction.id).or_insert(old);
                                    }
                                }
                                None => {
                                    let expiry = bid_expiry(&bid, &epochs);
                                    if expiry <= next {
                                        late += stands_for as u64;
                                    } else {
                                        unmatched.entry(expiry).or_default().entry(bid.auction).or_default().push(bid);
                                    }
                                }
                            }
                        }
                        if late > 0 {
                            late_counter.count_late(late);
                        }
                        if winners == Winners::Updating {
                            let mut session = output.session(&cap);
                            for (id, old) in before {
                                let entry = &open[&id];
                                if let Some(old) = old {
                                    session.give(((entry.auction.clone(), old), next, -1));
                                }
                                let best = entry.best.clone().expect("a changed auction has a best bid");
                                session.give(((entry.auction.clone(), best), next, 1));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
