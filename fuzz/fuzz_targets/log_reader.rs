//! Feeds arbitrary bytes to the input log reader: scan, then decode every epoch. Any
//! outcome but a panic, a hang or a huge allocation is fine.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("reprise-fuzz-{}.rlog", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let _ = reprise_engine::log::scan(&path);
    if let Ok(epochs) = reprise_engine::log::epochs::<(u64, String)>(&path, None, None) {
        for epoch in epochs {
            if epoch.is_err() {
                break;
            }
        }
    }
});
