//! Links the `jobq` binary at a fixed address on Linux (`-no-pie`), so that starting it
//! relocates nothing: as a position-independent executable the loader first applied about
//! 63,000 relocations and copied 1.6 MB of pointer tables (`.data.rel.ro`) page by page,
//! which was most of the start-up of a one-shot `jobq enqueue` (issue 11; README
//! "Performance"). The price is that the binary's own code is not address-randomised
//! (its libraries, stack and heap still are). Only the binaries get the flag: the library
//! and proc-macros are built as before, and other targets keep their default.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
