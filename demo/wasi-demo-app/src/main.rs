//! A tiny WASI command: greets, echoes its arguments and a variable, and
//! exits with the code in `DEMO_EXIT_CODE` when that is set (so a runtime's
//! handling of a failing program can be checked).

fn main() {
    println!("hello from wasi-demo-app");
    for (i, arg) in std::env::args().enumerate() {
        println!("arg[{i}] = {arg}");
    }
    if let Ok(value) = std::env::var("DEMO_GREETING") {
        println!("DEMO_GREETING = {value}");
    }
    if let Ok(code) = std::env::var("DEMO_EXIT_CODE") {
        match code.parse() {
            Ok(code) => std::process::exit(code),
            Err(_) => {
                eprintln!("DEMO_EXIT_CODE is not a number: {code}");
                std::process::exit(2);
            }
        }
    }
}
