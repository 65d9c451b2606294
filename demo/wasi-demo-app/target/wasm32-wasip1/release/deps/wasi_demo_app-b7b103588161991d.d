/work/main/demo/wasi-demo-app/target/wasm32-wasip1/release/deps/wasi_demo_app-b7b103588161991d.d: src/main.rs

/work/main/demo/wasi-demo-app/target/wasm32-wasip1/release/deps/wasi_demo_app-b7b103588161991d.wasm: src/main.rs

src/main.rs:
