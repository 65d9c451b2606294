//! A tiny WASI command: greets, echoes its arguments and a variable.

fn main() {
    println!("hello from wasi-demo-app");
    for (i, arg) in std::env::args().enumerate() {
        println!("arg[{i}] = {arg}");
    }
    if let Ok(value) = std::env::var("DEMO_GREETING") {
        println!("DEMO_GREETING = {value}");
    }
}
