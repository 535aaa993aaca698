//! Feeds arbitrary frame bodies to the sync wire decoder (`store-format.md` § 14).
//!
//! Properties: `decode` never panics, and any message it accepts encodes again (unless
//! that makes the frame too large) and decodes to the same message.
#![no_main]

use gadn::sync::wire::{decode, encode, WireError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode(data) {
        match encode(&msg) {
            Ok(frame) => {
                let again = decode(&frame[4..]).expect("an encoded message decodes");
                assert_eq!(again, msg);
            }
            // Re-encoding writes absent optional fields as null, so a body just under
            // MAX_FRAME may come out just over it.
            Err(WireError::FrameTooLarge { .. }) => {}
            Err(e) => panic!("a decoded message does not encode: {e}"),
        }
    }
});
