// A generated model is generic over its scalar: f32 data cannot feed an f64 model.
nnspec::model!(
    r#"model Lin {
        input x : ℝ^2
        target y : ℝ
        param ω : ℝ^{1×2}
        f[x, φ] = ω x
        loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2
    }"#
);

fn main() {
    let net = Lin::<f64>::zeros();
    let mut grads = net.zeros_like();
    let mut ws = Lin::<f64>::workspace(4);
    let x = nnspec::__private::faer::Mat::<f32>::zeros(2, 4);
    let y = nnspec::__private::faer::Mat::<f64>::zeros(1, 4);
    let _ = net.loss_and_grad(x.as_ref(), y.as_ref(), &mut grads, &mut ws);
}
