//! `containerd-shim-wasmtime-test-v1`: a containerd shim for the tests of
//! oci-tar-builder, built on runwasi's `containerd-shim-wasm` (which finds the
//! wasm layers of an image, or the module a compat image's entrypoint names,
//! and the args and env of the container) and `wasmtime` (which runs a WASI
//! preview 1 module's `_start`, or a component's `wasi:cli/run`).
//!
//! containerd starts it for `ctr run --runtime io.containerd.wasmtime-test.v1`.
//! It follows runwasi's `containerd-shim-wasmtime` without its HTTP proxy,
//! precompilation and pooling allocator: the tests only need programs that
//! print and exit.

use anyhow::{bail, Context, Result};
use containerd_shim_wasm::sandbox::context::{Entrypoint, RuntimeContext, WasmBinaryType};
use containerd_shim_wasm::sandbox::Sandbox;
use containerd_shim_wasm::shim::{version, Cli, Shim, Version};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{Engine, Module, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::preview1::WasiP1Ctx;
use wasmtime_wasi::{DirPerms, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

fn main() {
    TestShim::run(None);
}

/// The shim: its name makes the runtime `io.containerd.wasmtime-test.v1`.
struct TestShim;

impl Shim for TestShim {
    fn name() -> &'static str {
        "wasmtime-test"
    }

    fn version() -> Version {
        version!()
    }

    type Sandbox = WasmtimeSandbox;
}

/// Runs one container's module or component with wasmtime.
struct WasmtimeSandbox {
    engine: Engine,
}

impl Default for WasmtimeSandbox {
    fn default() -> Self {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.async_support(true);
        // `Default` cannot fail; an engine with these settings is always
        // valid on the hosts cranelift supports, so a failure is a bug here.
        #[allow(clippy::expect_used)]
        let engine =
            Engine::new(&config).expect("wasmtime engine with the component model and async");
        Self { engine }
    }
}

impl Sandbox for WasmtimeSandbox {
    async fn run_wasi(&self, ctx: &impl RuntimeContext) -> Result<i32> {
        let Entrypoint { source, func, .. } = ctx.entrypoint();
        let wasm = source.as_bytes()?;
        let status = match WasmBinaryType::from_bytes(&wasm) {
            Some(WasmBinaryType::Module) => self.run_module(ctx, &wasm, &func).await,
            Some(WasmBinaryType::Component) => self.run_component(ctx, &wasm).await,
            None => bail!("the entrypoint is neither a wasm module nor a component"),
        };
        exit_code(status)
    }
}

impl WasmtimeSandbox {
    /// Runs the export `func` (`_start` unless the entrypoint names another)
    /// of a WASI preview 1 module.
    async fn run_module(&self, ctx: &impl RuntimeContext, wasm: &[u8], func: &str) -> Result<()> {
        let module = Module::from_binary(&self.engine, wasm)?;
        let mut store = Store::new(&self.engine, wasi_ctx(ctx)?.build_p1());
        let mut linker = wasmtime::Linker::new(&self.engine);
        wasmtime_wasi::preview1::add_to_linker_async(&mut linker, |wasi: &mut WasiP1Ctx| wasi)?;
        let instance = linker.instantiate_async(&mut store, &module).await?;
        let start = instance
            .get_func(&mut store, func)
            .with_context(|| format!("the module exports no function {func:?}"))?;
        start.call_async(&mut store, &[], &mut []).await
    }

    /// Runs a component's `wasi:cli/run` export.
    async fn run_component(&self, ctx: &impl RuntimeContext, wasm: &[u8]) -> Result<()> {
        let component = Component::from_binary(&self.engine, wasm)?;
        let state = ComponentState {
            wasi: wasi_ctx(ctx)?.build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        let mut linker = wasmtime::component::Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let command = Command::instantiate_async(&mut store, &component, &linker).await?;
        command
            .wasi_cli_run()
            .call_run(&mut store)
            .await?
            .map_err(|()| anyhow::anyhow!("the component's wasi:cli/run returned an error"))
    }
}

/// A component's store data: its WASI context and resource table.
struct ComponentState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The container's args (argv[0] included) and env, its stdio, and its root
/// folder preopened as `/`.
fn wasi_ctx(ctx: &impl RuntimeContext) -> Result<WasiCtxBuilder> {
    let envs: Vec<(&str, &str)> = ctx
        .envs()
        .iter()
        .map(|pair| pair.split_once('=').unwrap_or((pair.as_str(), "")))
        .collect();
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(ctx.args())
        .envs(&envs)
        .inherit_stdio()
        .preopened_dir("/", "/", DirPerms::all(), FilePerms::all())?;
    Ok(builder)
}

/// A program that calls `exit(n)` ends with wasmtime's `I32Exit(n)` error:
/// that is its exit code, as is 0 for one that returns.
fn exit_code(status: Result<()>) -> Result<i32> {
    match status {
        Ok(()) => Ok(0),
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(err),
        },
    }
}
