/work/main/demo/wasi-demo-app/target/wasm32-wasip2/release/wasi-demo-app.wasm: /work/main/demo/wasi-demo-app/src/main.rs
