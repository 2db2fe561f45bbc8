//! Mutates below the CRC: before reading, every frame's CRC32C is recomputed, so mutated
//! payloads, markers and lengths reach the decoders and the input checks instead of
//! stopping at a checksum mismatch. Besides no panic, hang or huge allocation: a log that
//! reads without error and says its run completed holds exactly the events its end block
//! counts.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Recomputes the CRC of every frame whose length fits what is left of the file.
fn fix_crcs(data: &mut [u8]) {
    let mut at = 12;
    while at + 8 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        if len > data.len() - at - 8 {
            break;
        }
        let crc = crc32c::crc32c(&data[at + 8..at + 8 + len]);
        data[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        at += 8 + len;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    fix_crcs(&mut data);
    let path = std::env::temp_dir().join(format!("reprise-fuzz-blocks-{}.rlog", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let scanned = reprise_engine::log::scan(&path);
    let mut events = 0u64;
    let read = reprise_engine::log::epochs::<(u64, String)>(&path, None, None).map(|epochs| {
        for epoch in epochs {
            match epoch {
                Ok((_, batch)) => events += batch.len() as u64,
                Err(_) => return false,
            }
        }
        true
    });
    if let (Ok(scanned), Ok(true)) = (scanned, read)
        && let Some(end) = &scanned.end
        && end.failure.is_none()
        && scanned.header.processes <= 1
    {
        assert_eq!(events, end.events, "a completed log read as other events than it counts");
    }
});
