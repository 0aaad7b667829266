//! pool-abi.ts, assembled: every ABI type the pool hands to JS (declared
//! with `abi!` in `health` and `report`), the lifecycle's state names and the
//! error codes, rendered as one TypeScript file. Native only: the wasm
//! carries none of it. `tests/abi.rs` compares the result with
//! bindings-js/lib/proof-system/pool-abi.ts (and writes it with
//! `ABI_UPDATE=1`).

use super::abi::{render, union, Interface};
use super::error::WASM_ERROR_CODES;
use super::health::{
    MemoryHealth, Poisoning, PoolHealth, RecycleProgress, StandbyHealth, WorkerHealth,
};
use super::lifecycle::STATE_NAMES;
use super::report::{ExitReport, RecycleReport, Retirement, StartReport, WorkerExit};

/// The whole of pool-abi.ts, rendered from the Rust definitions.
pub fn typescript() -> String {
    let mut parts = vec![
        "// Generated from plonk-wasm's Rust definitions (src/rayon/pool_abi.rs, from health.rs,\n\
         // report.rs, error.rs, lifecycle.rs) by tests/abi.rs: do not edit. After changing them, run\n\
         // `ABI_UPDATE=1 cargo test -p plonk_wasm --test abi` to write this file again.\n"
            .to_string(),
        union(
            "PoolLifecycleState",
            "The pool's lifecycle state (`poolHealth().state`).",
            &STATE_NAMES,
        ),
        union(
            "RecycleCause",
            "Why a recycle runs: asked for, or a rebuild of a poisoned generation.",
            &["requested", "poisoned"],
        ),
    ];
    parts.extend(
        vec![
            PoolHealth::interface(),
            RecycleProgress::interface(),
            Poisoning::interface(),
            StandbyHealth::interface(),
            MemoryHealth::interface(),
            WorkerHealth::interface(),
            StartReport::interface(),
            RecycleReport::interface(),
            WorkerExit::interface(),
            Retirement::interface(),
            ExitReport::interface(),
        ]
        .into_iter()
        .map(render),
    );
    let codes: Vec<String> = WASM_ERROR_CODES
        .iter()
        .map(|code| format!("  '{}',\n", code))
        .collect();
    parts.push(format!(
        "/** The codes the wasm puts on the errors it throws (`error.code`, or the `plonk-wasm [CODE]` prefix of a failed job). */\n\
         export const WASM_POOL_ERROR_CODES = [\n{}] as const;\n\
         export type WasmPoolErrorCode = (typeof WASM_POOL_ERROR_CODES)[number];\n",
        codes.concat()
    ));
    parts.join("\n")
}
