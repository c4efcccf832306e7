//! Training steps of W1 (`benches/specs/w1_toy.nn`, the book's 1→3→1 network, batch 100)
//! in a plain loop, f32 or f64, for instruction counts and whole-process timings:
//!
//! ```sh
//! cargo build --release --example tiny_steps
//! valgrind --tool=callgrind target/release/examples/tiny_steps f32 1000
//! ```
//!
//! Instructions per step are the difference of two counts (`1000` and `2000` steps) over
//! 1000, so set-up and start-up cancel out.

use faer::Mat;
use nnspec::runtime::{Rng, Scalar};

mod w1 {
    nnspec::model!("../benches/specs/w1_toy.nn");
}

/// `steps` steps of loss, gradients and SGD; returns the last loss.
fn run<T: Scalar>(steps: usize) -> T {
    const B: usize = 100;
    let mut rng = Rng::new(1);
    let x = Mat::<T>::from_fn(1, B, |_, _| rng.normal(T::ONE));
    let y = Mat::<T>::from_fn(1, B, |_, _| rng.normal(T::ONE));
    let mut net = w1::W1::<T>::init(&mut rng);
    let mut grads = net.zeros_like();
    let mut ws = w1::W1::<T>::workspace(B);
    let lr = T::from_f64(1e-3);
    let mut loss = T::ZERO;
    for _ in 0..steps {
        loss = net
            .loss_and_grad(x.as_ref(), y.as_ref(), &mut grads, &mut ws)
            .expect("a step");
        net.visit_with_grads(&grads, |_, p, g| {
            for j in 0..p.ncols() {
                for i in 0..p.nrows() {
                    p[(i, j)] -= lr * g[(i, j)];
                }
            }
        });
    }
    loss
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ty = args.next().unwrap_or_else(|| "f32".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    match ty.as_str() {
        "f64" => println!("loss {}", run::<f64>(steps)),
        _ => println!("loss {}", run::<f32>(steps)),
    }
}
