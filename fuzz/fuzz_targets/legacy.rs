//! Legacy `.vtk` files (ASCII and binary, versions 4.2 and 5.1) through vtkio and our conversion.
#![no_main]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use echo_onnx::mesh::read::{from_bytes, Format};
use libfuzzer_sys::fuzz_target;

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fuzz_target!(|data: &[u8]| {
    // The reader runs vtkio under catch_unwind and turns its panics into errors, which is what a
    // user gets. libfuzzer-sys's panic hook aborts on every panic, caught or not, so it is replaced:
    // the panic is only recorded, and a crash is a panic that escapes `from_bytes`.
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Ok(mut last) = LAST_PANIC.lock() {
                *last = info.to_string();
            }
        }))
    });
    if catch_unwind(AssertUnwindSafe(|| from_bytes(data, Format::Legacy))).is_err() {
        eprintln!("panic escaped the legacy reader: {}", LAST_PANIC.lock().map(|s| s.clone()).unwrap_or_default());
        std::process::abort();
    }
});
