/work/main/demo/wasi-demo-app/target/wasm32-wasip2/release/deps/wasi_demo_app-7cd8f28561034ac7.d: src/main.rs

/work/main/demo/wasi-demo-app/target/wasm32-wasip2/release/deps/wasi_demo_app-7cd8f28561034ac7.wasm: src/main.rs

src/main.rs:
