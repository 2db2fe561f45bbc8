//! # Reprise workloads
//!
//! Each workload is one file: a [`reprise_engine::Job`] (its dataflow), its hand-written
//! single-threaded baseline, and its parameters and formats ([`workload::Definition`]).
//! [`all`] lists them for the `reprise` command.

#![deny(missing_docs)]

pub mod baseline;
pub mod filter_count;
pub mod nexmark;
pub mod traffic_share;
pub mod user_visits;
pub mod wordcount;
pub mod workload;

use workload::{Registered, Workload};

/// Every workload, in the order `reprise list` shows them.
pub fn all() -> Vec<&'static dyn Workload> {
    static FILTER_COUNT: Registered<filter_count::FilterCount> = Registered::new();
    static TRAFFIC_SHARE: Registered<traffic_share::TrafficShare> = Registered::new();
    static USER_VISITS: Registered<user_visits::UserVisitsJob> = Registered::new();
    static WORDCOUNT: Registered<wordcount::Wordcount> = Registered::new();
    static Q0: Registered<nexmark::q0::Q0> = Registered::new();
    static Q1: Registered<nexmark::q1::Q1> = Registered::new();
    static Q2: Registered<nexmark::q2::Q2> = Registered::new();
    static Q3: Registered<nexmark::q3::Q3> = Registered::new();
    static Q4: Registered<nexmark::q4::Q4> = Registered::new();
    static Q5: Registered<nexmark::q5::Q5> = Registered::new();
    static Q6: Registered<nexmark::q6::Q6> = Registered::new();
    static Q7: Registered<nexmark::q7::Q7> = Registered::new();
    static Q8: Registered<nexmark::q8::Q8> = Registered::new();
    static Q9: Registered<nexmark::q9::Q9> = Registered::new();
    static Q11: Registered<nexmark::q11::Q11> = Registered::new();
    static Q12: Registered<nexmark::q12::Q12> = Registered::new();
    vec![
        &FILTER_COUNT,
        &TRAFFIC_SHARE,
        &USER_VISITS,
        &WORDCOUNT,
        &Q0,
        &Q1,
        &Q2,
        &Q3,
        &Q4,
        &Q5,
        &Q6,
        &Q7,
        &Q8,
        &Q9,
        &Q11,
        &Q12,
    ]
}

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    all().into_iter().find(|w| w.info().name == name)
}
