//! `soku-sink [ADDR]`: the delivery sink as a process of its own, for benchmarks (default 127.0.0.1:7070).
//! See `soku_tests::Sink` for what it answers.

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7070".into())
        .parse()
        .expect("an address like 127.0.0.1:7070");
    let (_sink, url) = soku_tests::Sink::start(addr).await;
    println!("{url}");
    std::future::pending::<()>().await;
}
