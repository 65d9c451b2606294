/work/main/demo/wasi-demo-app/target/wasm32-wasip1/release/wasi-demo-app.wasm: /work/main/demo/wasi-demo-app/src/main.rs
